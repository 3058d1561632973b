/**
 * The folder backend on a full disk (issue 10, #8): every write that runs out of space is a 507
 * (PROPPATCH was a 500, a chunked PUT a 400), nothing already stored is lost or truncated, no temp
 * file is left, DELETE still works and frees space, and writes work again afterwards.
 * Needs root for a small tmpfs (CI runs as root); skipped with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tempFilesIn } from '../helpers/backends.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { raw, startTestServer, XML, type TestServer } from '../helpers/server.js';

const patch = (value: string) =>
  `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:note xmlns:x="urn:x">${value}</x:note></D:prop></D:set></D:propertyupdate>`;
const NOTE = '<D:propfind xmlns:D="DAV:"><D:prop><x:note xmlns:x="urn:x"/></D:prop></D:propfind>';

describe('a full disk (folder backend)', function () {
  this.timeout(30_000);
  let mountPoint: string | undefined;
  let root: string;
  let s: TestServer;
  before(async function () {
    const dir = await mkdtemp(join(tmpdir(), 'gitdav-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { stdio: 'ignore' });
      mountPoint = dir;
    } catch {
      await rm(dir, { recursive: true, force: true });
      console.log('    (skipped: mounting a small tmpfs needs root; CI runs as root)');
      this.skip();
    }
    root = join(mountPoint, 'root');
    await mkdir(root);
    s = await startTestServer({ root, backend: 'fs' });
    assert.equal((await raw(s.url, '/old.txt', { method: 'PUT', body: 'old data' })).status, 201);
    assert.equal((await raw(s.url, '/old.txt', { method: 'PROPPATCH', body: patch('old note'), headers: XML })).status, 207);
    assert.equal((await raw(s.url, '/gone.txt', { method: 'PUT', body: 'to be deleted' })).status, 201);
    assert.equal((await raw(s.url, '/gone.txt', { method: 'PROPPATCH', body: patch('its note'), headers: XML })).status, 207);
    // An empty file frees no block when deleted: its sidecar entry cannot be rewritten on a full disk.
    assert.equal((await raw(s.url, '/empty.txt', { method: 'PUT', body: '' })).status, 201);
    assert.equal((await raw(s.url, '/empty.txt', { method: 'PROPPATCH', body: patch('empty note'), headers: XML })).status, 207);
    // Fill what is left, as another program would: the file stays, as big as the disk allowed.
    await writeFile(join(root, 'filler'), Buffer.alloc(1024 * 1024, 7)).catch((err: NodeJS.ErrnoException) => assert.equal(err.code, 'ENOSPC'));
  });
  after(async () => {
    await s?.close();
    if (mountPoint) {
      execFileSync('umount', [mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
    }
  });

  const intact = async () => {
    assert.equal(await readFile(join(root, 'old.txt'), 'utf8'), 'old data');
    const props = await raw(s.url, '/old.txt', { method: 'PROPFIND', body: NOTE, headers: { ...XML, Depth: '0' } });
    assert.match(props.text, /old note/);
    assert.deepEqual(await tempFilesIn(join(root, '.gitdav', 'tmp')), [], 'no temp file left');
  };

  it('PROPPATCH → 507, the old properties kept', async () => {
    const r = await raw(s.url, '/old.txt', { method: 'PROPPATCH', body: patch('n'.repeat(64 * 1024)), headers: XML });
    assert.equal(r.status, 507, r.text);
    assert.match(r.text, /no space/);
    await intact();
  });

  it('a chunked PUT → 507, the old file kept', async () => {
    const r = await raw(s.url, '/old.txt', { method: 'PUT', body: Buffer.alloc(128 * 1024, 1), headers: { 'Transfer-Encoding': 'chunked' } });
    assert.equal(r.status, 507, r.text);
    await intact();
  });

  it('a PUT with Content-Length → 507, the old file kept; a new file → 507, not created', async () => {
    const r = await raw(s.url, '/old.txt', { method: 'PUT', body: Buffer.alloc(128 * 1024, 1) });
    assert.equal(r.status, 507, r.text);
    const n = await raw(s.url, '/new.txt', { method: 'PUT', body: Buffer.alloc(128 * 1024, 1) });
    assert.equal(n.status, 507, n.text);
    assert.equal((await raw(s.url, '/new.txt')).status, 404);
    await intact();
  });

  it('a partial PUT (Content-Range) and a COPY → 507, nothing changed', async () => {
    const c = await raw(s.url, '/old.txt', { method: 'COPY', headers: { Destination: s.url + '/copy.txt' } });
    assert.equal(c.status, 507, c.text);
    assert.equal((await raw(s.url, '/copy.txt')).status, 404);
    const p = await raw(s.url, '/old.txt', { method: 'PUT', body: Buffer.alloc(128 * 1024, 1), headers: { 'Content-Range': 'bytes 8-131079/*' } });
    assert.ok([507, 501, 400].includes(p.status), `partial PUT → ${p.status} ${p.text}`);
    await intact();
  });

  it('DELETE still works and frees the space; then every write works again', async () => {
    // A file with dead properties: its entry in the folder's sidecar must be rewritten on a full disk.
    assert.equal((await raw(s.url, '/gone.txt', { method: 'DELETE' })).status, 204);
    assert.equal((await raw(s.url, '/gone.txt')).status, 404);
    await intact();
    assert.equal((await raw(s.url, '/filler', { method: 'DELETE' })).status, 204);
    assert.equal((await raw(s.url, '/old.txt', { method: 'PUT', body: 'new data', headers: { 'Transfer-Encoding': 'chunked' } })).status, 204);
    assert.equal((await raw(s.url, '/old.txt', { method: 'PROPPATCH', body: patch('new note'), headers: XML })).status, 207);
    assert.equal((await raw(s.url, '/old.txt')).text, 'new data');
    assert.match((await raw(s.url, '/old.txt', { method: 'PROPFIND', body: NOTE, headers: { ...XML, Depth: '0' } })).text, /new note/);
  });

  it('DELETE of a file whose bytes are gone is 204 even if its properties cannot be rewritten; a new file of that name has none of them', async () => {
    // Full again (the test above freed it); the sidecar cannot be rewritten now.
    await writeFile(join(root, 'filler2'), Buffer.alloc(1024 * 1024, 7)).catch((err: NodeJS.ErrnoException) => assert.equal(err.code, 'ENOSPC'));
    assert.equal((await raw(s.url, '/old.txt', { method: 'PROPPATCH', body: patch('n'.repeat(8 * 1024)), headers: XML })).status, 507, 'the disk is full');
    const del = await raw(s.url, '/empty.txt', { method: 'DELETE' });
    assert.equal(del.status, 204, del.text);
    assert.equal((await raw(s.url, '/empty.txt')).status, 404);
    const noNote = async (what: string) => {
      const r = await raw(s.url, '/empty.txt', { method: 'PROPFIND', body: NOTE, headers: { ...XML, Depth: '0' } });
      assert.equal(r.status, 207, `${what}: ${r.text}`);
      assert.doesNotMatch(r.text, /empty note/, `${what}: a new file inherits no properties`);
    };
    // Still full: a new file of that name is created without the old properties, or not at all (507).
    const again = await raw(s.url, '/empty.txt', { method: 'PUT', body: '' });
    assert.ok([201, 507].includes(again.status), `${again.status} ${again.text}`);
    if (again.status === 201) await noNote('on the full disk');
    else assert.equal((await raw(s.url, '/empty.txt')).status, 404);
    await rm(join(root, 'filler2'));
    assert.ok([201, 204].includes((await raw(s.url, '/empty.txt', { method: 'PUT', body: '' })).status));
    await noNote('with space again');
  });
});

/**
 * Hostile and broken requests: each gets a clear status and body, nothing stored changes, and the
 * server keeps answering correctly afterwards.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, mkdtemp, rm, mkdir, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend, storageOf, tempFilesIn } from '../helpers/backends.js';
import { raw, startTestServer, propfindBody, type TestServer } from '../helpers/server.js';

/** Sends bytes on a fresh socket and returns what came back before close. */
function rawSocket(url: string, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(Number(new URL(url).port), '127.0.0.1', () => sock.end(data));
    let out = '';
    sock.on('data', (d) => (out += d.toString('latin1')));
    sock.on('close', () => resolve(out));
    sock.on('error', reject);
  });
}

forEachBackend((kind) => describe(`bad input never harms stored data or the process (${kind})`, () => {
  let s: TestServer;
  let outside: string;
  const stored = () => storageOf(kind, s.root);
  before(async () => {
    s = await startTestServer({ backend: kind, dav: { limits: { maxXmlBytes: 10_000, maxXmlDepth: 32 } as never } });
    outside = await mkdtemp(join(tmpdir(), 'gitdav-outside-'));
    await writeFile(join(outside, 'victim'), 'safe');
    await raw(s.url, '/keep.txt', { method: 'PUT', body: 'precious' });
    await raw(s.url, '/dir', { method: 'MKCOL' });
  });
  after(async () => {
    await s.close();
    await rm(outside, { recursive: true, force: true });
  });

  const snapshot = async () => ({
    keep: await stored().text('/keep.txt'),
    top: await stored().names(),
    victim: await readFile(join(outside, 'victim'), 'utf8'),
  });

  const xmlBombs: Array<[string, string]> = [
    ['malformed XML', '<D:propfind xmlns:D="DAV:"><D:prop>'],
    ['undeclared prefix', '<D:propfind><D:allprop/></D:propfind>'],
    ['a DOCTYPE', '<?xml version="1.0"?><!DOCTYPE x [<!ELEMENT x ANY>]><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'],
    ['billion laughs', `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><D:propfind xmlns:D="DAV:"><D:prop><D:x>&lol2;</D:x></D:prop></D:propfind>`],
    ['an external entity', `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><D:propfind xmlns:D="DAV:"><D:prop><D:x>&e;</D:x></D:prop></D:propfind>`],
    ['an undefined entity', '<D:propfind xmlns:D="DAV:"><D:prop><D:x>&nope;</D:x></D:prop></D:propfind>'],
    ['deep nesting', '<a xmlns="DAV:">'.repeat(5000) + '</a>'.repeat(5000)],
    ['not XML at all', '\u0000\u0001binary'],
  ];
  for (const [name, body] of xmlBombs) {
    for (const method of ['PROPFIND', 'PROPPATCH', 'LOCK']) {
      it(`${method} with ${name} → 400 or 413`, async () => {
        const before = await snapshot();
        const r = await raw(s.url, '/keep.txt', { method, body, headers: { Depth: '0' } });
        assert.ok([400, 413].includes(r.status), `got ${r.status}`);
        assert.match(r.text, /<D:error/);
        assert.deepEqual(await snapshot(), before);
      });
    }
  }

  it('an XML body over the size limit → 413', async () => {
    const big = `<D:propfind xmlns:D="DAV:"><D:prop>${'<D:getetag/>'.repeat(2000)}</D:prop></D:propfind>`;
    assert.equal((await raw(s.url, '/', { method: 'PROPFIND', body: big })).status, 413);
  });

  const traversals = ['/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/%2E%2e/x', '/dir/%2e%2e%2f%2e%2e%2fx', '/dir%2f..%2fkeep.txt', '/a%00b', '/%c0%ae%c0%ae/x', '/%ZZ', '/dir/%5c..%5c..%5cx'];
  for (const path of traversals) {
    it(`path ${path} is refused for read and write without touching anything`, async () => {
      const before = await snapshot();
      for (const method of ['GET', 'PUT', 'DELETE', 'MKCOL', 'PROPFIND']) {
        const reply = await rawSocket(s.url, `${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad`);
        const status = Number(/^HTTP\/1.1 (\d+)/.exec(reply)?.[1]);
        assert.ok([400, 403, 404].includes(status), `${method} ${path} → ${status}`);
      }
      assert.deepEqual(await snapshot(), before);
    });
  }

  // Folder backend only: a git backend's tree holds a link as a blob and never follows it (its
  // links are tested in test/security/symlinks.test.ts, 'symbolic links (git backend)').
  if (kind === 'fs') it('a symlink out of the root is refused and cannot be written through', async () => {
    execFileSync('ln', ['-s', outside, join(s.root, 'escape')]);
    assert.equal((await raw(s.url, '/escape/victim')).status, 403);
    assert.equal((await raw(s.url, '/escape/victim', { method: 'PUT', body: 'pwned' })).status, 403);
    assert.equal((await raw(s.url, '/escape/victim', { method: 'DELETE' })).status, 403);
    assert.equal(await readFile(join(outside, 'victim'), 'utf8'), 'safe');
    await rm(join(s.root, 'escape'));
  });

  // Each backend reserves its own names: the folder keeps its state in ROOT/.gitdav, inside the tree;
  // git keeps it outside the tree (GITDIR/gitdav), so `.gitdav` is an ordinary name there, and git
  // reserves `.git` and its look-alikes instead (test/git-reserved-names.test.ts has them all).
  const reserved = kind === 'fs' ? ['/.gitdav/locks.json', '/.gitdav', '/dir/.davprops', '/.davprops'] : ['/.git', '/dir/.GIT', '/dir/.davprops', '/.davprops'];
  it('writes to the reserved bookkeeping names are refused', async () => {
    for (const p of reserved) {
      const r = await raw(s.url, p, { method: 'PUT', body: '{}' });
      assert.ok([403, 409].includes(r.status), `${p} → ${r.status}`);
      assert.equal((await raw(s.url, p)).status, 404);
    }
  });

  it('malformed headers: Depth, Overwrite, If, Timeout, Content-Length, Lock-Token', async () => {
    assert.equal((await raw(s.url, '/', { method: 'PROPFIND', headers: { Depth: 'sideways' } })).status, 400);
    assert.equal((await raw(s.url, '/keep.txt', { method: 'PUT', body: 'x', headers: { If: '<unterminated' } })).status, 400);
    assert.equal((await raw(s.url, '/keep.txt', { method: 'UNLOCK', headers: { 'Lock-Token': 'no-brackets' } })).status, 400);
    const reply = await rawSocket(s.url, 'PUT /keep.txt HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\nConnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1.1 400/);
    assert.equal(await stored().text('/keep.txt'), 'precious');
  });

  it('unsupported methods → 501 with Allow; MKCOL with a body → 415; a request fragment → 400', async () => {
    const r = await raw(s.url, '/', { method: 'PATCH', body: 'x' });
    assert.equal(r.status, 501);
    assert.match(r.headers.allow as string, /PROPFIND/);
    assert.equal((await raw(s.url, '/newcol', { method: 'MKCOL', body: '<x/>', headers: { 'Content-Type': 'text/xml' } })).status, 415);
    assert.match(await rawSocket(s.url, 'DELETE /dir/#frag HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), /^HTTP\/1.1 400/);
    assert.equal((await raw(s.url, '/dir/', { method: 'PROPFIND', headers: { Depth: '0' } })).status, 207);
  });

  it('after the whole battery the server still answers correctly', async () => {
    const r = await raw(s.url, '/keep.txt');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'precious');
    const p = await raw(s.url, '/', { method: 'PROPFIND', headers: { Depth: '1' }, body: propfindBody('getetag') });
    assert.equal(p.status, 207);
  });
}));

describe('a full disk', function () {
  let mountPoint: string | undefined;
  before(async function () {
    const dir = await mkdtemp(join(tmpdir(), 'gitdav-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'ignore' });
      mountPoint = dir;
    } catch {
      await rm(dir, { recursive: true, force: true });
      this.skip(); // needs root (CI runs as root); nothing else can fill a disk safely
    }
  });
  after(async () => {
    if (mountPoint) {
      execFileSync('umount', [mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
    }
  });

  it('PUT answers 507, keeps the old file, and leaves nothing half-written', async () => {
    const root = join(mountPoint!, 'root');
    await mkdir(root);
    // The folder backend's full disk (its temp uploads in .gitdav/tmp); git's: test/git-full-disk.test.ts.
    const s = await startTestServer({ root, backend: 'fs' });
    try {
      assert.equal((await raw(s.url, '/small', { method: 'PUT', body: 'small' })).status, 201);
      const r = await raw(s.url, '/small', { method: 'PUT', body: Buffer.alloc(4 * 1024 * 1024, 1) });
      assert.equal(r.status, 507);
      assert.match(r.text, /<D:error/);
      assert.equal(await readFile(join(root, 'small'), 'utf8'), 'small');
      assert.deepEqual(await tempFilesIn(join(root, '.gitdav', 'tmp')), []);
      assert.equal((await raw(s.url, '/after', { method: 'PUT', body: 'fits' })).status, 201);
    } finally {
      await s.close();
    }
  });
});

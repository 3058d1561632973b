/** The main flows through a real WebDAV client library (npm `webdav`), as file managers use them. */
import assert from 'node:assert/strict';
import { createClient, type FileStat, type WebDAVClient } from 'webdav';
import { forEachBackend } from './helpers/backends.js';
import { startTestServer, type TestServer } from './helpers/server.js';

forEachBackend((kind) => describe(`real client: npm webdav (${kind})`, () => {
  let s: TestServer;
  let c: WebDAVClient;
  before(async () => {
    s = await startTestServer({ backend: kind });
    c = createClient(s.url);
  });
  after(() => s.close());

  it('creates folders, uploads, lists and downloads', async () => {
    await c.createDirectory('/docs');
    await c.createDirectory('/docs/deep/er', { recursive: true });
    assert.equal(await c.putFileContents('/docs/hello.txt', 'Hello, wörld'), true);
    await c.putFileContents('/docs/bin.dat', Buffer.from([0, 1, 2, 255]));
    const list = (await c.getDirectoryContents('/docs')) as FileStat[];
    assert.deepEqual(list.map((f) => `${f.type}:${f.basename}`).sort(), ['directory:deep', 'file:bin.dat', 'file:hello.txt']);
    const hello = list.find((f) => f.basename === 'hello.txt')!;
    assert.equal(hello.size, Buffer.byteLength('Hello, wörld'));
    assert.match(hello.etag ?? '', /^[^"]+$|^"[^"]+"$/);
    assert.equal(await c.getFileContents('/docs/hello.txt', { format: 'text' }), 'Hello, wörld');
    assert.deepEqual(Buffer.from((await c.getFileContents('/docs/bin.dat')) as ArrayBuffer), Buffer.from([0, 1, 2, 255]));
  });

  it('stat, exists, partial download by range', async () => {
    const st = (await c.stat('/docs/hello.txt')) as FileStat;
    assert.equal(st.type, 'file');
    assert.equal(st.mime, 'text/plain'); // the client drops parameters
    assert.equal(await c.exists('/docs/nothing'), false);
    const part = await c.getFileContents('/docs/hello.txt', { format: 'text', details: false, headers: { Range: 'bytes=0-4' } });
    assert.equal(part, 'Hello');
  });

  it('copies, moves and deletes', async () => {
    await c.copyFile('/docs/hello.txt', '/docs/copy.txt');
    await c.moveFile('/docs/copy.txt', '/docs/deep/moved.txt');
    assert.equal(await c.exists('/docs/copy.txt'), false);
    assert.equal(await c.getFileContents('/docs/deep/moved.txt', { format: 'text' }), 'Hello, wörld');
    await c.deleteFile('/docs/deep');
    assert.equal(await c.exists('/docs/deep/moved.txt'), false);
  });

  it('locks and unlocks; a locked file refuses writes from others', async () => {
    const lock = await c.lock('/docs/hello.txt');
    assert.match(lock.token, /^opaquelocktoken:/);
    await assert.rejects(c.putFileContents('/docs/hello.txt', 'intruder'), /423/);
    await c.unlock('/docs/hello.txt', lock.token);
    assert.equal(await c.putFileContents('/docs/hello.txt', 'after unlock'), true);
  });

  it('conditional overwrite (If-None-Match: *) is refused when told not to overwrite', async () => {
    // The client turns our 412 into `false`.
    assert.equal(await c.putFileContents('/docs/hello.txt', 'x', { overwrite: false }), false);
    assert.equal(await c.getFileContents('/docs/hello.txt', { format: 'text' }), 'after unlock');
  });

  it('sets and reads custom properties', async () => {
    await c.customRequest('/docs/hello.txt', {
      method: 'PROPPATCH',
      headers: { 'Content-Type': 'application/xml' },
      data: '<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" xmlns:o="urn:example:office"><d:set><d:prop><o:color>red</o:color></d:prop></d:set></d:propertyupdate>',
    });
    const st = (await c.stat('/docs/hello.txt', {
      details: true,
      data: '<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:o="urn:example:office"><d:prop><o:color/></d:prop></d:propfind>',
    })) as { data: FileStat };
    assert.equal((st.data.props as Record<string, unknown>).color, 'red');
  });

  // Quota is the folder backend's (its file system's space); a git repository has none to report.
  it(kind === 'fs' ? 'reports quota on folders' : 'reports no quota (a git repository has none)', async () => {
    const q = (await c.getQuota()) as { used: number; available: number } | null;
    if (kind === 'fs') assert.ok(q && typeof q.available === 'number' && q.available > 0 && q.used > 0);
    else assert.equal(q, null);
  });
}));

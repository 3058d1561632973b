import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { forEachBackend, storageOf } from '../helpers/backends.js';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';

forEachBackend((kind) => describe(`PUT (RFC 9110 §9.3.4, RFC 4918 §9.7) (${kind})`, () => {
  let s: TestServer;
  const stored = () => storageOf(kind, s.root);
  beforeEach(async () => (s = await startTestServer({ backend: kind })));
  afterEach(() => s.close());

  it('201 on create, 204 on replace, each with the new ETag that GET then returns', async () => {
    const a = await raw(s.url, '/f.txt', { method: 'PUT', body: 'one' });
    assert.equal(a.status, 201);
    const b = await raw(s.url, '/f.txt', { method: 'PUT', body: 'two' });
    assert.equal(b.status, 204);
    assert.notEqual(a.headers.etag, b.headers.etag);
    assert.equal((await raw(s.url, '/f.txt')).headers.etag, b.headers.etag);
  });

  it('If-None-Match: * refuses to overwrite (412); If-Match with a stale ETag → 412; content unchanged', async () => {
    const a = await raw(s.url, '/f.txt', { method: 'PUT', body: 'one', headers: { 'If-None-Match': '*' } });
    assert.equal(a.status, 201);
    assert.equal((await raw(s.url, '/f.txt', { method: 'PUT', body: 'two', headers: { 'If-None-Match': '*' } })).status, 412);
    assert.equal((await raw(s.url, '/f.txt', { method: 'PUT', body: 'two', headers: { 'If-Match': '"stale"' } })).status, 412);
    assert.equal((await raw(s.url, '/f.txt', { method: 'PUT', body: 'two', headers: { 'If-Match': a.headers.etag as string } })).status, 204);
    assert.equal((await raw(s.url, '/new.txt', { method: 'PUT', body: 'x', headers: { 'If-Match': '*' } })).status, 412);
    assert.equal(await stored().text('/f.txt'), 'two');
  });

  it('409 when the parent collection is missing; 405 on a collection', async () => {
    assert.equal((await raw(s.url, '/no/f.txt', { method: 'PUT', body: 'x' })).status, 409);
    await raw(s.url, '/c', { method: 'MKCOL' });
    assert.equal((await raw(s.url, '/c', { method: 'PUT', body: 'x' })).status, 405);
  });

  it('accepts chunked bodies (no Content-Length), as Finder sends them', async () => {
    const r = await raw(s.url, '/chunked.bin', { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' }, body: Buffer.alloc(100_000, 7) });
    assert.equal(r.status, 201);
    assert.equal((await stored().bytes('/chunked.bin')).length, 100_000);
  });

  it('Expect: 100-continue: a failing precondition is answered before the body is sent', async () => {
    await raw(s.url, '/f.txt', { method: 'PUT', body: 'one' });
    const port = Number(new URL(s.url).port);
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1', () => {
        sock.write('PUT /f.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nIf-None-Match: *\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
      });
      let data = '';
      sock.on('data', (d) => (data += d.toString()));
      sock.on('end', () => resolve(data));
      sock.on('error', reject);
    });
    assert.match(reply, /^HTTP\/1.1 412/);
    assert.doesNotMatch(reply, /100 Continue/);
  });

  it('RFC 9530: a matching Content-Digest is accepted; a wrong one is a 400 and nothing is stored', async () => {
    const good = createHash('sha256').update('hello').digest('base64');
    assert.equal((await raw(s.url, '/d.txt', { method: 'PUT', body: 'hello', headers: { 'Content-Digest': `sha-256=:${good}:` } })).status, 201);
    const bad = createHash('sha256').update('other').digest('base64');
    const r = await raw(s.url, '/d.txt', { method: 'PUT', body: 'HELLO', headers: { 'Repr-Digest': `sha-256=:${bad}:` } });
    assert.equal(r.status, 400);
    assert.match(r.text, /digest/);
    assert.equal(await stored().text('/d.txt'), 'hello');
    const r2 = await raw(s.url, '/d2.txt', { method: 'PUT', body: 'x', headers: { 'Content-Digest': `sha-512=:${bad}:` } });
    assert.equal(r2.status, 400);
    assert.equal((await raw(s.url, '/d2.txt')).status, 404);
  });

  it('a body cut off midway changes nothing and leaves no temp file', async () => {
    await raw(s.url, '/cut.bin', { method: 'PUT', body: 'original' });
    const port = Number(new URL(s.url).port);
    await new Promise<void>((resolve) => {
      const sock = connect(port, '127.0.0.1', () => {
        sock.write('PUT /cut.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n');
        sock.write(Buffer.alloc(300_000, 1), () => setTimeout(() => sock.destroy(), 100));
      });
      sock.on('close', () => resolve());
      sock.on('error', () => undefined);
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await stored().text('/cut.bin'), 'original');
    assert.deepEqual(await stored().leftoverTemps(), []);
  });

  it('Content-Range resumes an interrupted upload: HEAD tells where, each chunk lands atomically', async () => {
    const whole = Buffer.from('The quick brown fox jumps over the lazy dog');
    const first = await raw(s.url, '/up.bin', { method: 'PUT', body: whole.subarray(0, 10), headers: { 'Content-Range': `bytes 0-9/${whole.length}` } });
    assert.equal(first.status, 201);
    const have = Number((await raw(s.url, '/up.bin', { method: 'HEAD' })).headers['content-length']);
    assert.equal(have, 10);
    const rest = await raw(s.url, '/up.bin', {
      method: 'PUT',
      body: whole.subarray(have),
      headers: { 'Content-Range': `bytes ${have}-${whole.length - 1}/${whole.length}`, 'If-Match': first.headers.etag as string },
    });
    assert.equal(rest.status, 204);
    assert.deepEqual(await stored().bytes('/up.bin'), whole);
    const gap = await raw(s.url, '/up.bin', { method: 'PUT', body: 'x', headers: { 'Content-Range': 'bytes 100-100/200' } });
    assert.equal(gap.status, 416);
    assert.equal((await raw(s.url, '/up.bin', { method: 'PUT', body: 'xy', headers: { 'Content-Range': 'bytes 0-0/2' } })).status, 400);
    assert.equal((await raw(s.url, '/up.bin', { method: 'PUT', body: 'x', headers: { 'Content-Range': 'garbage' } })).status, 400);
    assert.deepEqual(await stored().bytes('/up.bin'), whole);
  });

  it('a body over the configured limit is refused with 413 and not stored', async () => {
    await s.close();
    s = await startTestServer({ backend: kind, dav: { limits: { maxPutBytes: 1000 } as never } });
    assert.equal((await raw(s.url, '/big', { method: 'PUT', body: Buffer.alloc(2000) })).status, 413);
    assert.equal((await raw(s.url, '/big')).status, 404);
    assert.equal((await raw(s.url, '/small', { method: 'PUT', body: Buffer.alloc(1000) })).status, 201);
  });
}));

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { forEachBackend } from '../helpers/backends.js';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';

forEachBackend((kind) => describe(`RFC 9110 GET/HEAD: validators, conditionals, ranges, digests (${kind})`, () => {
  let s: TestServer;
  let etag: string;
  const content = 'abcdefghijklmnopqrstuvwxyz';
  before(async () => {
    s = await startTestServer({ backend: kind });
    const put = await raw(s.url, '/abc.txt', { method: 'PUT', body: content });
    etag = put.headers.etag as string;
  });
  after(() => s.close());

  it('GET returns the bytes with a strong ETag, Last-Modified, type and Accept-Ranges', async () => {
    const r = await raw(s.url, '/abc.txt');
    assert.equal(r.status, 200);
    assert.equal(r.text, content);
    assert.equal(r.headers.etag, etag);
    assert.match(etag, /^"[^"]+"$/);
    assert.ok(!Number.isNaN(Date.parse(r.headers['last-modified'] as string)));
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(r.headers['accept-ranges'], 'bytes');
    assert.equal(r.headers['content-length'], String(content.length));
  });

  it('HEAD sends the same headers and no body', async () => {
    const r = await raw(s.url, '/abc.txt', { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 0);
    assert.equal(r.headers['content-length'], String(content.length));
    assert.equal(r.headers.etag, etag);
  });

  it('§13.1.2 If-None-Match with the current ETag → 304; §13.1.1 If-Match mismatch → 412', async () => {
    assert.equal((await raw(s.url, '/abc.txt', { headers: { 'If-None-Match': etag } })).status, 304);
    assert.equal((await raw(s.url, '/abc.txt', { headers: { 'If-None-Match': '"other"' } })).status, 200);
    assert.equal((await raw(s.url, '/abc.txt', { headers: { 'If-Match': '"other"' } })).status, 412);
    assert.equal((await raw(s.url, '/abc.txt', { headers: { 'If-Match': etag } })).status, 200);
    assert.equal((await raw(s.url, '/abc.txt', { headers: { 'If-Match': `W/${etag}` } })).status, 412, 'If-Match compares strongly');
  });

  it('§13.1.3-4 If-Modified-Since / If-Unmodified-Since', async () => {
    const future = new Date(Date.now() + 3600_000).toUTCString();
    const past = new Date(Date.now() - 3600_000 * 24).toUTCString();
    assert.equal((await raw(s.url, '/abc.txt', { headers: { 'If-Modified-Since': future } })).status, 304);
    assert.equal((await raw(s.url, '/abc.txt', { headers: { 'If-Modified-Since': past } })).status, 200);
    assert.equal((await raw(s.url, '/abc.txt', { headers: { 'If-Unmodified-Since': past } })).status, 412);
  });

  it('§14.2 a single range → 206 with Content-Range', async () => {
    const r = await raw(s.url, '/abc.txt', { headers: { Range: 'bytes=2-4' } });
    assert.equal(r.status, 206);
    assert.equal(r.text, 'cde');
    assert.equal(r.headers['content-range'], `bytes 2-4/${content.length}`);
    const suffix = await raw(s.url, '/abc.txt', { headers: { Range: 'bytes=-3' } });
    assert.equal(suffix.text, 'xyz');
    const open = await raw(s.url, '/abc.txt', { headers: { Range: 'bytes=24-' } });
    assert.equal(open.text, 'yz');
  });

  it('§14.6 several ranges → multipart/byteranges', async () => {
    const r = await raw(s.url, '/abc.txt', { headers: { Range: 'bytes=0-1,10-12' } });
    assert.equal(r.status, 206);
    const type = r.headers['content-type'] as string;
    const boundary = /boundary=(\S+)/.exec(type)![1]!;
    assert.match(type, /^multipart\/byteranges/);
    const parts = r.text.split(`--${boundary}`).slice(1, -1);
    assert.equal(parts.length, 2);
    assert.match(parts[0]!, /Content-Range: bytes 0-1\/26\r\n\r\nab\r\n$/);
    assert.match(parts[1]!, /Content-Range: bytes 10-12\/26\r\n\r\nklm\r\n$/);
    assert.equal(Number(r.headers['content-length']), r.body.length);
  });

  it('§15.5.17 an unsatisfiable range → 416 with bytes */size', async () => {
    const r = await raw(s.url, '/abc.txt', { headers: { Range: 'bytes=100-200' } });
    assert.equal(r.status, 416);
    assert.equal(r.headers['content-range'], `bytes */${content.length}`);
  });

  it('§13.1.5 If-Range with a stale ETag sends the whole file', async () => {
    const r = await raw(s.url, '/abc.txt', { headers: { Range: 'bytes=0-1', 'If-Range': '"stale"' } });
    assert.equal(r.status, 200);
    assert.equal(r.text, content);
    const ok = await raw(s.url, '/abc.txt', { headers: { Range: 'bytes=0-1', 'If-Range': etag } });
    assert.equal(ok.status, 206);
  });

  it('RFC 9530 Want-Repr-Digest → Repr-Digest of the whole representation', async () => {
    const r = await raw(s.url, '/abc.txt', { headers: { 'Want-Repr-Digest': 'sha-256=5, sha-512=1' } });
    const expected = createHash('sha256').update(content).digest('base64');
    assert.equal(r.headers['repr-digest'], `sha-256=:${expected}:`);
    const ranged = await raw(s.url, '/abc.txt', { headers: { 'Want-Repr-Digest': 'sha-512=1', Range: 'bytes=0-0' } });
    assert.equal(ranged.headers['repr-digest'], `sha-512=:${createHash('sha512').update(content).digest('base64')}:`);
  });

  it('GET on a folder returns an HTML listing with links, sizes and dates', async () => {
    await raw(s.url, '/dir', { method: 'MKCOL' });
    await raw(s.url, '/dir/a%20b%26c.txt', { method: 'PUT', body: 'x' });
    const r = await raw(s.url, '/dir/');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] as string, /^text\/html/);
    assert.match(r.text, /<a href="\/dir\/a%20b&amp;c.txt">a b&amp;c.txt<\/a>/);
    assert.match(r.text, /1 B/);
  });

  it('GET of a missing file → 404 with a DAV:error body; a file with a trailing slash is not found', async () => {
    const r = await raw(s.url, '/missing.txt');
    assert.equal(r.status, 404);
    assert.match(r.text, /<D:error/);
    assert.equal((await raw(s.url, '/abc.txt/')).status, 404);
  });
}));

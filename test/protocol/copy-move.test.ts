import assert from 'node:assert/strict';
import { forEachBackend, storageOf } from '../helpers/backends.js';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';

forEachBackend((kind) => describe(`RFC 4918 §9.8 COPY and §9.9 MOVE (${kind})`, () => {
  let s: TestServer;
  const stored = (path: string) => storageOf(kind, s.root).text(path);
  beforeEach(async () => {
    s = await startTestServer({ backend: kind });
    await raw(s.url, '/a', { method: 'MKCOL' });
    await raw(s.url, '/a/f.txt', { method: 'PUT', body: 'F' });
    await raw(s.url, '/a/f.txt', {
      method: 'PROPPATCH',
      body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:tag xmlns:x="urn:x">blue</x:tag></D:prop></D:set></D:propertyupdate>',
    });
  });
  afterEach(() => s.close());

  const tag = async (path: string) =>
    (await raw(s.url, path, { method: 'PROPFIND', headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><x:tag xmlns:x="urn:x"/></D:prop></D:propfind>' })).text;

  it('COPY with an absolute Destination: 201, content and dead properties copied', async () => {
    const r = await raw(s.url, '/a/f.txt', { method: 'COPY', headers: { Destination: `${s.url}/g.txt` } });
    assert.equal(r.status, 201);
    assert.equal(await stored('/g.txt'), 'F');
    assert.match(await tag('/g.txt'), />blue</);
    assert.match(await tag('/a/f.txt'), />blue</);
  });

  it('Overwrite: F onto an existing resource → 412; T (default) → 204', async () => {
    await raw(s.url, '/g.txt', { method: 'PUT', body: 'G' });
    assert.equal((await raw(s.url, '/a/f.txt', { method: 'COPY', headers: { Destination: '/g.txt', Overwrite: 'F' } })).status, 412);
    assert.equal(await stored('/g.txt'), 'G');
    assert.equal((await raw(s.url, '/a/f.txt', { method: 'COPY', headers: { Destination: '/g.txt' } })).status, 204);
    assert.equal(await stored('/g.txt'), 'F');
  });

  it('COPY Depth 0 of a collection copies it without members', async () => {
    assert.equal((await raw(s.url, '/a/', { method: 'COPY', headers: { Destination: '/b/', Depth: '0' } })).status, 201);
    assert.equal((await raw(s.url, '/b/f.txt')).status, 404);
    assert.equal((await raw(s.url, '/b/', { method: 'PROPFIND', headers: { Depth: '0' } })).status, 207);
  });

  it('MOVE of a collection carries members and properties; the source is gone', async () => {
    assert.equal((await raw(s.url, '/a/', { method: 'MOVE', headers: { Destination: '/moved/' } })).status, 201);
    assert.equal((await raw(s.url, '/a/f.txt')).status, 404);
    assert.match(await tag('/moved/f.txt'), />blue</);
  });

  it('refuses bad destinations: missing (400), other host (502), into itself (403), same (403), no parent (409)', async () => {
    assert.equal((await raw(s.url, '/a/f.txt', { method: 'COPY' })).status, 400);
    assert.equal((await raw(s.url, '/a/f.txt', { method: 'COPY', headers: { Destination: 'http://elsewhere.example/x' } })).status, 502);
    assert.equal((await raw(s.url, '/a/', { method: 'MOVE', headers: { Destination: '/a/inner/' } })).status, 403);
    assert.equal((await raw(s.url, '/a/f.txt', { method: 'MOVE', headers: { Destination: '/a/f.txt' } })).status, 403);
    assert.equal((await raw(s.url, '/a/f.txt', { method: 'COPY', headers: { Destination: '/none/x' } })).status, 409);
    assert.equal((await raw(s.url, '/a/f.txt', { method: 'COPY', headers: { Destination: '/x', Overwrite: 'maybe' } })).status, 400);
    assert.equal((await raw(s.url, '/a/', { method: 'MOVE', headers: { Destination: '/z/', Depth: '0' } })).status, 400);
    // A Destination is a URI: dot segments resolve (RFC 3986 §5.2.4) and can never climb above the root.
    assert.equal((await raw(s.url, '/a/f.txt', { method: 'COPY', headers: { Destination: '/%2e%2e/%2e%2e/x' } })).status, 201);
    assert.equal(await stored('/x'), 'F');
    assert.equal(await stored('/a/f.txt'), 'F');
  });

  it('a locked destination needs its token', async () => {
    await raw(s.url, '/locked.txt', { method: 'PUT', body: 'L' });
    const l = await raw(s.url, '/locked.txt', {
      method: 'LOCK',
      body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
    });
    const token = /<([^>]+)>/.exec(l.headers['lock-token'] as string)![1];
    assert.equal((await raw(s.url, '/a/f.txt', { method: 'COPY', headers: { Destination: '/locked.txt' } })).status, 423);
    assert.equal((await raw(s.url, '/a/f.txt', { method: 'COPY', headers: { Destination: '/locked.txt', If: `</locked.txt> (<${token}>)` } })).status, 204);
  });
}));

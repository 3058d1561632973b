/** RFC 6578 sync-collection on plain WebDAV folders, both backends. */
import assert from 'node:assert/strict';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';
import { forEachBackend } from '../helpers/backends.js';
import { syncReport } from '../helpers/sync-report.js';

const sync = (s: TestServer, path: string, token: string, opts: { limit?: number; depth?: string } = {}) => syncReport(s.url, path, token, opts);

forEachBackend((backend) => {
  describe(`RFC 6578 sync-collection (${backend} backend)`, () => {
    let s: TestServer;
    beforeEach(async () => {
      s = await startTestServer({ backend });
      await raw(s.url, '/f', { method: 'MKCOL' });
      for (const n of ['a', 'b', 'c']) await raw(s.url, `/f/${n}.txt`, { method: 'PUT', body: n });
    });
    afterEach(() => s.close());

    it('§3.4 an empty token lists every member; the token is a URI; Depth: 1 is tolerated', async () => {
      const first = await sync(s, '/f/', '', { depth: '1' });
      assert.equal(first.status, 207);
      assert.deepEqual([...first.changed.keys()].sort(), ['/f/a.txt', '/f/b.txt', '/f/c.txt']);
      assert.match(first.token, /^[a-z][a-z0-9+.-]*:\S+$/);
      const etag = (await raw(s.url, '/f/a.txt')).headers.etag;
      assert.equal(first.changed.get('/f/a.txt'), etag);
    });

    it('reports exactly what changed since a token: update, add, delete, property change', async () => {
      const t0 = (await sync(s, '/f/', '')).token;
      const none = await sync(s, '/f/', t0);
      assert.equal(none.changed.size + none.removed.length, 0);
      await raw(s.url, '/f/a.txt', { method: 'PUT', body: 'a2' });
      await raw(s.url, '/f/d.txt', { method: 'PUT', body: 'd' });
      await raw(s.url, '/f/b.txt', { method: 'DELETE' });
      await raw(s.url, '/f/c.txt', { method: 'PROPPATCH', body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:y xmlns:x="urn:x">1</x:y></D:prop></D:set></D:propertyupdate>' });
      const delta = await sync(s, '/f/', t0);
      assert.deepEqual([...delta.changed.keys()].sort(), ['/f/a.txt', '/f/c.txt', '/f/d.txt']);
      assert.deepEqual(delta.removed, ['/f/b.txt']);
      // The old token keeps working after newer ones were handed out.
      assert.deepEqual([...(await sync(s, '/f/', t0)).changed.keys()].sort(), ['/f/a.txt', '/f/c.txt', '/f/d.txt']);
      assert.equal((await sync(s, '/f/', delta.token)).changed.size, 0);
    });

    it('§3.6 DAV:limit: 507 for the collection and a token for the truncated state; nothing lost', async () => {
      const t0 = (await sync(s, '/f/', '')).token;
      for (const n of ['p', 'q', 'r', 's', 't']) await raw(s.url, `/f/${n}.txt`, { method: 'PUT', body: n });
      const seen = new Set<string>();
      let token = t0;
      for (let round = 0; round < 10; round++) {
        const page = await sync(s, '/f/', token, { limit: 2 });
        assert.ok(page.changed.size <= 2);
        for (const h of page.changed.keys()) seen.add(h);
        token = page.token;
        if (!page.truncated) break;
      }
      assert.deepEqual([...seen].sort(), ['/f/p.txt', '/f/q.txt', '/f/r.txt', '/f/s.txt', '/f/t.txt']);
      assert.equal((await sync(s, '/f/', token)).changed.size, 0);
    });

    it('an unknown token → 403 DAV:valid-sync-token; a file → 403 supported-report; DAV:sync-token property', async () => {
      const bad = await sync(s, '/f/', 'urn:x-gitdav:sync:0000000000000000000000000000000000000000');
      assert.equal(bad.status, 403);
      assert.match(bad.text, /valid-sync-token/);
      assert.equal((await sync(s, '/f/', 'http://example.com/not-ours')).status, 403);
      assert.equal((await sync(s, '/f/a.txt', '')).status, 403);
      const pf = await raw(s.url, '/f/', { method: 'PROPFIND', headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/><D:supported-report-set/></D:prop></D:propfind>' });
      const token = /<D:sync-token>([^<]+)</.exec(pf.text)![1]!;
      assert.match(pf.text, /<D:sync-collection\/>/);
      assert.equal((await sync(s, '/f/', token)).changed.size, 0);
      await raw(s.url, '/f/z.txt', { method: 'PUT', body: 'z' });
      assert.deepEqual([...(await sync(s, '/f/', token)).changed.keys()], ['/f/z.txt']);
    });
  });
});

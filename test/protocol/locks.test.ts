import assert from 'node:assert/strict';
import { forEachBackend } from '../helpers/backends.js';
import { raw, startTestServer, lockBody, type TestServer } from '../helpers/server.js';

forEachBackend((kind) => describe(`RFC 4918 §6-7, §9.10-9.11 LOCK and UNLOCK (${kind})`, () => {
  let s: TestServer;
  beforeEach(async () => (s = await startTestServer({ backend: kind })));
  afterEach(() => s.close());

  async function lock(path: string, opts: { scope?: 'exclusive' | 'shared'; depth?: string; timeout?: string } = {}) {
    const r = await raw(s.url, path, {
      method: 'LOCK',
      headers: { Depth: opts.depth ?? 'infinity', Timeout: opts.timeout ?? 'Second-600' },
      body: lockBody(opts.scope),
    });
    return { ...r, token: /<([^>]+)>/.exec((r.headers['lock-token'] as string) ?? '')?.[1] };
  }

  it('an exclusive lock blocks writes without its token and allows them with it', async () => {
    await raw(s.url, '/f', { method: 'PUT', body: 'v1' });
    const l = await lock('/f');
    assert.equal(l.status, 200);
    assert.match(l.token!, /^opaquelocktoken:[0-9a-f-]{36}$/);
    assert.match(l.text, /<D:timeout>Second-60\d<\/D:timeout>/);
    const denied = await raw(s.url, '/f', { method: 'PUT', body: 'v2' });
    assert.equal(denied.status, 423);
    assert.match(denied.text, /<D:lock-token-submitted><D:href>\/f<\/D:href><\/D:lock-token-submitted>/);
    assert.equal((await raw(s.url, '/f', { method: 'DELETE' })).status, 423);
    assert.equal((await raw(s.url, '/f', { method: 'PUT', body: 'v2', headers: { If: `(<${l.token}>)` } })).status, 204);
    assert.equal((await raw(s.url, '/f', { method: 'UNLOCK', headers: { 'Lock-Token': `<${l.token}>` } })).status, 204);
    assert.equal((await raw(s.url, '/f', { method: 'PUT', body: 'v3' })).status, 204);
  });

  it('a lock on an unmapped URL creates an empty resource (201)', async () => {
    const l = await lock('/new.txt');
    assert.equal(l.status, 201);
    const g = await raw(s.url, '/new.txt');
    assert.equal(g.status, 200);
    assert.equal(g.body.length, 0);
    assert.equal((await lock('/missing-parent/x')).status, 409);
  });

  it('a depth-infinity lock on a collection protects its members and its membership', async () => {
    await raw(s.url, '/c', { method: 'MKCOL' });
    await raw(s.url, '/c/in', { method: 'PUT', body: 'x' });
    const l = await lock('/c/');
    assert.equal((await raw(s.url, '/c/in', { method: 'PUT', body: 'y' })).status, 423);
    assert.equal((await raw(s.url, '/c/new', { method: 'PUT', body: 'y' })).status, 423);
    assert.equal((await raw(s.url, '/c/new', { method: 'PUT', body: 'y', headers: { If: `(<${l.token}>)` } })).status, 201);
    assert.equal((await raw(s.url, '/c/in', { method: 'MOVE', headers: { Destination: '/elsewhere' } })).status, 423);
    assert.equal((await lock('/c/in')).status, 423, 'no exclusive lock inside an exclusive lock');
  });

  it('a depth-0 lock on a collection protects membership but not members’ content', async () => {
    await raw(s.url, '/c0', { method: 'MKCOL' });
    await raw(s.url, '/c0/in', { method: 'PUT', body: 'x' });
    await lock('/c0/', { depth: '0' });
    assert.equal((await raw(s.url, '/c0/in', { method: 'PUT', body: 'y' })).status, 204);
    assert.equal((await raw(s.url, '/c0/other', { method: 'PUT', body: 'y' })).status, 423);
    assert.equal((await raw(s.url, '/c0/in', { method: 'DELETE' })).status, 423);
  });

  it('shared locks coexist; an exclusive one then conflicts (423 no-conflicting-lock)', async () => {
    await raw(s.url, '/s', { method: 'PUT', body: 'x' });
    const a = await lock('/s', { scope: 'shared' });
    const b = await lock('/s', { scope: 'shared' });
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const x = await lock('/s');
    assert.equal(x.status, 423);
    assert.match(x.text, /no-conflicting-lock/);
    assert.equal((await raw(s.url, '/s', { method: 'PUT', body: 'y', headers: { If: `(<${b.token}>)` } })).status, 204);
  });

  it('refresh resets the timeout; a refresh without a token → 412; UNLOCK with a wrong token → 409', async () => {
    await raw(s.url, '/r', { method: 'PUT', body: 'x' });
    const l = await lock('/r', { timeout: 'Second-100' });
    const refreshed = await raw(s.url, '/r', { method: 'LOCK', headers: { If: `(<${l.token}>)`, Timeout: 'Second-5000' } });
    assert.equal(refreshed.status, 200);
    assert.match(refreshed.text, /Second-(4999|5000)/);
    assert.equal((await raw(s.url, '/r', { method: 'LOCK', headers: { Timeout: 'Second-5' } })).status, 412);
    const bad = await raw(s.url, '/r', { method: 'UNLOCK', headers: { 'Lock-Token': '<opaquelocktoken:nope>' } });
    assert.equal(bad.status, 409);
    assert.match(bad.text, /lock-token-matches-request-uri/);
    assert.equal((await raw(s.url, '/r', { method: 'UNLOCK' })).status, 400);
  });

  it('locks expire after their timeout', async () => {
    await raw(s.url, '/e', { method: 'PUT', body: 'x' });
    await lock('/e', { timeout: 'Second-1' });
    assert.equal((await raw(s.url, '/e', { method: 'PUT', body: 'y' })).status, 423);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await raw(s.url, '/e', { method: 'PUT', body: 'y' })).status, 204);
  });

  it('locks survive a restart of the server', async () => {
    await raw(s.url, '/p', { method: 'PUT', body: 'x' });
    const l = await lock('/p');
    const root = s.root;
    await s.running.close(100);
    const again = await startTestServer({ root, backend: kind });
    try {
      assert.equal((await raw(again.url, '/p', { method: 'PUT', body: 'y' })).status, 423);
      assert.equal((await raw(again.url, '/p', { method: 'PUT', body: 'y', headers: { If: `(<${l.token}>)` } })).status, 204);
    } finally {
      await again.close();
    }
  });

  it('lockdiscovery shows the lock with its owner and root; supportedlock lists both scopes', async () => {
    await raw(s.url, '/d', { method: 'PUT', body: 'x' });
    const l = await lock('/d');
    const r = await raw(s.url, '/d', { method: 'PROPFIND', headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/><D:supportedlock/></D:prop></D:propfind>' });
    assert.ok(r.text.includes(l.token!));
    assert.match(r.text, /<owner xmlns="DAV:"><href>tester<\/href><\/owner>/);
    assert.match(r.text, /<D:lockroot><D:href>\/d<\/D:href><\/D:lockroot>/);
    assert.match(r.text, /<D:shared\/>/);
  });

  it('If header: a tagged list for another resource and ETag conditions are evaluated (§10.4)', async () => {
    const put = await raw(s.url, '/t', { method: 'PUT', body: 'x' });
    const etag = put.headers.etag as string;
    assert.equal((await raw(s.url, '/t', { method: 'PUT', body: 'y', headers: { If: `(["bogus"])` } })).status, 412);
    const ok = await raw(s.url, '/t', { method: 'PUT', body: 'y', headers: { If: `<${s.url}/t> ([${etag}])` } });
    assert.equal(ok.status, 204);
    assert.equal((await raw(s.url, '/t', { method: 'PUT', body: 'z', headers: { If: '(garbage' } })).status, 400);
  });
}));

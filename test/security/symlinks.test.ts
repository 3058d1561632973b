/**
 * Symbolic links in a served folder (folder backend; backends/fs/containment.ts). The attack of issue
 * 10: with `ln -s ../private users/alice/docs/lnk`, Bob (read-write share of /docs) must not reach
 * Alice's /private through /shared/alice/docs/lnk by any method, even while Alice holds a lock there.
 * Then the owner's own policy (`follow-inside`: a link is followed only inside the folder holding
 * it, and only for reading), a link out of the root, and `symlinks: "refuse"`.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basic, lockBody, propfindBody, raw, startTestServer, XML, type TestServer } from '../helpers/server.js';
import { tool } from '../helpers/tools.js';
import { ConfigError, loadConfig } from '../../lib/config.js';

const ALICE = basic('alice', 'alice-secret');
const BOB = basic('bob', 'bob-secret!');
const SECRET = 'alice private secret';
const PATCH = '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:tag xmlns:x="urn:x">bob</x:tag></D:prop></D:set></D:propertyupdate>';
const SYNC = '<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>';
const refused = (r: { status: number; text: string }, what: string) => {
  assert.ok([403, 404].includes(r.status), `${what} → ${r.status} ${r.text}`);
  assert.doesNotMatch(r.text, new RegExp(SECRET), `${what}: nothing of the secret`);
};

describe('symbolic links (folder backend)', function () {
  this.timeout(30_000);
  let s: TestServer;
  let outside: string;
  let alice: string;
  const put = (path: string, body: string, who = ALICE) => raw(s.url, path, { method: 'PUT', body, headers: who });
  const secretIntact = async () => {
    assert.equal(await readFile(join(alice, 'private', 'secret.txt'), 'utf8'), SECRET);
    assert.deepEqual((await readdir(join(alice, 'private'))).sort(), ['secret.txt'], 'nothing created, no properties stored next to it');
  };

  before(async () => {
    outside = await mkdtemp(join(tmpdir(), 'gitdav-outside-'));
    await writeFile(join(outside, 'victim'), 'safe');
    s = await startTestServer({ backend: 'fs', users: { alice: 'alice-secret', bob: 'bob-secret!' }, shares: [{ owner: 'alice', path: '/docs', grantee: 'bob', access: 'write' }] });
    for (const dir of ['/docs', '/docs/sub', '/private']) assert.equal((await raw(s.url, dir, { method: 'MKCOL', headers: ALICE })).status, 201);
    assert.equal((await put('/private/secret.txt', SECRET)).status, 201);
    assert.equal((await put('/docs/plan.txt', 'the plan')).status, 201);
    assert.equal((await put('/docs/sub/inner.txt', 'inner')).status, 201);
    alice = join(s.root, 'users', 'alice');
    await symlink('../private', join(alice, 'docs', 'lnk'));
    await symlink('../private/secret.txt', join(alice, 'docs', 'file-lnk.txt'));
    await symlink('sub', join(alice, 'docs', 'sublink'));
    await symlink(outside, join(alice, 'docs', 'out'));
    // Alice's lock on her file: the attack wrote through the other name while she held it.
    const lock = await raw(s.url, '/private/secret.txt', { method: 'LOCK', body: lockBody(), headers: { ...ALICE, ...XML, Timeout: 'Second-600' } });
    assert.equal(lock.status, 200, lock.text);
  });
  after(async () => {
    await s.close();
    await rm(outside, { recursive: true, force: true });
  });

  it('Bob reads nothing of /private through the link: GET, HEAD, PROPFIND (0, 1, infinity), REPORT', async () => {
    for (const p of ['/shared/alice/docs/lnk/secret.txt', '/shared/alice/docs/file-lnk.txt']) {
      const r = await raw(s.url, p, { headers: BOB });
      refused(r, `GET ${p}`);
      assert.ok(r.text.length > 0, 'a body that says why');
      assert.ok([403, 404].includes((await raw(s.url, p, { method: 'HEAD', headers: BOB })).status));
      refused(await raw(s.url, p, { method: 'PROPFIND', body: propfindBody('getetag', 'displayname'), headers: { ...BOB, ...XML, Depth: '0' } }), `PROPFIND ${p}`);
    }
    refused(await raw(s.url, '/shared/alice/docs/lnk/', { method: 'PROPFIND', body: propfindBody('getetag'), headers: { ...BOB, ...XML, Depth: '1' } }), 'PROPFIND lnk/');
    for (const depth of ['1', 'infinity']) {
      const r = await raw(s.url, '/shared/alice/docs/', { method: 'PROPFIND', body: propfindBody('getetag'), headers: { ...BOB, ...XML, Depth: depth } });
      assert.equal(r.status, 207, r.text);
      assert.doesNotMatch(r.text, /secret\.txt|file-lnk|\/lnk\/|\/out\//, `Depth ${depth}: links out of the folder are not listed`);
      assert.match(r.text, /sublink/, 'a link inside the folder is');
    }
    refused(await raw(s.url, '/shared/alice/docs/lnk/', { method: 'REPORT', body: SYNC, headers: { ...BOB, ...XML } }), 'REPORT sync-collection lnk/');
    const sync = await raw(s.url, '/shared/alice/docs/', { method: 'REPORT', body: SYNC, headers: { ...BOB, ...XML } });
    assert.equal(sync.status, 207, sync.text);
    assert.doesNotMatch(sync.text, /secret|file-lnk/);
  });

  it('Bob changes nothing through the link, Alice’s lock or not: PUT, DELETE, MKCOL, PROPPATCH, LOCK, MOVE, COPY', async () => {
    const target = '/shared/alice/docs/lnk/secret.txt';
    refused(await put(target, 'overwritten by bob', BOB), 'PUT');
    refused(await put('/shared/alice/docs/file-lnk.txt', 'overwritten by bob', BOB), 'PUT file link');
    refused(await put('/shared/alice/docs/lnk/new.txt', 'planted', BOB), 'PUT new');
    refused(await raw(s.url, target, { method: 'DELETE', headers: BOB }), 'DELETE');
    refused(await raw(s.url, '/shared/alice/docs/file-lnk.txt', { method: 'DELETE', headers: BOB }), 'DELETE file link');
    refused(await raw(s.url, '/shared/alice/docs/lnk/newdir', { method: 'MKCOL', headers: BOB }), 'MKCOL');
    refused(await raw(s.url, target, { method: 'PROPPATCH', body: PATCH, headers: { ...BOB, ...XML } }), 'PROPPATCH');
    refused(await raw(s.url, target, { method: 'LOCK', body: lockBody(), headers: { ...BOB, ...XML } }), 'LOCK');
    refused(await raw(s.url, '/shared/alice/docs/lnk/locked-new.txt', { method: 'LOCK', body: lockBody(), headers: { ...BOB, ...XML } }), 'LOCK of a new name');
    refused(await raw(s.url, target, { method: 'MOVE', headers: { ...BOB, Destination: '/shared/alice/docs/stolen.txt' } }), 'MOVE out');
    refused(await raw(s.url, target, { method: 'COPY', headers: { ...BOB, Destination: '/stolen.txt' } }), 'COPY out to Bob’s tree');
    refused(await raw(s.url, target, { method: 'COPY', headers: { ...BOB, Destination: '/shared/alice/docs/stolen.txt' } }), 'COPY out inside the share');
    refused(await raw(s.url, '/shared/alice/docs/lnk', { method: 'COPY', headers: { ...BOB, Destination: '/stolen-dir' } }), 'COPY the linked folder');
    for (const method of ['MOVE', 'COPY']) {
      const r = await raw(s.url, '/shared/alice/docs/plan.txt', { method, headers: { ...BOB, Destination: target, Overwrite: 'T' } });
      assert.ok([403, 404, 409].includes(r.status), `${method} over the secret → ${r.status}`);
    }
    assert.equal((await raw(s.url, '/docs/plan.txt', { headers: ALICE })).text, 'the plan');
    assert.equal((await raw(s.url, '/stolen.txt', { headers: BOB })).status, 404);
    assert.equal((await raw(s.url, '/stolen-dir', { headers: BOB })).status, 404);
    assert.equal((await raw(s.url, '/docs/stolen.txt', { headers: ALICE })).status, 404);
    await secretIntact();
  });

  it('the owner too: a link out of its folder is not followed; one inside is, for reading only', async () => {
    assert.equal((await raw(s.url, '/private/secret.txt', { headers: ALICE })).text, SECRET);
    const r = await raw(s.url, '/docs/lnk/secret.txt', { headers: ALICE });
    assert.equal(r.status, 403);
    assert.match(r.text, /symbolic link/, 'the body says why');
    assert.equal((await raw(s.url, '/docs/sublink/inner.txt', { headers: ALICE })).text, 'inner');
    assert.equal((await raw(s.url, '/shared/alice/docs/sublink/inner.txt', { headers: BOB })).text, 'inner', 'inside the share: readable by Bob too');
    const w = await put('/docs/sublink/inner.txt', 'through the alias');
    assert.equal(w.status, 403, 'one writable name per file');
    assert.match(w.text, /symbolic link/);
    assert.equal((await raw(s.url, '/docs/sublink', { method: 'DELETE', headers: ALICE })).status, 403);
    assert.equal((await raw(s.url, '/docs/sub/inner.txt', { headers: ALICE })).text, 'inner');
  });

  it('a lock on the real name cannot be bypassed through an alias inside the folder', async () => {
    const lock = await raw(s.url, '/docs/sub/inner.txt', { method: 'LOCK', body: lockBody(), headers: { ...ALICE, ...XML } });
    assert.equal(lock.status, 200, lock.text);
    assert.equal((await put('/shared/alice/docs/sub/inner.txt', 'bob', BOB)).status, 423);
    assert.equal((await put('/shared/alice/docs/sublink/inner.txt', 'bob', BOB)).status, 403);
    assert.equal((await raw(s.url, '/shared/alice/docs/sublink/inner.txt', { method: 'DELETE', headers: BOB })).status, 403);
    assert.equal((await raw(s.url, '/docs/sub/inner.txt', { headers: ALICE })).text, 'inner');
  });

  it('a link out of the root: nothing read, nothing written, for the owner and through the share', async () => {
    for (const [p, who] of [['/docs/out/victim', ALICE], ['/shared/alice/docs/out/victim', BOB]] as const) {
      refused(await raw(s.url, p, { headers: who }), `GET ${p}`);
      refused(await put(p, 'pwned', who), `PUT ${p}`);
      refused(await raw(s.url, p, { method: 'DELETE', headers: who }), `DELETE ${p}`);
    }
    assert.equal(await readFile(join(outside, 'victim'), 'utf8'), 'safe');
    assert.deepEqual(await readdir(outside), ['victim']);
  });

  it('a folder read once, then replaced by a link out of the root: the next reads are refused (no remembered answer)', async () => {
    // The first GETs take the direct open (no link on the way); the same path then leads through a link.
    await writeFile(join(alice, 'docs', 'victim-here'), 'x');
    assert.equal((await raw(s.url, '/docs/victim-here', { headers: ALICE })).status, 200);
    assert.equal((await raw(s.url, '/shared/alice/docs/victim-here', { headers: BOB })).status, 200);
    await rm(join(alice, 'docs', 'victim-here'));
    await symlink(join(outside, 'victim'), join(alice, 'docs', 'victim-here'));
    for (const [p, who] of [['/docs/victim-here', ALICE], ['/shared/alice/docs/victim-here', BOB]] as const) {
      for (const method of ['GET', 'HEAD']) {
        const r = await raw(s.url, p, { method, headers: who });
        assert.equal(r.status, 403, `${method} ${p} → ${r.status}`);
        assert.doesNotMatch(r.text, /safe/);
      }
    }
    // A folder swapped for a link to one outside: the file below it is refused, not served.
    await mkdir(join(alice, 'docs', 'swapdir'));
    await writeFile(join(alice, 'docs', 'swapdir', 'victim'), 'inside');
    assert.equal((await raw(s.url, '/docs/swapdir/victim', { headers: ALICE })).text, 'inside');
    await rm(join(alice, 'docs', 'swapdir'), { recursive: true });
    await symlink(outside, join(alice, 'docs', 'swapdir'));
    const r = await raw(s.url, '/docs/swapdir/victim', { headers: ALICE });
    assert.equal(r.status, 403, `GET after the swap → ${r.status} ${r.text}`);
    assert.doesNotMatch(r.text, /safe/);
    await rm(join(alice, 'docs', 'victim-here'));
    await rm(join(alice, 'docs', 'swapdir'));
  });
});

describe('symlinks: "refuse"', function () {
  this.timeout(30_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: 'fs', symlinks: 'refuse' });
    assert.equal((await raw(s.url, '/sub', { method: 'MKCOL' })).status, 201);
    assert.equal((await raw(s.url, '/sub/inner.txt', { method: 'PUT', body: 'inner' })).status, 201);
    await symlink('sub', join(s.root, 'sublink'));
  });
  after(() => s.close());

  it('follows no link, even one inside its folder; links are not listed', async () => {
    const r = await raw(s.url, '/sublink/inner.txt');
    assert.equal(r.status, 403);
    assert.match(r.text, /refuse/);
    const list = await raw(s.url, '/', { method: 'PROPFIND', body: propfindBody('getetag'), headers: { ...XML, Depth: '1' } });
    assert.equal(list.status, 207);
    assert.doesNotMatch(list.text, /sublink/);
    assert.match(list.text, /\/sub\//);
    assert.equal((await raw(s.url, '/sub/inner.txt')).text, 'inner');
    assert.ok(existsSync(join(s.root, 'sublink')), 'the link itself stays');
  });
});

/**
 * The git backend stores a link as a blob (mode 120000) and never resolves it: a path through it is a
 * path through a file. Checked with a link committed into Alice's repository by git itself.
 */
describe('symbolic links (git backend)', function () {
  this.timeout(60_000);
  let s: TestServer;
  let work: string;
  before(async () => {
    s = await startTestServer({ backend: 'git', users: { alice: 'alice-secret', bob: 'bob-secret!' }, shares: [{ owner: 'alice', path: '/docs', grantee: 'bob', access: 'write' }] });
    for (const dir of ['/docs', '/private']) assert.equal((await raw(s.url, dir, { method: 'MKCOL', headers: ALICE })).status, 201);
    assert.equal((await raw(s.url, '/private/secret.txt', { method: 'PUT', body: SECRET, headers: ALICE })).status, 201);
    assert.equal((await raw(s.url, '/docs/plan.txt', { method: 'PUT', body: 'the plan', headers: ALICE })).status, 201);
    work = await mkdtemp(join(tmpdir(), 'gitdav-work-'));
    const git = (...args: string[]) => tool('git', ['-C', work, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);
    assert.equal((await tool('git', ['clone', '-q', join(s.root, 'users', 'alice'), work])).code, 0);
    await symlink('../private', join(work, 'docs', 'lnk'));
    await symlink('../private/secret.txt', join(work, 'docs', 'file-lnk.txt'));
    await git('add', '-A');
    await git('commit', '-qm', 'links');
    const pushed = await git('push', '-q', 'origin', 'HEAD');
    assert.equal(pushed.code, 0, pushed.stderr);
  });
  after(async () => {
    await s.close();
    await rm(work, { recursive: true, force: true });
  });

  it('Bob reaches nothing of /private through a committed link, by any method', async () => {
    const target = '/shared/alice/docs/lnk/secret.txt';
    refused(await raw(s.url, target, { headers: BOB }), 'GET');
    const link = await raw(s.url, '/shared/alice/docs/file-lnk.txt', { headers: BOB });
    assert.equal(link.status, 200, 'the pushed commit is what the server serves');
    assert.equal(link.text, '../private/secret.txt', 'a link is served as what it is (its target’s name), never its target');
    refused(await raw(s.url, '/shared/alice/docs/lnk/', { method: 'PROPFIND', body: propfindBody('getetag'), headers: { ...BOB, ...XML, Depth: '1' } }), 'PROPFIND');
    const list = await raw(s.url, '/shared/alice/docs/', { method: 'PROPFIND', body: propfindBody('getetag'), headers: { ...BOB, ...XML, Depth: 'infinity' } });
    assert.doesNotMatch(list.text, /secret\.txt/);
    for (const [method, headers] of [['PUT', {}], ['DELETE', {}], ['PROPPATCH', XML], ['LOCK', XML], ['MKCOL', {}], ['MOVE', { Destination: '/stolen.txt' }], ['COPY', { Destination: '/stolen.txt' }]] as const) {
      const body = method === 'PUT' ? 'overwritten' : method === 'PROPPATCH' ? PATCH : method === 'LOCK' ? lockBody() : undefined;
      const r = await raw(s.url, target, { method, body, headers: { ...BOB, ...headers } });
      assert.ok([403, 404, 405, 409].includes(r.status), `${method} → ${r.status} ${r.text}`);
    }
    assert.equal((await raw(s.url, '/private/secret.txt', { headers: ALICE })).text, SECRET);
    assert.equal((await raw(s.url, '/stolen.txt', { headers: BOB })).status, 404);
  });
});

describe('the symlinks configuration key', () => {
  it('defaults to follow-inside; takes refuse from a flag, the environment or the config file; refuses anything else', () => {
    assert.equal(loadConfig([], {}).symlinks, 'follow-inside');
    assert.equal(loadConfig(['--symlinks', 'refuse'], {}).symlinks, 'refuse');
    assert.equal(loadConfig([], { GITDAV_SYMLINKS: 'refuse' }).symlinks, 'refuse');
    assert.throws(() => loadConfig(['--symlinks', 'follow'], {}), (e: unknown) => e instanceof ConfigError && /follow-inside, refuse/.test(e.message));
  });
});

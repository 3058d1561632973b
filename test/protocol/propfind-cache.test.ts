/**
 * The Depth-1 PROPFIND members cache (lib/dav/listing-cache.ts) on the git backend: it is used (the
 * hit count grows), and the next PROPFIND after any change shows the change — writes through the
 * server, native commits and pushes, dead and volatile properties, locks, shares, other users — also
 * across two workers. The folder backend's cache (a version from every member's lstat) is tested in
 * ./propfind-cache-fs.test.ts.
 */
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { mkdtemp, rename, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GitBackend } from '../../backends/git/index.js';
import { cacheCounts } from '../../backends/util/stats.js';
import { writeShares } from '../../lib/auth/shares-file.js';
import { basic, lockBody, propfindBody, raw, startTestServer, XML, type TestServer } from '../helpers/server.js';
import { tool } from '../helpers/tools.js';
import { http, serveWorkers, stopAfterEach, workersThatServed, type Served } from '../workers/helpers.js';
import { listingProbe, PROPS, responses, writesShowIn } from '../helpers/listings.js';

const ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await tool('git', args, { cwd, env: ENV });
  assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

const counts = cacheCounts('propfind_members');

/** `/d/` listed twice: the second must be a cache hit with the same bytes (the cache is used). */
async function listTwice(url: string, body?: string, headers: Record<string, string> = {}): Promise<Map<string, string>> {
  const ask = () => raw(url, '/d/', { method: 'PROPFIND', headers: { ...XML, Depth: '1', ...headers }, body });
  const first = (await ask()).text;
  const hits = counts.hits;
  const second = (await ask()).text;
  assert.equal(counts.hits, hits + 1, 'the second listing is a cache hit');
  assert.equal(second, first);
  return responses(first);
}

const patchBody = (set: string) => `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z" xmlns:W="urn:schemas-microsoft-com:"><D:set><D:prop>${set}</D:prop></D:set></D:propertyupdate>`;

describe('PROPFIND Depth 1 members cache (git, one process)', function () {
  this.timeout(60_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: 'git' });
    await raw(s.url, '/d', { method: 'MKCOL' });
    for (const n of ['a.txt', 'b.txt']) await raw(s.url, `/d/${n}`, { method: 'PUT', body: n });
  });
  after(() => s.close());

  const allprop = () => listTwice(s.url);
  const props = () => listTwice(s.url, PROPS);

  it('replays listings, and each request form has its own answer', async () => {
    const p = await props();
    assert.match(p.get('/d/a.txt')!, /<D:getcontentlength>5<\/D:getcontentlength>/);
    assert.doesNotMatch(p.get('/d/a.txt')!, /supportedlock/);
    assert.match((await allprop()).get('/d/a.txt')!, /supportedlock/);
    const withMissing = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:z"><D:prop><D:getetag/><Z:nope/></D:prop></D:propfind>`;
    const brief = await listTwice(s.url, withMissing, { Brief: 't' });
    assert.doesNotMatch(brief.get('/d/a.txt')!, /404/);
    const full = await listTwice(s.url, withMissing);
    assert.match(full.get('/d/a.txt')!, /404/);
    // Order of the names is the order of the answer.
    const reversed = await listTwice(s.url, propfindBody('getcontentlength', 'getetag'));
    assert.match(reversed.get('/d/a.txt')!, /getcontentlength>.*getetag>/s);
    assert.match((await listTwice(s.url, propfindBody('getetag', 'getcontentlength'))).get('/d/a.txt')!, /getetag>.*getcontentlength>/s);
  });

  it('the next listing shows PUT, DELETE, MOVE, COPY and MKCOL', async () => {
    await props();
    await writesShowIn(s.url, props);
    await raw(s.url, '/d/sub', { method: 'MKCOL' });
    assert.match((await props()).get('/d/sub/')!, /<D:collection\/>/);
  });

  it('the next listing shows a dead property and a volatile (Win32) property', async () => {
    await allprop();
    assert.equal((await raw(s.url, '/d/a.txt', { method: 'PROPPATCH', headers: XML, body: patchBody('<Z:color>red</Z:color>') })).status, 207);
    assert.match((await allprop()).get('/d/a.txt')!, /<color xmlns="urn:z">red<\/color>/);
    const win = patchBody('<W:Win32LastAccessTime>Mon, 07 Dec 2026 01:02:03 GMT</W:Win32LastAccessTime>');
    assert.equal((await raw(s.url, '/d/b.txt', { method: 'PROPPATCH', headers: XML, body: win })).status, 207);
    assert.match((await allprop()).get('/d/b.txt')!, /Win32LastAccessTime[^>]*>Mon, 07 Dec 2026 01:02:03 GMT</);
    const win2 = patchBody('<W:Win32LastAccessTime>Tue, 08 Dec 2026 01:02:03 GMT</W:Win32LastAccessTime>');
    await raw(s.url, '/d/b.txt', { method: 'PROPPATCH', headers: XML, body: win2 });
    assert.match((await allprop()).get('/d/b.txt')!, /Tue, 08 Dec 2026/);
  });

  it('no cache while a lock is in or over the folder; lockdiscovery follows LOCK and UNLOCK', async () => {
    const body = propfindBody('lockdiscovery', 'getetag');
    const ask = async () => responses((await raw(s.url, '/d/', { method: 'PROPFIND', headers: { ...XML, Depth: '1' }, body })).text);
    await listTwice(s.url, body);
    const member = await raw(s.url, '/d/a.txt', { method: 'LOCK', headers: { ...XML, Timeout: 'Second-600' }, body: lockBody() });
    assert.equal(member.status, 200);
    const hits = counts.hits;
    assert.match((await ask()).get('/d/a.txt')!, /<D:activelock>/);
    assert.match((await ask()).get('/d/a.txt')!, /<D:activelock>/);
    assert.equal(counts.hits, hits, 'no hit while a member is locked');
    await raw(s.url, '/d/a.txt', { method: 'UNLOCK', headers: { 'Lock-Token': member.headers['lock-token'] as string } });
    assert.match((await listTwice(s.url, body)).get('/d/a.txt')!, /<D:lockdiscovery\/>/);
    const folder = await raw(s.url, '/d/', { method: 'LOCK', headers: { ...XML, Depth: 'infinity' }, body: lockBody() });
    assert.equal(folder.status, 200);
    for (const v of (await ask()).values()) assert.match(v, /<D:activelock>/);
    await raw(s.url, '/d/', { method: 'UNLOCK', headers: { 'Lock-Token': folder.headers['lock-token'] as string } });
    for (const v of (await listTwice(s.url, body)).values()) assert.doesNotMatch(v, /activelock/);
  });

  it('the next listing shows a native commit and a native push; dates follow history', async () => {
    const root = s.root;
    const before = await props();
    // A commit made with git itself, straight into the served repository (no clone).
    const work = await mkdtemp(join(tmpdir(), 'gitdav-pfc-'));
    try {
      const gitdir = (await git(root, 'rev-parse', '--absolute-git-dir')) || root;
      const g = (...args: string[]) => git(work, `--git-dir=${gitdir}`, `--work-tree=${work}`, ...args);
      await g('read-tree', 'HEAD');
      await g('checkout-index', '-a');
      await writeFile(join(work, 'd', 'native.txt'), 'native!');
      await writeFile(join(work, 'other.txt'), 'elsewhere');
      await g('add', 'd/native.txt', 'other.txt');
      await g('commit', '-qm', 'native commit');
      const after = await props();
      assert.match(after.get('/d/native.txt')!, /<D:getcontentlength>7</);
      // Members that did not change keep their dates and etags (the key changed with the commit anyway).
      assert.equal(after.get('/d/a.txt'), before.get('/d/a.txt'));
      // A push from a clone.
      const clone = join(work, 'clone');
      await git(work, 'clone', '-q', gitdir, clone);
      await writeFile(join(clone, 'd', 'a.txt'), 'pushed content');
      await git(clone, 'commit', '-qam', 'pushed');
      await git(clone, 'push', '-q', 'origin', 'HEAD:main');
      const pushed = await props();
      assert.match(pushed.get('/d/a.txt')!, /<D:getcontentlength>14</);
      assert.notEqual(pushed.get('/d/a.txt'), after.get('/d/a.txt'));
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('a listing with an unreadable member (a placeholder entry) is never kept', async () => {
    const work = await mkdtemp(join(tmpdir(), 'gitdav-pfc-'));
    try {
      const gitdir = (await git(s.root, 'rev-parse', '--absolute-git-dir')) || s.root;
      const g = (...args: string[]) => git(work, `--git-dir=${gitdir}`, `--work-tree=${work}`, ...args);
      await g('read-tree', 'HEAD');
      await g('checkout-index', '-a');
      await writeFile(join(work, 'd', 'n.txt'), 'nnnnnn7'); // a blob no listing has sized yet
      await g('add', 'd/n.txt');
      await g('commit', '-qm', 'native commit of d/n.txt');
      const oid = await g('rev-parse', 'HEAD:d/n.txt');
      const object = join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
      await rename(object, `${object}.away`);
      const ask = async () => responses((await raw(s.url, '/d/', { method: 'PROPFIND', headers: { ...XML, Depth: '1' }, body: PROPS })).text);
      const hits = counts.hits;
      assert.match((await ask()).get('/d/n.txt')!, /<D:getcontentlength>0</);
      assert.match((await ask()).get('/d/n.txt')!, /<D:getcontentlength>0</);
      assert.equal(counts.hits, hits, 'a listing with a made-up entry is not stored');
      await rename(`${object}.away`, object);
      assert.match((await props()).get('/d/n.txt')!, /<D:getcontentlength>7</);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});

describe('PROPFIND Depth 1 members cache (git, one process, real 2 s bursts: uncommitted records under every listing)', function () {
  this.timeout(60_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: 'git', git: { burstWindowMs: 2000 } });
    await raw(s.url, '/d', { method: 'MKCOL' });
    for (const n of ['a.txt', 'b.txt']) await raw(s.url, `/d/${n}`, { method: 'PUT', body: n });
  });
  after(() => s.close());

  const props = () => listTwice(s.url, PROPS);

  it('the next listing shows PUT, DELETE, MOVE and COPY while the burst is open', async () => {
    assert.ok((await props()).has('/d/a.txt'));
    await writesShowIn(s.url, props);
  });
});

describe('git listingVersion', function () {
  this.timeout(60_000);
  it('never repeats in a process: a branch rewound B → C → B gives B a new version', async () => {
    const root = await mkdtemp(join(tmpdir(), 'gitdav-pfv-'));
    try {
      const backend = await GitBackend.open({ root, burstWindowMs: 0 });
      await backend.write('/a.txt', Readable.from([Buffer.from('b')]));
      const b = (await backend.tip()).commit!;
      const atB = await backend.listingVersion();
      await backend.write('/a.txt', Readable.from([Buffer.from('cc')]));
      const atC = await backend.listingVersion();
      assert.notEqual(atC, atB);
      // What a miss would see if the branch were rewound while it listed C's members.
      await git(root, `--git-dir=${backend.gitdir}`, 'update-ref', backend.ref, b);
      assert.equal((await backend.tip()).commit, b);
      const again = await backend.listingVersion();
      assert.notEqual(again, atB, "C's listing must not pass the check made against B's version");
      assert.equal(await backend.listingVersion(), again, 'stable while the tip stays');
      await backend.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('PROPFIND Depth 1 members cache (git, users and shares)', function () {
  this.timeout(60_000);
  const ALICE = basic('alice', 'alice-secret');
  const BOB = basic('bob', 'bob-secret!');
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: 'git', users: { alice: 'alice-secret', bob: 'bob-secret!' } });
    for (const [who, auth] of [['alice', ALICE], ['bob', BOB]] as const) {
      await raw(s.url, '/d', { method: 'MKCOL', headers: auth });
      await raw(s.url, `/d/${who}.txt`, { method: 'PUT', body: who, headers: auth });
    }
    await raw(s.url, '/docs', { method: 'MKCOL', headers: ALICE });
    await raw(s.url, '/shared', { method: 'MKCOL', headers: BOB });
    await raw(s.url, '/shared/own.txt', { method: 'PUT', body: 'bob', headers: BOB });
  });
  after(() => s.close());

  const list = async (path: string, auth: Record<string, string>) =>
    responses((await raw(s.url, path, { method: 'PROPFIND', headers: { ...XML, ...auth, Depth: '1' }, body: PROPS })).text);

  it('each user sees their own answer', async () => {
    for (let i = 0; i < 2; i++) {
      const hits = counts.hits;
      const a = await list('/d/', ALICE);
      const b = await list('/d/', BOB);
      assert.deepEqual([...a.keys()].sort(), ['/d/', '/d/alice.txt']);
      assert.deepEqual([...b.keys()].sort(), ['/d/', '/d/bob.txt']);
      if (i === 1) assert.equal(counts.hits, hits + 2, 'both served from the cache the second time');
    }
  });

  it('a share granted and taken away shows in the grantee’s next listing', async () => {
    await list('/shared/', BOB);
    assert.deepEqual([...(await list('/shared/', BOB)).keys()].sort(), ['/shared/', '/shared/own.txt']);
    // The server notices the shares file by its stat, within a second (as test/security/sharing.test.ts waits).
    const settle = () => new Promise((r) => setTimeout(r, 1100));
    await writeShares(s.root, [{ owner: 'alice', path: '/docs', grantee: 'bob', access: 'read' }]);
    await settle();
    assert.ok((await list('/shared/', BOB)).has('/shared/alice/'));
    await writeShares(s.root, []);
    await settle();
    assert.deepEqual([...(await list('/shared/', BOB)).keys()].sort(), ['/shared/', '/shared/own.txt']);
    await list('/shared/', BOB);
    assert.deepEqual([...(await list('/shared/', BOB)).keys()].sort(), ['/shared/', '/shared/own.txt']);
  });
});

describe('PROPFIND Depth 1 members cache across workers (git, --workers 2)', function () {
  this.timeout(120_000);
  let s: Served | undefined;
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'gitdav-pfcw-'))));
  after(() => rm(dir, { recursive: true, force: true }));
  stopAfterEach(
    () => s,
    () => (s = undefined),
  );

  it('a change through one connection shows in every worker’s next listing', async () => {
    const root = join(dir, 'served');
    await mkdir(root, { recursive: true });
    s = await serveWorkers(['--backend', 'git', '--root', root, '--workers', '2', '--no-caldav', '--log-level', 'info']);
    const url = s.url;
    const fresh = () => new Agent({ keepAlive: false });
    const { send, everywhere } = listingProbe(url);
    await send('/d', 'MKCOL');
    await send('/d/a.txt', 'PUT', 'a');
    await everywhere((r) => assert.match(r.get('/d/a.txt')!, /<D:getcontentlength>1</), 'after the first PUT');
    await send('/d/a.txt', 'PUT', 'aaaa');
    await everywhere((r) => assert.match(r.get('/d/a.txt')!, /<D:getcontentlength>4</), 'after a second PUT');
    await send('/d/b.txt', 'PUT', 'b');
    await everywhere((r) => assert.ok(r.has('/d/b.txt')), 'after a new file');
    await send('/d/b.txt', 'DELETE');
    await everywhere((r) => assert.ok(!r.has('/d/b.txt')), 'after a DELETE');
    const lock = await send('/d/a.txt', 'LOCK', lockBody(), { ...XML, Timeout: 'Second-600' });
    const withLocks = (want: RegExp, what: string) => everywhere((r) => assert.match(r.get('/d/a.txt')!, want), what, propfindBody('lockdiscovery'));
    await withLocks(/<D:activelock>/, 'after LOCK');
    await send('/d/a.txt', 'UNLOCK', undefined, { 'Lock-Token': lock.headers['lock-token'] as string });
    await withLocks(/<D:lockdiscovery\/>/, 'after UNLOCK');
    await send('/d/a.txt', 'PROPPATCH', patchBody('<Z:color>blue</Z:color>'), XML);
    for (let i = 0; i < 8; i++) {
      const r = await http(url, '/d/', { method: 'PROPFIND', headers: { Depth: '1' }, agent: fresh() });
      assert.match(responses(r.body.toString()).get('/d/a.txt')!, /blue/, `after PROPPATCH, listing ${i}`);
    }
    await new Promise((r) => setTimeout(r, 200)); // the log lines of the last requests
    assert.equal(workersThatServed(s.records()).size, 2, 'both workers answered');
  });
});

/**
 * The Depth-1 PROPFIND members cache (lib/dav/listing-cache.ts) on the folder backend, whose listing
 * version is a hash of every member's lstat (backends/fs/listing.ts): it is used (the hit count grows),
 * and the next PROPFIND after any change shows it — writes through the server, files added, deleted
 * and rewritten in place straight in the folder (the same size, even with the old mtime put back),
 * dead properties, locks — also across two workers. Listings it cannot key (a symbolic link among the
 * members; allprop where a member is a folder, whose quota is the disk's) are never served from it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { connect } from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir, stat, symlink, unlink, open, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheCounts } from '../../backends/util/stats.js';
import { FsBackend } from '../../backends/fs/index.js';
import { fillWait } from '../../lib/dav/listing-cache.js';
import { lockBody, propfindBody, raw, startTestServer, XML, type TestServer } from '../helpers/server.js';
import { serveWorkers, stopAfterEach, workersThatServed, type Served } from '../workers/helpers.js';
import { listingProbe, PROPS, responses, writesShowIn } from '../helpers/listings.js';

const counts = cacheCounts('propfind_members');

const patchBody = (set: string) => `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop>${set}</D:prop></D:set></D:propertyupdate>`;

/** Rewrites a file in place (same inode), keeping its size. */
async function rewriteInPlace(file: string, text: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.write(text, 0);
  } finally {
    await fh.close();
  }
}

describe('PROPFIND Depth 1 members cache (fs, one process)', function () {
  this.timeout(60_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: 'fs' });
    await raw(s.url, '/d', { method: 'MKCOL' });
    for (const n of ['a.txt', 'b.txt']) await raw(s.url, `/d/${n}`, { method: 'PUT', body: n });
  });
  after(() => s.close());

  const ask = async (body?: string, path = '/d/') => (await raw(s.url, path, { method: 'PROPFIND', headers: { ...XML, Depth: '1' }, body })).text;
  /** A listing, asked twice: the second must be a cache hit with the same bytes (the cache is used). */
  const listTwice = async (body?: string, path = '/d/') => {
    const first = await ask(body, path);
    const hits = counts.hits;
    const second = await ask(body, path);
    assert.equal(counts.hits, hits + 1, 'the second listing is a cache hit');
    assert.equal(second.replace(/quota-[a-z]+-bytes>\d+/g, ''), first.replace(/quota-[a-z]+-bytes>\d+/g, ''));
    return responses(first);
  };
  const props = () => listTwice(PROPS);

  it('replays listings: props and allprop', async () => {
    assert.match((await props()).get('/d/a.txt')!, /<D:getcontentlength>5<\/D:getcontentlength>/);
    assert.match((await listTwice()).get('/d/a.txt')!, /supportedlock/);
  });

  it('the next listing shows PUT, DELETE, MOVE, COPY and a dead property', async () => {
    await props();
    await writesShowIn(s.url, props);
    await listTwice();
    assert.equal((await raw(s.url, '/d/a.txt', { method: 'PROPPATCH', headers: XML, body: patchBody('<Z:color>red</Z:color>') })).status, 207);
    assert.match((await listTwice()).get('/d/a.txt')!, /<color xmlns="urn:z">red<\/color>/);
  });

  it('the next listing shows files added, deleted and rewritten in place straight in the folder', async () => {
    const dir = join(s.root, 'd');
    await props();
    await writeFile(join(dir, 'direct.txt'), 'direct');
    assert.match((await props()).get('/d/direct.txt')!, /<D:getcontentlength>6</);
    const before = (await props()).get('/d/direct.txt')!;
    // In place, the same size: only the member's own stat changes (not the folder's mtime).
    await new Promise((r) => setTimeout(r, 20));
    await rewriteInPlace(join(dir, 'direct.txt'), 'DIRECT');
    const after = (await props()).get('/d/direct.txt')!;
    assert.notEqual(after, before, 'the ETag and date of a file rewritten in place show');
    // Rewritten again with its old mtime put back: the answer's bytes would be the same, yet the
    // ctime moved, so the version is new and the listing is made again (a miss, not a hit).
    // touch -r copies the times to the nanosecond (utimes from JS would round them to a microsecond).
    const ref = join(s.root, 'times-ref');
    execFileSync('touch', ['-r', join(dir, 'direct.txt'), ref]);
    await rewriteInPlace(join(dir, 'direct.txt'), 'direct');
    execFileSync('touch', ['-r', ref, join(dir, 'direct.txt')]);
    const st = await stat(join(dir, 'direct.txt'), { bigint: true });
    assert.equal(st.mtimeNs, (await stat(ref, { bigint: true })).mtimeNs, 'the old mtime is back');
    const hits = counts.hits;
    await ask(PROPS);
    assert.equal(counts.hits, hits, 'a changed ctime is a new version');
    await unlink(join(dir, 'direct.txt'));
    assert.ok(!(await props()).has('/d/direct.txt'));
  });

  it('no cache while a lock is in the folder; lockdiscovery follows LOCK and UNLOCK', async () => {
    const body = propfindBody('lockdiscovery', 'getetag');
    await listTwice(body);
    const member = await raw(s.url, '/d/a.txt', { method: 'LOCK', headers: { ...XML, Timeout: 'Second-600' }, body: lockBody() });
    assert.equal(member.status, 200);
    const hits = counts.hits;
    assert.match(responses(await ask(body)).get('/d/a.txt')!, /<D:activelock>/);
    assert.match(responses(await ask(body)).get('/d/a.txt')!, /<D:activelock>/);
    assert.equal(counts.hits, hits, 'no hit while a member is locked');
    await raw(s.url, '/d/a.txt', { method: 'UNLOCK', headers: { 'Lock-Token': member.headers['lock-token'] as string } });
    assert.match((await listTwice(body)).get('/d/a.txt')!, /<D:lockdiscovery\/>/);
  });

  /**
   * Counts the passes over `path`'s members (the backend's list, listVersioned and listingVersion;
   * the server runs in this process); `gate` holds the first listing (list or listVersioned).
   */
  function countPasses(path: string, gate?: Promise<void>) {
    const proto = FsBackend.prototype;
    const { list, listVersioned, listingVersion } = proto;
    const n = { list: 0, listVersioned: 0, listingVersion: 0 };
    let held = false;
    const hold = async () => {
      if (gate && !held) {
        held = true;
        await gate;
      }
    };
    proto.list = async function* (this: FsBackend, at: string) {
      if (at === path) {
        n.list++;
        await hold();
      }
      yield* list.call(this, at);
    };
    proto.listVersioned = async function (this: FsBackend, at: string, options?: { maxMembers?: number }) {
      if (at === path) {
        n.listVersioned++;
        await hold();
      }
      return listVersioned.call(this, at, options);
    };
    proto.listingVersion = function (this: FsBackend, at: string, options?: { maxMembers?: number }) {
      if (at === path) n.listingVersion++;
      return listingVersion.call(this, at, options);
    };
    const restore = () => Object.assign(proto, { list, listVersioned, listingVersion });
    return { n, restore };
  }

  it('a miss costs two passes over the members (version, then one pass listing at a version); a hit one', async () => {
    await raw(s.url, '/two', { method: 'MKCOL' });
    for (let i = 0; i < 5; i++) await writeFile(join(s.root, 'two', `pass-${i}.txt`), 'x');
    // Every lstat of a member, however it is named (through /proc/self/fd/N/ too), is counted.
    let lstats = 0;
    const lstatSync = fs.lstatSync;
    const writable = fs as { lstatSync: typeof fs.lstatSync };
    writable.lstatSync = ((p: string, o?: object) => {
      if (/\/pass-\d\.txt$/.test(String(p))) lstats++;
      return lstatSync(p, o as never);
    }) as typeof fs.lstatSync;
    syncBuiltinESMExports();
    const { n, restore } = countPasses('/two');
    try {
      const misses = counts.misses;
      await ask(PROPS, '/two/');
      assert.equal(counts.misses, misses + 1);
      assert.deepEqual(n, { list: 0, listVersioned: 1, listingVersion: 1 }, 'a miss');
      assert.equal(lstats, 10, 'a miss stats each member twice');
      const hits = counts.hits;
      await ask(PROPS, '/two/');
      assert.equal(counts.hits, hits + 1);
      assert.deepEqual(n, { list: 0, listVersioned: 1, listingVersion: 2 }, 'then a hit');
      assert.equal(lstats, 15, 'a hit stats each member once');
    } finally {
      restore();
      writable.lstatSync = lstatSync;
      syncBuiltinESMExports();
    }
  });

  it('concurrent misses of one folder make one listing, and all give the same answer', async () => {
    await raw(s.url, '/many', { method: 'MKCOL' });
    for (let i = 0; i < 40; i++) await writeFile(join(s.root, 'many', `f${i}.txt`), 'x'.repeat(i));
    // The first listing of /many/ is held until all eight requests have looked the cache up, so
    // the others meet its fill; listings are counted.
    let open!: () => void;
    const { n, restore } = countPasses('/many', new Promise<void>((r) => (open = r)));
    const wait = fillWait.ms;
    fillWait.ms = 600_000; // the hang detector is mocha's timeout, not this cap
    try {
      const misses = counts.misses;
      const asked = Promise.all(Array.from({ length: 8 }, () => ask(PROPS, '/many/')));
      while (counts.misses < misses + 8) await new Promise((r) => setTimeout(r, 10));
      open();
      const answers = await asked;
      assert.equal(n.list + n.listVersioned, 1, 'one listing for eight concurrent misses');
      for (const a of answers) assert.equal(a, answers[0]);
      assert.equal(responses(answers[0]!).size, 41);
    } finally {
      restore();
      fillWait.ms = wait;
    }
    await writeFile(join(s.root, 'many', 'f0.txt'), 'changed');
    const again = await Promise.all(Array.from({ length: 8 }, () => ask(PROPS, '/many/')));
    for (const a of again) assert.match(responses(a).get('/many/f0.txt')!, /<D:getcontentlength>7</);
  });

  it('a member folder’s own dead properties rewritten in place show in the parent’s next listing', async () => {
    await raw(s.url, '/p', { method: 'MKCOL' });
    await raw(s.url, '/p/sub', { method: 'MKCOL' });
    assert.equal((await raw(s.url, '/p/sub/', { method: 'PROPPATCH', headers: XML, body: patchBody('<Z:color>blu</Z:color>') })).status, 207);
    const color = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:z"><D:prop><Z:color/><D:getetag/></D:prop></D:propfind>`;
    assert.match((await listTwice(color, '/p/')).get('/p/sub/')!, />blu</);
    // In place: the same inode and size, so no stat of /p/sub itself changes.
    const file = join(s.root, 'p', 'sub', '.davprops');
    const text = await readFile(file, 'utf8');
    await new Promise((r) => setTimeout(r, 20));
    await rewriteInPlace(file, text.replace('blu', 'grn'));
    assert.match(responses(await ask(color, '/p/')).get('/p/sub/')!, />grn</);
    assert.match((await listTwice(color, '/p/')).get('/p/sub/')!, />grn</);
  });

  it('lists a folder of names that are not UTF-8 (as before: the names it cannot stat are left out)', async () => {
    const dir = join(s.root, 'latin');
    await mkdir(dir);
    // 110 Latin-1 names of 250 bytes: each 0xE9 decodes to U+FFFD, 3 bytes in UTF-8.
    for (let i = 0; i < 110; i++) await writeFile(Buffer.concat([Buffer.from(`${dir}/${String(i).padStart(3, '0')}`), Buffer.alloc(247, 0xe9)]), 'x');
    await writeFile(join(dir, 'ok.txt'), 'ok');
    const r = await raw(s.url, '/latin/', { method: 'PROPFIND', headers: { ...XML, Depth: '1' }, body: PROPS });
    assert.equal(r.status, 207);
    assert.match(r.text, /<\/D:multistatus>\s*$/, 'a complete multistatus');
    assert.match(responses(r.text).get('/latin/ok.txt')!, /<D:getcontentlength>2</);
    assert.match((await listTwice(PROPS, '/latin/')).get('/latin/ok.txt')!, /<D:getcontentlength>2</);
  });

  it('a client that never reads its listing holds up no other listing of that folder', async function () {
    // 300 files, each with a 64 KiB dead property: allprop is ~20 MB, far more than the socket
    // buffers take, so the server can never finish writing it to a client that does not read.
    const dir = join(s.root, 'stall');
    await mkdir(dir);
    const sidecar: Record<string, Record<string, string>> = {};
    for (let i = 0; i < 300; i++) {
      await writeFile(join(dir, `f${i}.txt`), 'x');
      sidecar[`f${i}.txt`] = { '{urn:z}big': `<big xmlns="urn:z">${'b'.repeat(65536)}</big>` };
    }
    await writeFile(join(dir, '.davprops'), JSON.stringify(sidecar));
    const url = new URL(s.url);
    const misses = counts.misses;
    const stalled = connect({ host: url.hostname, port: Number(url.port) });
    stalled.pause(); // never read: its socket buffers fill and the server's writes to it stall
    try {
      stalled.write(`PROPFIND /stall/ HTTP/1.1\r\nHost: x\r\nDepth: 1\r\nContent-Length: 0\r\n\r\n`);
      // Until its listing has begun (its cache lookup missed): the next one meets its fill.
      while (counts.misses === misses) await new Promise((r) => setTimeout(r, 10));
      for (let i = 0; i < 2; i++) {
        const r = await raw(s.url, '/stall/', { method: 'PROPFIND', headers: { Depth: '1' } });
        assert.equal(r.status, 207);
        assert.equal(responses(r.text).size, 301);
      }
    } finally {
      stalled.destroy();
    }
  });

  it('never replays allprop of a folder holding a folder (its quota), nor a folder holding a link', async () => {
    await raw(s.url, '/q', { method: 'MKCOL' });
    await raw(s.url, '/q/sub', { method: 'MKCOL' });
    await raw(s.url, '/q/x.txt', { method: 'PUT', body: 'x' });
    let hits = counts.hits;
    for (let i = 0; i < 3; i++) assert.match(responses(await ask(undefined, '/q/')).get('/q/sub/')!, /quota-available-bytes/);
    assert.equal(counts.hits, hits, 'allprop with a folder member: never from the cache');
    await listTwice(PROPS, '/q/'); // the bench's properties hold no quota: cached
    await symlink('x.txt', join(s.root, 'q', 'link.txt'));
    hits = counts.hits;
    for (let i = 0; i < 3; i++) assert.match(responses(await ask(PROPS, '/q/')).get('/q/link.txt')!, /<D:getcontentlength>1</);
    assert.equal(counts.hits, hits, 'a folder holding a link: never from the cache');
    await writeFile(join(s.root, 'q', 'x.txt'), 'xyz');
    assert.match(responses(await ask(PROPS, '/q/')).get('/q/link.txt')!, /<D:getcontentlength>3</, 'what the link leads to shows');
  });
});

describe('PROPFIND Depth 1 members cache across workers (fs, --workers 2)', function () {
  this.timeout(120_000);
  let s: Served | undefined;
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'gitdav-pfcwfs-'))));
  after(() => rm(dir, { recursive: true, force: true }));
  stopAfterEach(
    () => s,
    () => (s = undefined),
  );

  it('a change through the server or straight in the folder shows in every worker’s next listing', async () => {
    const root = join(dir, 'served');
    await mkdir(root, { recursive: true });
    s = await serveWorkers(['--backend', 'fs', '--root', root, '--workers', '2', '--no-caldav', '--log-level', 'info']);
    const { send, everywhere } = listingProbe(s.url);
    await send('/d', 'MKCOL');
    await send('/d/a.txt', 'PUT', 'a');
    await everywhere((r) => assert.match(r.get('/d/a.txt')!, /<D:getcontentlength>1</), 'after the first PUT');
    await send('/d/a.txt', 'PUT', 'aaaa');
    await everywhere((r) => assert.match(r.get('/d/a.txt')!, /<D:getcontentlength>4</), 'after a second PUT');
    await writeFile(join(root, 'd', 'b.txt'), 'bb');
    await everywhere((r) => assert.match(r.get('/d/b.txt')!, /<D:getcontentlength>2</), 'after a file made in the folder');
    const etag = (r: Map<string, string>) => /<D:getetag>([^<]*)</.exec(r.get('/d/b.txt')!)![1];
    let seen = '';
    await everywhere((r) => void (seen = etag(r)!), 'before the rewrite');
    await new Promise((r) => setTimeout(r, 20));
    await rewriteInPlace(join(root, 'd', 'b.txt'), 'BB');
    await everywhere((r) => assert.notEqual(etag(r), seen), 'after a rewrite in place with the same size');
    await unlink(join(root, 'd', 'b.txt'));
    await everywhere((r) => assert.ok(!r.has('/d/b.txt')), 'after a file deleted in the folder');
    const lock = await send('/d/a.txt', 'LOCK', lockBody(), { ...XML, Timeout: 'Second-600' });
    const body = propfindBody('lockdiscovery');
    await everywhere((r) => assert.match(r.get('/d/a.txt')!, /<D:activelock>/), 'after LOCK', body);
    await send('/d/a.txt', 'UNLOCK', undefined, { 'Lock-Token': lock.headers['lock-token'] as string });
    await everywhere((r) => assert.match(r.get('/d/a.txt')!, /<D:lockdiscovery\/>/), 'after UNLOCK', body);
    await send('/d/a.txt', 'PROPPATCH', patchBody('<Z:color>blue</Z:color>'), XML);
    await everywhere((r) => assert.match(r.get('/d/a.txt')!, /blue/), 'after PROPPATCH', null);
    await new Promise((r) => setTimeout(r, 200)); // the log lines of the last requests
    assert.equal(workersThatServed(s.records()).size, 2, 'both workers answered');
  });
});

/**
 * The git backend's read caches never serve a stale answer: the branch ref remembered by the ref
 * file's identity (backends/git/refs.ts) after native commits, pushes, `git gc` and `git pack-refs`;
 * the blob cache of inflated blobs (backends/git/blob-cache.ts) after writes and native commits, for
 * Range and Repr-Digest too, with a damaged file, under its byte bound, and when two fill one id.
 * And across workers: a server with `--workers 2`, changed natively and through either worker.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobCache } from '../backends/git/blob-cache.js';
import { ObjectStore } from '../backends/git/objects.js';
import { Refs } from '../backends/git/refs.js';
import { tool } from './helpers/tools.js';
import { ConfigError, loadConfig } from '../lib/config.js';
import { http, serveWorkers, stopAfterEach, type Served } from './workers/helpers.js';

const ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };

async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await tool('git', args, { cwd, env: ENV });
  assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Every cached file under a blob cache folder (its fan-out folders, not `pending`), with its size. */
async function cachedFiles(dir: string): Promise<{ oid: string; size: number }[]> {
  const out: { oid: string; size: number }[] = [];
  for (const fan of await readdir(dir).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{2}$/.test(fan)) continue;
    for (const name of await readdir(join(dir, fan))) out.push({ oid: fan + name, size: (await stat(join(dir, fan, name))).size });
  }
  return out;
}

describe('git read caches', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-read-cache-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  describe('the ref read by its file identity', () => {
    it('follows native commits and pushes, pack-refs --all, gc, and updates made back to back', async () => {
      const bare = join(dir, 'repo.git');
      const work = join(dir, 'work');
      await git(dir, 'init', '-q', '--bare', '-b', 'main', bare);
      await git(dir, 'clone', '-q', bare, work);
      const refs = new Refs(bare);
      const commit = async (n: number) => {
        await writeFile(join(work, 'f.txt'), `version ${n}\n`);
        await git(work, 'add', '.');
        await git(work, 'commit', '-qm', `v${n}`);
        await git(work, 'push', '-q', 'origin', 'HEAD:main');
        return git(work, 'rev-parse', 'HEAD');
      };
      assert.equal(await refs.read('refs/heads/main'), null);
      for (let n = 0; n < 3; n++) {
        const id = await commit(n);
        assert.equal(await refs.read('refs/heads/main'), id, `after push ${n}`);
        assert.equal(await refs.read('HEAD'), id);
      }
      // Read again unchanged: from the pinned file (one stat), and must still see changes.
      const last = await git(work, 'rev-parse', 'HEAD');
      assert.equal(await refs.read('refs/heads/main'), last);
      assert.equal(await refs.read('refs/heads/main'), last);
      await git(bare, 'pack-refs', '--all');
      assert.equal(existsSync(join(bare, 'refs', 'heads', 'main')), false, 'the loose ref is gone');
      assert.equal(await refs.read('refs/heads/main'), last, 'read from packed-refs');
      const afterPack = await commit(10);
      assert.equal(await refs.read('refs/heads/main'), afterPack, 'a loose ref again wins over packed-refs');
      assert.equal(await refs.read('refs/heads/main'), afterPack);
      await git(bare, 'gc', '-q');
      assert.equal(await refs.read('refs/heads/main'), afterPack, 'after gc');
      const afterGc = await commit(11);
      assert.equal(await refs.read('refs/heads/main'), afterGc, 'after gc and a push');
      // Back to back, as fast as a ref can move: each read sees the value just written (inode reuse in one tick).
      let head = afterGc;
      for (let i = 0; i < 40; i++) {
        const next = await git(work, 'commit-tree', '-p', head, '-m', `quick ${i}`, `${head}^{tree}`);
        assert.ok(await refs.compareAndSwap('refs/heads/main', head, next));
        assert.equal(await refs.read('refs/heads/main'), next, `quick update ${i}`);
        head = next;
      }
      refs.close();
    });
  });

  describe('the blob cache', () => {
    let work: string;
    let store: ObjectStore;
    const blob = async (content: Buffer) => {
      const oid = await store.writeBuffer('blob', content);
      return oid;
    };
    const cacheIn = (name: string, options = {}) => new BlobCache(join(dir, name, 'blob-cache'), () => join(dir, name, 'tmp'), options);
    beforeEach(async () => {
      work = join(dir, 'repo');
      await git(dir, 'init', '-q', '--bare', '-b', 'main', work);
      store = new ObjectStore(work);
      for (const n of ['a', 'b']) await mkdir(join(dir, n, 'tmp'), { recursive: true });
    });

    it('fills on a full read, then serves the file: whole, a range, and a damaged file as a miss', async () => {
      const cache = cacheIn('a', { minObjectBytes: 1 });
      store.blobCache = cache;
      await cache.ready(); // the folder is counted once before the first fill
      const content = randomBytes(300_000);
      const oid = await blob(content);
      const whole = async () => Buffer.concat(await (await store.readBlob(oid)).toArray());
      assert.deepEqual(await whole(), content);
      await cache.idle();
      const files = await cachedFiles(cache.dir);
      assert.deepEqual(files, [{ oid, size: content.length }]);
      const file = join(cache.dir, oid.slice(0, 2), oid.slice(2));
      // Served from the file: a file of the right length is trusted (content-addressed), so a marked one shows it.
      const marked = Buffer.alloc(content.length, 0x61);
      await writeFile(file, marked);
      assert.deepEqual(await whole(), marked, 'the whole blob came from the cache file');
      const part = Buffer.concat(await (await store.readBlob(oid, { start: 1000, end: 1999 })).toArray());
      assert.deepEqual(part, marked.subarray(1000, 2000), 'a range came from the cache file');
      // A short file is a miss: removed, the blob inflated, and written again by that full read.
      await truncate(file, 100);
      assert.deepEqual(await whole(), content);
      await cache.idle();
      assert.equal((await stat(file)).size, content.length, 'filled again');
      assert.deepEqual(await readFile(file), content);
      // A range read on a miss is served but does not fill.
      await rm(file);
      assert.deepEqual(Buffer.concat(await (await store.readBlob(oid, { start: 5, end: 9 })).toArray()), content.subarray(5, 10));
      await cache.idle();
      assert.equal(existsSync(file), false);
    });

    it('keeps under its byte bound, evicting the least recently used; skips blobs outside its size limits', async () => {
      const size = 20_000;
      const cache = cacheIn('a', { maxBytes: size * 5, minObjectBytes: 1000, maxObjectBytes: size * 1.5 });
      store.blobCache = cache;
      await cache.ready();
      const oids: string[] = [];
      for (let i = 0; i < 12; i++) oids.push(await blob(randomBytes(size)));
      const hot = oids[0]!;
      for (const oid of oids) {
        await (await store.readBlob(oid)).toArray();
        await (await store.readBlob(hot)).toArray(); // used after every other: never the least recent
        await cache.idle();
        const files = await cachedFiles(cache.dir);
        assert.ok(files.reduce((n, f) => n + f.size, 0) <= size * 5, `${files.length} files on disk`);
      }
      const left = (await cachedFiles(cache.dir)).map((f) => f.oid);
      assert.ok(left.includes(hot), 'the hot blob stayed');
      assert.ok(!left.includes(oids[1]!), 'an old cold one went');
      assert.deepEqual(cache.usage(), { bytes: left.length * size, files: left.length });
      // Too small, too large: inflated each time, never written.
      const tiny = await blob(randomBytes(500));
      const huge = await blob(randomBytes(size * 2));
      await (await store.readBlob(tiny)).toArray();
      await (await store.readBlob(huge)).toArray();
      await cache.idle();
      const after = (await cachedFiles(cache.dir)).map((f) => f.oid);
      assert.ok(!after.includes(tiny) && !after.includes(huge));
    });

    it('two caches on one folder (two workers) fill the same id at once; each counts the other’s files', async () => {
      const a = cacheIn('a', { minObjectBytes: 1 });
      const b = new BlobCache(a.dir, () => join(dir, 'b', 'tmp'), { minObjectBytes: 1 });
      const content = randomBytes(500_000);
      const storeB = new ObjectStore(work);
      store.blobCache = a;
      storeB.blobCache = b;
      await Promise.all([a.ready(), b.ready()]);
      const oid = await blob(content);
      const [x, y] = await Promise.all([store.readBlob(oid), storeB.readBlob(oid)]);
      const [bx, by] = await Promise.all([x.toArray(), y.toArray()]);
      assert.deepEqual(Buffer.concat(bx), content);
      assert.deepEqual(Buffer.concat(by), content);
      await Promise.all([a.idle(), b.idle()]);
      assert.deepEqual(await cachedFiles(a.dir), [{ oid, size: content.length }]);
      assert.deepEqual(await readFile(join(a.dir, oid.slice(0, 2), oid.slice(2))), content);
      assert.deepEqual(await readdir(join(dir, 'a', 'tmp')), [], 'no temp file left');
      assert.deepEqual(await readdir(join(dir, 'b', 'tmp')), []);
      // b fills another; a, trimming, scans the folder and counts it.
      const other = await blob(randomBytes(100_000));
      await (await storeB.readBlob(other)).toArray();
      await b.idle();
      await a.trim();
      assert.deepEqual(a.usage(), { bytes: content.length + 100_000, files: 2 });
    });

    it('four caches on one folder (four workers) keep it within 1.5 × the bound; none fills when free space is short', async () => {
      const max = 1024 * 1024;
      const caches = [0, 1, 2, 3].map((i) => new BlobCache(join(dir, 'shared'), () => join(dir, i % 2 ? 'b' : 'a', 'tmp'), { maxBytes: max, processes: 4 }));
      const stores = caches.map((c) => Object.assign(new ObjectStore(work), { blobCache: c }));
      const size = caches[0]!.maxObjectBytes; // 64 KiB: the largest blob a cache shared by four takes
      assert.equal(size, 64 * 1024);
      await Promise.all(caches.map((c) => c.ready()));
      let peak = 0;
      for (let round = 0; round < 40; round++) {
        const oids = await Promise.all(caches.map(() => blob(randomBytes(size))));
        await Promise.all(stores.map(async (s, i) => (await s.readBlob(oids[i]!)).toArray()));
        await Promise.all(caches.map((c) => c.idle()));
        const bytes = (await cachedFiles(join(dir, 'shared'))).reduce((n, f) => n + f.size, 0);
        peak = Math.max(peak, bytes);
        assert.ok(bytes <= 1.5 * max, `round ${round}: ${bytes} bytes on disk for a bound of ${max}`);
      }
      assert.ok(peak >= max / 2, `the cache was used (${peak} bytes at most)`);
      // Short of free space (a reserve larger than any disk): reads are served, nothing is written.
      const starved = new BlobCache(join(dir, 'starved'), () => join(dir, 'a', 'tmp'), { minObjectBytes: 1, reserveBytes: Number.MAX_SAFE_INTEGER });
      const s = Object.assign(new ObjectStore(work), { blobCache: starved });
      await starved.ready();
      const content = randomBytes(100_000);
      const oid = await blob(content);
      for (let i = 0; i < 3; i++) assert.deepEqual(Buffer.concat(await (await s.readBlob(oid)).toArray()), content);
      await starved.idle();
      assert.deepEqual(await cachedFiles(join(dir, 'starved')), []);
    });
  });

  it('the bound is configured by --blob-cache-bytes, GITDAV_BLOB_CACHE_BYTES or blobCacheBytes; 0 is off', () => {
    assert.equal(loadConfig([], {}).blobCacheBytes, undefined, "unset: the backend's default (1 GiB)");
    assert.equal(loadConfig(['--blob-cache-bytes', '0'], {}).blobCacheBytes, 0);
    assert.equal(loadConfig([], { GITDAV_BLOB_CACHE_BYTES: '1048576' }).blobCacheBytes, 1048576);
    for (const bad of ['-1', '1.5', 'lots']) assert.throws(() => loadConfig(['--blob-cache-bytes', bad], {}), ConfigError, bad);
    for (const bad of [' ', '0x10', '1e9', '+5']) assert.throws(() => loadConfig([], { GITDAV_BLOB_CACHE_BYTES: bad }), /whole number of bytes/, JSON.stringify(bad));
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ blobCacheBytes: true }));
    assert.throws(() => loadConfig(['--config', join(dir, 'c.json')], {}), /whole number of bytes/, 'true in a config file');
  });

  describe('a server with two workers', () => {
    let s: Served | undefined;
    stopAfterEach(
      () => s,
      () => (s = undefined),
    );

    it('never serves a stale blob or ref: after PUTs through either worker, native pushes, pack-refs and gc', async () => {
      const root = join(dir, 'served');
      s = await serveWorkers(['--backend', 'git', '--root', root, '--workers', '2', '--log-level', 'error']);
      const url = s.url;
      /** Several GETs, so both workers answer (each worker's caches are checked). */
      const expectEverywhere = async (path: string, want: Buffer, what: string) => {
        for (let i = 0; i < 8; i++) {
          const r = await http(url, path);
          assert.equal(r.status, 200, `${what}: GET ${path} → ${r.status}`);
          assert.ok(r.body.equals(want), `${what}: GET ${path} #${i} served other content (${r.body.length} bytes)`);
          const part = await http(url, path, { headers: { Range: 'bytes=100-199' } });
          assert.equal(part.status, 206);
          assert.ok(part.body.equals(want.subarray(100, 200)), `${what}: a range`);
          // The ETag is the blob id: a client holding the last version's gets the new bytes, not a 304.
          const etag = `"${createHash('sha1').update(`blob ${want.length}\0`).update(want).digest('hex')}"`;
          assert.equal((await http(url, path, { headers: { 'If-None-Match': etag } })).status, 304, `${what}: If-None-Match, current`);
          const stale = previous === etag ? null : await http(url, path, { headers: { 'If-None-Match': previous } });
          assert.ok(!stale || (stale.status === 200 && stale.body.equals(want)), `${what}: If-None-Match, the last version's ETag → ${stale?.status}`);
          const digest = await http(url, path, { method: 'HEAD', headers: { 'Want-Repr-Digest': 'sha-256=1' } });
          assert.equal(digest.headers['repr-digest'], `sha-256=:${createHash('sha256').update(want).digest('base64')}:`, `${what}: Repr-Digest`);
        }
        previous = `"${createHash('sha1').update(`blob ${want.length}\0`).update(want).digest('hex')}"`;
      };
      let previous = '"none"';
      let content = randomBytes(200_000);
      assert.equal((await http(url, '/f.bin', { method: 'PUT', body: content })).status, 201);
      await expectEverywhere('/f.bin', content, 'after the first PUT');
      for (let i = 0; i < 4; i++) {
        content = randomBytes(200_000 + i);
        assert.ok([201, 204].includes((await http(url, '/f.bin', { method: 'PUT', body: content })).status));
        await expectEverywhere('/f.bin', content, `after PUT ${i}`);
      }
      // Native: a clone, a commit, a push into the served repository while it runs.
      const work = join(dir, 'work');
      await git(dir, 'clone', '-q', root, work);
      const push = async (what: string) => {
        content = randomBytes(150_000);
        await writeFile(join(work, 'f.bin'), content);
        await git(work, 'add', 'f.bin');
        await git(work, 'commit', '-qm', what);
        await git(work, 'push', '-q', 'origin', 'HEAD:main');
      };
      await push('native 1');
      await expectEverywhere('/f.bin', content, 'after a native push');
      await expectEverywhere('/f.bin', content, 'read again, unchanged');
      await git(root, 'pack-refs', '--all');
      await expectEverywhere('/f.bin', content, 'after pack-refs --all');
      await push('native 2');
      await expectEverywhere('/f.bin', content, 'after pack-refs and a push');
      await git(root, 'gc', '-q');
      await expectEverywhere('/f.bin', content, 'after gc');
      await push('native 3');
      await expectEverywhere('/f.bin', content, 'after gc and a push');
      content = randomBytes(180_000);
      assert.equal((await http(url, '/f.bin', { method: 'PUT', body: content })).status, 204);
      await expectEverywhere('/f.bin', content, 'a PUT after the native changes');
      // The cache holds the blobs read, under the repository's state folder, whole.
      const files = await cachedFiles(join(root, 'gitdav', 'blob-cache'));
      assert.ok(files.length >= 3, `${files.length} cached blobs`);
    });

    it('--blob-cache-bytes 0: blobs are inflated each time, nothing is written', async () => {
      const root = join(dir, 'off');
      s = await serveWorkers(['--backend', 'git', '--root', root, '--workers', '1', '--log-level', 'error', '--blob-cache-bytes', '0']);
      const content = randomBytes(100_000);
      assert.equal((await http(s.url, '/f.bin', { method: 'PUT', body: content })).status, 201);
      for (let i = 0; i < 3; i++) assert.ok((await http(s.url, '/f.bin')).body.equals(content));
      assert.deepEqual(await cachedFiles(join(root, 'gitdav', 'blob-cache')), []);
    });
  });
});

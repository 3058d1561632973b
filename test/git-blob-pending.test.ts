/**
 * The blob cache names a filled file before its response ends, and makes it durable afterwards under
 * a mark (backends/git/blob-pending.ts): a client (or another worker) asking again right after a
 * download is served from the file; a mark of an earlier boot (a power loss between the rename and the
 * fsync) gets the file it names removed before anything is served; marks are gone once fills settle.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobCache } from '../backends/git/blob-cache.js';
import { MARK_WAIT_MS, syncPath, type PendingMarks } from '../backends/git/blob-pending.js';
import { ObjectStore } from '../backends/git/objects.js';
import { FileBody } from '../backends/util/file-body.js';
import { tool } from './helpers/tools.js';

const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

describe('blob cache: named before the response ends, durable under a mark', function () {
  this.timeout(60_000);
  let dir: string;
  let repo: string;
  const cacheDir = () => join(dir, 'shared', 'blob-cache');
  const cacheIn = (tmp: string) => {
    const cache = new BlobCache(cacheDir(), () => join(dir, tmp), { minObjectBytes: 1 });
    // The real marks, waited for as long as they take (a loaded machine's fsync can pass the bound):
    // these tests are about the naming order; the bound has its own test.
    cache.steps.markWaitMs = 60_000;
    return cache;
  };
  const fileOf = (oid: string) => join(cacheDir(), oid.slice(0, 2), oid.slice(2));
  const marks = () => readdir(join(cacheDir(), 'pending', bootId));
  const injected = (code: string) => Object.assign(new Error(`injected ${code}`), { code });
  const readAll = async (store: ObjectStore, oid: string) => {
    const body = await store.readBlob(oid);
    return { fromFile: body instanceof FileBody, bytes: Buffer.concat(await body.toArray()) };
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-blob-pending-'));
    repo = join(dir, 'repo');
    assert.equal((await tool('git', ['init', '-q', '--bare', '-b', 'main', repo])).code, 0);
    for (const t of ['a', 'b']) await mkdir(join(dir, t), { recursive: true });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('a full read that ended is in place at once: the next read, in another process, is served from the file', async () => {
    const a = cacheIn('a');
    const b = cacheIn('b');
    const storeA = Object.assign(new ObjectStore(repo), { blobCache: a });
    const storeB = Object.assign(new ObjectStore(repo), { blobCache: b });
    await Promise.all([a.ready(), b.ready()]);
    for (let round = 0; round < 5; round++) {
      const content = randomBytes(2 * 1024 * 1024 + round);
      const oid = await storeA.writeBuffer('blob', content);
      const first = await storeA.readBlob(oid);
      assert.ok(!(first instanceof FileBody), 'a miss: inflated');
      assert.deepEqual(Buffer.concat(await first.toArray()), content);
      // No idle(): the body has ended, so the file must be there now.
      assert.equal(existsSync(fileOf(oid)), true, `round ${round}: named when the body ended`);
      const second = await storeB.readBlob(oid);
      assert.ok(second instanceof FileBody, `round ${round}: the other process reads the file`);
      assert.deepEqual(Buffer.concat(await second.toArray()), content);
    }
    await Promise.all([a.idle(), b.idle()]);
    assert.deepEqual(await readdir(join(cacheDir(), 'pending', bootId)), [], 'every mark removed once its file is durable');
    assert.deepEqual(await readdir(join(dir, 'a')), [], 'no temp file left');
  });

  it('at most 8 fills at once per process, however slow their clients: past them reads are served without filling', async () => {
    const a = cacheIn('a');
    const store = Object.assign(new ObjectStore(repo), { blobCache: a });
    await a.ready();
    // Larger than the pipes' buffers together, so an unread body holds its fill open.
    const contents = Array.from({ length: 10 }, (_, i) => randomBytes(2 * 1024 * 1024 + i));
    const oids = await Promise.all(contents.map((c) => store.writeBuffer('blob', c)));
    const bodies = [];
    for (const oid of oids) bodies.push(await store.readBlob(oid)); // nobody reads them yet: a slow client each
    assert.equal(a.fillsInFlight(), 8);
    const read = await Promise.all(bodies.map(async (b) => Buffer.concat(await b.toArray())));
    read.forEach((r, i) => assert.deepEqual(r, contents[i], `body ${i}`));
    await a.idle();
    assert.equal(a.fillsInFlight(), 0);
    const files = (await readdir(cacheDir())).filter((f) => /^[0-9a-f]{2}$/.test(f));
    let n = 0;
    for (const fan of files) n += (await readdir(join(cacheDir(), fan))).length;
    assert.equal(n, 8, 'the first 8 filled');
    for (const [i, oid] of oids.entries()) assert.deepEqual(Buffer.concat(await (await store.readBlob(oid)).toArray()), contents[i]);
    await a.idle();
  });

  it('a mark of an earlier boot: the file it names is removed before anything is served; this boot’s are left', async () => {
    const oldOid = 'ab'.repeat(20);
    const keptOid = 'cd'.repeat(20);
    const liveOid = 'ef'.repeat(20);
    for (const oid of [oldOid, keptOid, liveOid]) {
      await mkdir(join(cacheDir(), oid.slice(0, 2)), { recursive: true });
      await writeFile(fileOf(oid), Buffer.alloc(1000)); // zeros of the right length: what a power loss can leave
    }
    const earlier = join(cacheDir(), 'pending', '00000000-1111-2222-3333-444444444444');
    await mkdir(earlier, { recursive: true });
    await writeFile(join(earlier, `${oldOid}.0a0b0c0d`), '');
    await mkdir(join(cacheDir(), 'pending', bootId), { recursive: true });
    await writeFile(join(cacheDir(), 'pending', bootId, `${liveOid}.01020304`), ''); // a fill in flight now
    const cache = cacheIn('a');
    assert.equal(await cache.open(keptOid, 1000), null, 'nothing is served before the sweep');
    await cache.ready();
    assert.equal(existsSync(fileOf(oldOid)), false, 'the file an earlier boot left unsynced is gone');
    assert.equal(existsSync(earlier), false, 'and its marks');
    assert.equal(existsSync(fileOf(keptOid)), true, 'an unmarked file stays');
    assert.equal(existsSync(fileOf(liveOid)), true, 'this boot’s mark is a fill in flight: left');
    assert.equal(await cache.open(oldOid, 1000), null);
    const body = await cache.open(keptOid, 1000);
    assert.ok(body instanceof FileBody);
    body.destroy();
    assert.deepEqual(cache.usage(), { bytes: 2000, files: 2 });
  });

  it('a named file whose fsync fails (EIO) is removed, never served, and keeps its mark until it is gone', async () => {
    const a = cacheIn('a');
    const store = Object.assign(new ObjectStore(repo), { blobCache: a });
    await a.ready();
    const failed: string[] = [];
    a.steps.sync = async (path) => {
      if (!path.startsWith(cacheDir())) return syncPath(path);
      failed.push(path);
      throw injected('EIO');
    };
    const content = randomBytes(2 * 1024 * 1024);
    const oid = await store.writeBuffer('blob', content);
    assert.deepEqual(await readAll(store, oid), { fromFile: false, bytes: content });
    assert.equal(existsSync(fileOf(oid)), true, 'named before its fsync');
    await a.idle();
    assert.deepEqual(failed, [fileOf(oid)], 'its fsync was tried, and failed');
    assert.equal(existsSync(fileOf(oid)), false, 'removed');
    assert.deepEqual(await marks(), [], 'the mark goes once the file is gone');
    assert.deepEqual(a.usage(), { bytes: 0, files: 0 });
    // Served inflated (and filled again: that fsync fails too, and its file goes the same way).
    assert.deepEqual(await readAll(store, oid), { fromFile: false, bytes: content });
    await a.idle();
    assert.equal(existsSync(fileOf(oid)), false);
    // The removal fails too: the file is cut to no length (a miss for every process) and its mark stays.
    a.steps.remove = async () => {
      throw injected('EACCES');
    };
    assert.deepEqual(await readAll(store, oid), { fromFile: false, bytes: content });
    await a.idle();
    assert.equal(statSync(fileOf(oid)).size, 0, 'truncated');
    assert.equal((await marks()).length, 1, 'its mark stays for the next boot’s sweep');
    assert.deepEqual(await readAll(store, oid), { fromFile: false, bytes: content }, 'this process does not serve it');
    await a.idle();
    const b = cacheIn('b');
    await b.ready();
    assert.equal(await b.open(oid, content.length), null, 'nor does another');
  });

  it('a mark not durable in time does not hold the response: the file is named after its own fsync', async () => {
    const a = cacheIn('a');
    a.steps.markWaitMs = MARK_WAIT_MS;
    const store = Object.assign(new ObjectStore(repo), { blobCache: a });
    await a.ready();
    let cleared = 0;
    a.steps.mark = () => ({ ready: new Promise<boolean>(() => undefined), clear: async () => void cleared++ }); // a hung disk
    const content = randomBytes(2 * 1024 * 1024);
    const oid = await store.writeBuffer('blob', content);
    const synced: { path: string; named: boolean }[] = [];
    a.steps.sync = async (path) => {
      synced.push({ path, named: existsSync(fileOf(oid)) });
      return syncPath(path);
    };
    // Without the bound this read never ends (mocha's timeout says so).
    assert.deepEqual(await readAll(store, oid), { fromFile: false, bytes: content });
    await a.idle();
    assert.equal(synced.length, 1, 'one fsync');
    assert.ok(synced[0]!.path.startsWith(join(dir, 'a')), 'of the temp file');
    assert.equal(synced[0]!.named, false, 'before the file was named');
    assert.equal(existsSync(fileOf(oid)), true, 'named after it');
    assert.equal(cleared, 1, 'the mark is cleared');
    assert.deepEqual(await readAll(store, oid), { fromFile: true, bytes: content });
  });

  it('a pending/ that cannot be read is an error: nothing is served, and the sweep is tried again at most once per sweepRetryMs', async () => {
    const keptOid = 'cd'.repeat(20);
    await mkdir(join(cacheDir(), keptOid.slice(0, 2)), { recursive: true });
    await writeFile(fileOf(keptOid), Buffer.alloc(1000));
    await writeFile(join(cacheDir(), 'pending'), 'not a folder'); // its readdir fails (ENOTDIR), as EACCES or EIO would
    const cache = cacheIn('a');
    cache.steps.sweepRetryMs = Number.POSITIVE_INFINITY; // not again until the test says so
    const pending = (cache as unknown as { pending: PendingMarks }).pending;
    const sweep = pending.sweep.bind(pending);
    let sweeps = 0;
    pending.sweep = (pathOf) => (sweeps++, sweep(pathOf));
    await cache.ready();
    assert.equal(await cache.open(keptOid, 1000), null, 'not swept: nothing served');
    const store = Object.assign(new ObjectStore(repo), { blobCache: cache });
    const content = randomBytes(100_000);
    const oid = await store.writeBuffer('blob', content);
    for (let i = 0; i < 5; i++) assert.deepEqual(await readAll(store, oid), { fromFile: false, bytes: content }, 'served inflated, not filled');
    await cache.idle();
    assert.equal(sweeps, 1, 'not tried again on each cold read');
    await rm(join(cacheDir(), 'pending'));
    cache.steps.sweepRetryMs = 0; // the time to try again has come
    await cache.ready();
    assert.equal(sweeps, 2);
    const body = await cache.open(keptOid, 1000);
    assert.ok(body instanceof FileBody, 'swept: served');
    body.destroy();
  });

  it('a rename that fails, and a temp file that cannot be removed: reserved bytes are given back and the mark cleared', async () => {
    const a = cacheIn('a');
    const store = Object.assign(new ObjectStore(repo), { blobCache: a });
    await a.ready();
    const content = randomBytes(2 * 1024 * 1024);
    const oid = await store.writeBuffer('blob', content);
    await mkdir(join(fileOf(oid), 'x'), { recursive: true }); // a folder in its place: the rename fails (EISDIR)
    let removals = 0;
    a.steps.remove = async () => {
      removals++;
      throw injected('EBUSY');
    };
    assert.deepEqual(await readAll(store, oid), { fromFile: false, bytes: content });
    await a.idle();
    assert.ok(removals > 0, 'the temp file’s removal was tried');
    assert.equal((a as unknown as { reserved: number }).reserved, 0, 'reserved bytes given back');
    assert.deepEqual(await marks(), [], 'the mark cleared');
    assert.equal(a.fillsInFlight(), 0);
  });
});

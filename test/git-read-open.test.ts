/**
 * A git GET opens its target once (GitBackend.openRead, backends/git/read-open.ts): the tip read and
 * the path walked once for the entry, the body the blob that entry's ETag names (from the blob cache
 * or inflated), nothing held for a HEAD, a 304 or a 412, a cache file evicted while a body is open
 * still served whole; and over HTTP GET/HEAD/Range/If-None-Match answer as before, one openRead per
 * request, only multipart parts read by name.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GitBackend } from '../backends/git/index.js';
import { ObjectStore } from '../backends/git/objects.js';
import { openGitRepository, type GitRepository } from '../backends/git/repository.js';
import { raw, startTestServer, type TestServer } from './helpers/server.js';
import { openOn } from './helpers/steps.js';


async function readAll(body: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function content(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

const cacheFileOf = (root: string, oid: string) => join(root, 'gitdav', 'blob-cache', oid.slice(0, 2), oid.slice(2));
const oidOf = (etag: string) => etag.slice(1, -1);

describe('GitBackend.openRead: one look-up per GET, the body by blob id', function () {
  this.timeout(60_000);
  let root: string;
  let repo: GitRepository;
  const data = content(3 * 1024 * 1024 + 7, 7);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'git-read-open-'));
    repo = await openGitRepository({ root, burstWindowMs: 0, blobCache: { minObjectBytes: 1 } });
    await repo.write('/f.bin', Readable.from([data]));
  });
  after(async () => {
    await repo.close();
    await rm(root, { recursive: true, force: true });
  });

  it('gives the stat’s entry; the body whole or a range, from the cache file once filled; a HEAD-like use opens nothing', async () => {
    const first = (await repo.openRead('/f.bin'))!;
    assert.deepEqual(first.entry, await repo.stat('/f.bin'));
    assert.deepEqual(await readAll(await first.body()), data, 'inflated, and filled on the way');
    await repo.live.store.blobCache!.idle();
    const file = cacheFileOf(root, oidOf(first.entry.etag));
    const head = (await repo.openRead('/f.bin'))!;
    assert.equal(await openOn(file), 0, 'nothing is opened before body()');
    head.close();
    head.close();
    const opened = (await repo.openRead('/f.bin'))!;
    const body = await opened.body();
    assert.equal(await openOn(file), 1, 'the body is the cache file');
    assert.deepEqual(await readAll(body), data);
    assert.equal(await openOn(file), 0, 'closed at its end');
    await assert.rejects(opened.body(), /once/);
    const part = (await repo.openRead('/f.bin'))!;
    assert.deepEqual(await readAll(await part.body({ start: 4095, end: 8192 })), data.subarray(4095, 8193));
  });

  it('the body is the blob the entry names, even when the branch moved before body()', async () => {
    const opened = (await repo.openRead('/f.bin'))!;
    const next = content(200_000, 9);
    await repo.write('/f.bin', Readable.from([next]));
    assert.deepEqual(await readAll(await opened.body()), data, 'the bytes the ETag and length describe');
    const now = (await repo.openRead('/f.bin'))!;
    assert.notEqual(now.entry.etag, opened.entry.etag);
    assert.deepEqual(await readAll(await now.body()), next, 'a new look-up sees the new tip');
    await repo.write('/f.bin', Readable.from([data]));
  });

  it('a cache file evicted (unlinked) while a body holds it open: the whole body is still served', async () => {
    const opened = (await repo.openRead('/f.bin'))!;
    const file = cacheFileOf(root, oidOf(opened.entry.etag));
    await readAll(await (await repo.openRead('/f.bin'))!.body()); // filled, if the last test's write left it out
    await repo.live.store.blobCache!.idle();
    const body = await opened.body();
    const it = body[Symbol.asyncIterator]();
    const head = (await it.next()).value as Buffer;
    await unlink(file);
    const rest: Buffer[] = [head];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value as Buffer);
    assert.deepEqual(Buffer.concat(rest), data);
    assert.equal(await openOn(file), 0);
    // The next read misses, inflates and fills again.
    assert.deepEqual(await readAll(await (await repo.openRead('/f.bin'))!.body()), data);
  });

  it('a folder: its entry and no body; nothing there, or a hidden name: null', async () => {
    const opened = (await repo.openRead('/'))!;
    assert.equal(opened.entry.kind, 'collection');
    await assert.rejects(opened.body(), (err: Error & { code?: string }) => err.code === 'IsACollection');
    assert.equal(await repo.openRead('/missing'), null);
    assert.equal(await repo.openRead('/f.bin/x'), null);
    assert.equal(await repo.live.openRead('/.davprops'), null);
  });
});

describe('git GET/HEAD over HTTP: one openRead per request, answers unchanged', function () {
  this.timeout(60_000);
  let s: TestServer;
  let etag: string;
  const data = content(2 * 1024 * 1024, 3);
  const calls = { openRead: 0, read: 0, readKnown: 0, readBlob: 0 };
  const proto = GitBackend.prototype;
  const storeProto = ObjectStore.prototype;
  const originals = { openRead: proto.openRead, read: proto.read, readBlob: storeProto.readBlob };

  before(async () => {
    s = await startTestServer({ backend: 'git' });
    assert.equal((await raw(s.url, '/big.bin', { method: 'PUT', body: data })).status, 201);
    etag = (await raw(s.url, '/big.bin', { method: 'HEAD' })).headers.etag as string;
    proto.openRead = function (this: GitBackend, ...a: Parameters<GitBackend['openRead']>) {
      calls.openRead++;
      return originals.openRead.apply(this, a);
    };
    proto.read = function (this: GitBackend, ...a: Parameters<GitBackend['read']>) {
      calls.read++;
      if (a[2]?.etag === etag) calls.readKnown++; // given the entry: read by its blob id
      return originals.read.apply(this, a);
    };
    storeProto.readBlob = function (this: ObjectStore, ...a: Parameters<ObjectStore['readBlob']>) {
      calls.readBlob++;
      return originals.readBlob.apply(this, a);
    };
  });
  after(async () => {
    Object.assign(proto, { openRead: originals.openRead, read: originals.read });
    storeProto.readBlob = originals.readBlob;
    await s.close();
  });

  const cases: [string, Record<string, string>, string, number, (b: Buffer) => Buffer, number][] = [
    ['GET', {}, 'GET', 200, (b) => b, 1],
    ['HEAD', {}, 'HEAD', 200, () => Buffer.alloc(0), 0],
    ['304', { 'If-None-Match': 'ETAG' }, 'GET', 304, () => Buffer.alloc(0), 0],
    ['If-None-Match: another ETag', { 'If-None-Match': '"0000000000000000000000000000000000000000"' }, 'GET', 200, (b) => b, 1],
    ['412', { 'If-Match': '"other"' }, 'GET', 412, () => Buffer.alloc(0), 0],
    ['a range', { Range: 'bytes=10-20' }, 'GET', 206, (b) => b.subarray(10, 21), 1],
    ['two ranges', { Range: 'bytes=0-1,100-200' }, 'GET', 206, () => Buffer.alloc(0), 2],
    ['a range with If-Range not matching', { Range: 'bytes=0-1', 'If-Range': '"old"' }, 'GET', 200, (b) => b, 1],
  ];
  for (const [name, headers, method, status, want, blobReads] of cases) {
    it(`${name}: ${status}, one openRead, ${blobReads} blob read(s)`, async () => {
      calls.openRead = calls.read = calls.readKnown = calls.readBlob = 0;
      const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v === 'ETAG' ? etag : v]));
      const r = await raw(s.url, '/big.bin', { method, headers: h });
      assert.equal(r.status, status);
      assert.equal(calls.openRead, 1);
      assert.equal(calls.readBlob, blobReads);
      assert.equal(calls.read, name === 'two ranges' ? 2 : 0, 'only multipart parts go through read()');
      assert.equal(calls.readKnown, calls.read, 'each with the entry, so by the blob its ETag names');
      if (status === 200 || status === 304) assert.equal(r.headers.etag, etag);
      if (status === 200) assert.equal(Number(r.headers['content-length']), data.length);
      if (name === 'two ranges') {
        assert.ok(r.body.includes(data.subarray(100, 201)) && /multipart\/byteranges/.test(String(r.headers['content-type'])));
      } else if (status !== 412) assert.deepEqual(r.body, want(data));
    });
  }

  it('Repr-Digest is of the blob the ETag names (read with the entry)', async () => {
    calls.read = calls.readKnown = 0;
    // sha-512: a PUT keeps the sha-256 of what it stored, so that one is never read back.
    const r = await raw(s.url, '/big.bin', { method: 'HEAD', headers: { 'Want-Repr-Digest': 'sha-512=1' } });
    assert.equal(r.headers['repr-digest'], `sha-512=:${createHash('sha512').update(data).digest('base64')}:`);
    assert.equal(calls.read, 1, 'hashed once');
    assert.equal(calls.readKnown, 1);
  });

  it('after a PUT: GET, HEAD and If-None-Match with the old ETag answer for the new content', async () => {
    const next = content(1024 * 1024 + 1, 5);
    assert.equal((await raw(s.url, '/big.bin', { method: 'PUT', body: next })).status, 204);
    const head = await raw(s.url, '/big.bin', { method: 'HEAD' });
    assert.notEqual(head.headers.etag, etag);
    assert.equal(Number(head.headers['content-length']), next.length);
    const again = await raw(s.url, '/big.bin', { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, next);
    assert.equal((await raw(s.url, '/big.bin', { headers: { 'If-None-Match': head.headers.etag as string } })).status, 304);
    assert.deepEqual((await raw(s.url, '/big.bin', { headers: { Range: 'bytes=1048576-' } })).body, next.subarray(1048576));
  });
});

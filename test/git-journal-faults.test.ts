/**
 * The write journal's file (backends/git/journal/journal.ts) when things go wrong or run long: a full
 * disk at start, seqs that must stay above what the repository committed, a build that throws, an
 * append that fails part-way while another instance reads, torn tails longer than the next append,
 * and a rotation that keeps uncommitted records. Bounded by counts; no timing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FRAME_BYTES as FRAME, HEADER_BYTES, encodeRecords } from '../backends/git/journal/format.js';
import { Journal, journalFaults, ROTATE_PREFIX_BYTES, type JournalRead } from '../backends/git/journal/journal.js';
import type { JournalEntry, JournalRecord } from '../backends/git/journal/record.js';

import { entry, paths } from './helpers/journal-entries.js';
const seqs = (records: { seq: number }[]) => records.map((r) => r.seq);
/** What a caller holds after each read or transact: the records of the current file, in order. */
class Held {
  records: JournalRecord[] = [];
  take(r: Pick<JournalRead, 'records' | 'reset'>): this {
    if (r.reset) this.records = [];
    this.records.push(...r.records);
    return this;
  }
}
const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
/** A write that puts `keep` bytes of the batch in the file, lets `meanwhile` run, then fails like a full disk. */
const failPartWay = (keep: (bytes: Buffer) => number, meanwhile: () => Promise<void>) => async (bytes: Buffer, write: (part: Buffer) => Promise<void>) => {
  await write(bytes.subarray(0, keep(bytes)));
  await meanwhile();
  throw enospc();
};
const firstFrame = (bytes: Buffer) => 8 + bytes.readUInt32LE(0);
const append = (j: Journal, ...ps: string[]) => j.transact(async () => ({ entries: ps.map((p) => entry(p)), result: undefined }));

describe('the journal file, faults and long runs', function () {
  this.timeout(60_000);
  let stateDir: string;
  const open: Journal[] = [];
  const track = (j: Journal) => (open.push(j), j);
  const journal = async (floor?: number) => track(await Journal.open(stateDir, floor === undefined ? undefined : { floor }));
  /** What a new instance reads: the file's records. */
  const truth = async () => (await journal()).read();
  beforeEach(async () => {
    stateDir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-journal-'));
  });
  afterEach(async () => {
    for (const k of Object.keys(journalFaults)) delete journalFaults[k as keyof typeof journalFaults];
    for (const j of open.splice(0)) await j.close();
    await fsp.rm(stateDir, { recursive: true, force: true });
  });

  it('opens a journal that exists without writing anything (a full disk still starts)', async function () {
    await append(await journal(), '/1');
    const dir = join(stateDir, 'journal');
    try {
      execFileSync('chattr', ['+i', dir], { stdio: 'ignore' }); // nothing can be created in it (root included)
    } catch {
      this.skip(); // no chattr, or a file system without it
    }
    try {
      const j = await journal();
      assert.deepEqual(paths((await j.read()).records), ['/1']);
    } finally {
      execFileSync('chattr', ['-i', dir]);
    }
  });

  it('a fresh journal with a floor numbers from floor + 1', async () => {
    const a = await journal(7);
    assert.deepEqual(await a.read(), { records: [], reset: true, nextSeq: 8 });
    assert.deepEqual(seqs((await append(a, '/x', '/y')).records), [8, 9]);
    assert.deepEqual(seqs((await truth()).records), [8, 9]);
  });

  it('raiseFloor over existing records: the next transact starts a file above it, and readers reset', async () => {
    const a = await journal();
    const b = await journal();
    await append(a, '/1', '/2', '/3');
    await b.read();
    a.raiseFloor(5);
    const { records, result } = await a.transact(async (caughtUp) => ({ entries: [entry('/x')], result: caughtUp }));
    assert.deepEqual([result.reset, result.records, result.nextSeq], [true, [], 6]);
    assert.deepEqual(seqs(records), [6]);
    const next = await b.read();
    assert.deepEqual([next.reset, paths(next.records), seqs(next.records)], [true, ['/x'], [6]]);
    a.raiseFloor(2); // lower: no effect
    assert.deepEqual(seqs((await append(a, '/y')).records), [7]);
    assert.throws(() => a.raiseFloor(-1), RangeError);
  });

  it('a floor below the file changes nothing', async () => {
    const a = await journal();
    await append(a, '/1', '/2', '/3');
    const b = await journal(2);
    assert.deepEqual(seqs((await append(b, '/4')).records), [4]);
    assert.deepEqual(paths((await truth()).records), ['/1', '/2', '/3', '/4']);
  });

  it('a file with a bad header, or removed, is made again above the floor', async () => {
    const a = await journal();
    await append(a, '/1');
    await fsp.writeFile(a.file, 'this is not a journal, and quite long enough to hold a header');
    const b = await journal(10);
    assert.deepEqual((await b.read()).records, []);
    assert.deepEqual(seqs((await append(b, '/x')).records), [11]);
    assert.ok(readdirSync(b.dir).some((n) => n.startsWith('journal.log.corrupt-')));
    await fsp.rm(b.file);
    const c = await journal(20);
    assert.deepEqual(seqs((await append(c, '/y')).records), [21]);
    assert.deepEqual(paths((await truth()).records), ['/y']);
  });

  it('records handed to a build that throws come back from the next read', async () => {
    const a = await journal();
    const b = await journal();
    await append(a, '/1');
    await b.read();
    await append(a, '/2', '/3');
    let handed: string[] = [];
    await assert.rejects(b.transact(async (caughtUp) => {
      handed = paths(caughtUp.records);
      throw new Error('absorb failed');
    }), /absorb failed/);
    assert.deepEqual(handed, ['/2', '/3']);
    await append(a, '/4');
    const next = await b.read();
    assert.deepEqual([paths(next.records), next.reset], [['/2', '/3', '/4'], false]);
    // The same on a first read (a reset): it stays a reset.
    const c = await journal();
    await assert.rejects(c.transact(async () => {
      throw new Error('again');
    }));
    const first = await c.read();
    assert.deepEqual([paths(first.records), first.reset], [['/1', '/2', '/3', '/4'], true]);
  });

  it('an append that fails part-way after another instance read its first record: the file is replaced, and that reader resets', async () => {
    const a = await journal();
    const b = await journal();
    const bh = new Held();
    await append(a, '/1');
    bh.take(await b.read());
    journalFaults.write = failPartWay(firstFrame, async () => void bh.take(await b.read()));
    await assert.rejects(append(a, '/P', '/Q'), /ENOSPC/);
    delete journalFaults.write;
    assert.deepEqual(paths(bh.records), ['/1', '/P'], 'b read the whole first record of the failed batch');
    await append(a, '/3-a-longer-path', '/4');
    bh.take(await b.read());
    assert.deepEqual(paths(bh.records), ['/1', '/3-a-longer-path', '/4'], 'b dropped /P and follows the file');
    bh.take((await b.transact(async (caughtUp) => ({ entries: [entry('/5')], result: caughtUp }))).result);
    const all = await truth();
    assert.deepEqual([paths(all.records), seqs(all.records)], [['/1', '/3-a-longer-path', '/4', '/5'], [1, 2, 3, 4]]);
    assert.deepEqual(paths(bh.take({ records: [all.records[3]!], reset: false }).records), paths(all.records));
    assert.deepEqual(readdirSync(a.dir).sort(), ['journal.log'], 'no temp file left');
  });

  it('an append that fails and cannot rewrite the file (full disk) leaves its bytes: whole records stay, the rest is cut', async () => {
    const a = await journal();
    const b = await journal();
    const bh = new Held();
    await append(a, '/1');
    bh.take(await b.read());
    journalFaults.write = failPartWay((bytes) => firstFrame(bytes) + 5, async () => void bh.take(await b.read()));
    journalFaults.replace = async () => {
      throw enospc();
    };
    await assert.rejects(append(a, '/P', '/Q'), /ENOSPC/);
    delete journalFaults.write;
    const { records, result } = await a.transact(async (caughtUp) => ({ entries: [entry('/3-a-longer-path')], result: caughtUp }));
    assert.deepEqual([paths(result.records), seqs(records)], [['/P'], [3]], 'the whole record stays (indeterminate), the torn one is cut');
    bh.take(await b.read());
    const all = await truth();
    assert.deepEqual(paths(all.records), ['/1', '/P', '/3-a-longer-path']);
    assert.deepEqual(paths(bh.records), paths(all.records));
    assert.equal((await fsp.stat(a.file)).size, HEADER_BYTES + encodeRecords(all.records).length);
  });

  it('a holder whose offset no longer falls on a record (the bytes were rewritten) re-reads from the header before cutting', async () => {
    const a = await journal();
    const b = await journal();
    await append(a, '/1', '/2');
    await b.read();
    // What a writer that truncated in place would leave: record 2 replaced by a longer one, and a third.
    const one = HEADER_BYTES + encodeRecords([{ ...entry('/1'), seq: 1 }]).length;
    await fsp.truncate(a.file, one);
    await fsp.appendFile(a.file, encodeRecords([{ ...entry('/2-rewritten-longer'), seq: 2 }, { ...entry('/3'), seq: 3 }]));
    const { records, result } = await b.transact(async (caughtUp) => ({ entries: [entry('/4')], result: caughtUp }));
    assert.deepEqual([result.reset, paths(result.records), seqs(records)], [true, ['/1', '/2-rewritten-longer', '/3'], [4]]);
    assert.deepEqual(paths((await truth()).records), ['/1', '/2-rewritten-longer', '/3', '/4']);
  });

  it('a torn tail longer than the next append is cut, so none of its old records comes back', async () => {
    const a = await journal();
    await append(a, '/1');
    const dying = encodeRecords(['/dying-2', '/dying-3', '/dying-4'].map((p, i) => ({ ...entry(p), seq: i + 2 })));
    dying[FRAME + 3] ^= 0x20; // record 2's JSON no longer checks; records 3 and 4 are whole
    await fsp.appendFile(a.file, dying.subarray(0, dying.length - 1));
    const b = await journal();
    assert.deepEqual(paths((await b.read()).records), ['/1']);
    const { records } = await append(b, '/fresh-2'); // as long as /dying-2: record 3 would follow it
    assert.deepEqual(seqs(records), [2]);
    const all = await truth();
    assert.deepEqual(paths(all.records), ['/1', '/fresh-2']);
    assert.equal((await fsp.stat(a.file)).size, HEADER_BYTES + encodeRecords(all.records).length);
  });

  it('a read in the appending process does not wait for its fdatasync, and never returns its own records', async () => {
    const a = await journal();
    const b = await journal();
    await append(b, '/1');
    let during: JournalRead | 'blocked' | undefined;
    journalFaults.datasync = async () => {
      const turns = async () => {
        for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
        return 'blocked' as const;
      };
      during = await Promise.race([a.read(), turns()]);
    };
    const { records } = await append(a, '/2');
    assert.notEqual(during, 'blocked', 'the read waited for the fdatasync');
    assert.deepEqual((during as JournalRead).records, [], 'not its own record (/1 went to build)');
    assert.deepEqual(seqs(records), [2]);
    assert.deepEqual((await a.read()).records, []);
  });

  it("a dead writer's leftover bytes are read once, not on every read", async () => {
    const a = await journal();
    const b = await journal();
    await append(a, '/1');
    await fsp.appendFile(a.file, encodeRecords([{ ...entry('/dying'), seq: 2 }]).subarray(0, 30));
    const handle = await fsp.open(a.file, 'r');
    const proto = Object.getPrototypeOf(handle) as { read: (...args: unknown[]) => Promise<unknown> };
    await handle.close();
    const read = proto.read;
    let reads = 0;
    proto.read = function (this: unknown, ...args: unknown[]) {
      reads++;
      return read.apply(this, args);
    };
    try {
      assert.deepEqual(paths((await b.read()).records), ['/1']);
      const first = reads;
      for (let i = 0; i < 5; i++) assert.deepEqual((await b.read()).records, []);
      assert.equal(reads, first, 'the leftover was not read again');
    } finally {
      proto.read = read;
    }
    assert.deepEqual(seqs((await append(b, '/2')).records), [2]);
    assert.deepEqual(paths((await truth()).records), ['/1', '/2']);
  });

  it('rotate drops the committed records ahead of uncommitted ones: seqs unchanged, readers reset and read the kept ones', async () => {
    const a = await journal();
    const b = await journal();
    const bh = new Held();
    await append(a, '/1', '/2', '/3', '/4', '/5', '/6');
    bh.take(await b.read());
    assert.equal(await b.rotate(1), false, 'one of six: not worth it');
    assert.equal(await a.rotate(4), true, 'four of six: over half the file');
    const kept = encodeRecords(bh.records.slice(4));
    assert.equal((await fsp.stat(a.file)).size, HEADER_BYTES + kept.length);
    const next = await b.read();
    assert.equal(next.reset, true);
    assert.deepEqual([paths(bh.take(next).records), seqs(bh.records)], [['/5', '/6'], [5, 6]]);
    const own = await a.read();
    assert.deepEqual([own.reset, paths(own.records)], [true, ['/5', '/6']]);
    assert.deepEqual(seqs((await append(b, '/7')).records), [7]);
    assert.deepEqual(paths((await truth()).records), ['/5', '/6', '/7']);
    assert.equal(await a.rotate(3), false, 'nothing at or below 3 is left');
    assert.deepEqual(readdirSync(a.dir).sort(), ['journal.log']);
  });

  it('rotate drops a committed part over ROTATE_PREFIX_BYTES even when it is under half the file', async () => {
    const a = await journal();
    const big = (n: number) => '/' + String(n).repeat(Math.ceil(ROTATE_PREFIX_BYTES / 3));
    await append(a, big(1), big(2)); // each path twice in its record: over 1 MiB together
    const prefix = (await fsp.stat(a.file)).size - HEADER_BYTES;
    await append(a, '/3', big(4), big(5), big(6));
    assert.ok(prefix > ROTATE_PREFIX_BYTES && prefix * 2 < (await fsp.stat(a.file)).size - HEADER_BYTES);
    assert.equal(await a.rotate(2), true);
    assert.deepEqual(seqs((await truth()).records), [3, 4, 5, 6]);
  });
});

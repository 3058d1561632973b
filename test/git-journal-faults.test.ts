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
import { HEADER_BYTES, encodeRecords } from '../backends/git/journal/format.js';
import { Journal } from '../backends/git/journal/journal.js';
import type { JournalEntry } from '../backends/git/journal/record.js';

const entry = (path: string, user = 'alice'): JournalEntry => ({
  time: 1_700_000_000_000,
  user,
  meta: { op: 'PUT', path },
  effects: [{ path, slot: { kind: 'file', mode: '100644', oid: 'b'.repeat(40) } }],
});
const paths = (records: { meta: { path: string } }[]) => records.map((r) => r.meta.path);
const seqs = (records: { seq: number }[]) => records.map((r) => r.seq);
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
});

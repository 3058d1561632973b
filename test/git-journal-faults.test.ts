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
  const journal = async (floor?: number) => track(await Journal.open(stateDir));
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
});

/**
 * Records another process appended, caught up by this process's own journal transaction: until its
 * build has shown them to the live state, a read made meanwhile must still get them. Before the fix
 * such a read found nothing new in the file (the transact had taken the records) and answered from a
 * view without another worker's acknowledged write: with 2 s bursts, two workers each accepted a
 * calendar object of one UID (test/workers/shared-state.test.ts). Deterministic: gates, no timing.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, type JournalRead } from '../backends/git/journal/journal.js';
import type { GitBackend } from '../backends/git/index.js';
import { entry } from './helpers/journal-entries.js';
import { body, journalRepos } from './helpers/journal-backends.js';

const append = (j: Journal, ...ps: string[]) => j.transact(async () => ({ entries: ps.map((p) => entry(p)), result: undefined }));
const write = (b: GitBackend, path: string, text: string) => b.write(path, body(text), { length: Buffer.byteLength(text) });
const seqs = (r: { records: readonly { seq: number }[] }) => r.records.map((x) => x.seq);

describe('git journal: records a transaction caught up reach a read made during its build', function () {
  this.timeout(60_000);
  const { open, removeAll } = journalRepos('gitdav-jhand-');
  after(removeAll);

  it('a read during the build gets them (once), a fresh file as a reset; none twice afterwards', async () => {
    const stateDir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-jhand-file-'));
    const a = await Journal.open(stateDir);
    const b = await Journal.open(stateDir);
    try {
      await append(a, '/one');
      // b has never read: its transact is handed the whole file as a reset, and so is a read meanwhile.
      await b.transact(async (caughtUp) => {
        assert.deepEqual([seqs(caughtUp), caughtUp.reset], [[1], true]);
        const during = await b.read();
        assert.deepEqual([seqs(during), during.reset], [[1], true], 'the read sees what the build holds');
        assert.deepEqual(seqs(await b.read()), [], 'once');
        return { entries: [], result: undefined };
      });
      await append(a, '/two', '/three');
      await b.transact(async (caughtUp) => {
        assert.deepEqual([seqs(caughtUp), caughtUp.reset], [[2, 3], false]);
        const during: JournalRead = await b.read();
        assert.deepEqual([seqs(during), during.reset], [[2, 3], false]);
        return { entries: [], result: undefined };
      });
      assert.deepEqual(seqs(await b.read()), [], 'after the build, nothing again');
    } finally {
      await a.close();
      await b.close();
      await fsp.rm(stateDir, { recursive: true, force: true });
    }
  });

  it("a stat while this process's write waits to absorb another process's record sees that record", async () => {
    const { root, b: one } = await open();
    const { b: two } = await open({}, root);
    await write(one, '/seed', 'seed');
    assert.equal(await one.stat('/y'), null);
    await write(two, '/y', 'y'); // acknowledged: durable in the journal
    // Hold one's writer between its catch-up (it takes /y's record from the journal) and the live state.
    let entered!: () => void;
    const inBuild = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const absorb = one.live.absorb.bind(one.live);
    one.live.absorb = async (read, appended) => {
      if (read.records.length) {
        entered();
        await gate;
      }
      return absorb(read, appended);
    };
    const put = write(one, '/z', 'z');
    await inBuild;
    try {
      assert.equal((await one.stat('/y'))?.kind, 'file', "another process's acknowledged write, seen while ours is being built");
    } finally {
      release();
      await put;
      one.live.absorb = absorb;
    }
    assert.equal((await one.stat('/z'))?.kind, 'file');
    await one.close();
    await two.close();
  });
});

/**
 * The journal's identity (docs/git-backend.md, "Writing"): trailers name the journal by id
 * (`Gitdav-Journal: <id> <seq>`), and the committed seq is max(the persisted `journal/committed` mark,
 * our own trailers over all parents). Records at or below it are never replayed, and our records are
 * never taken for committed on another journal's word, whatever the branch does: a foreign trailer
 * with a higher seq pushed on top, a rewind, a merge, 1,001 native commits on top.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Entry } from '../backends/backend.js';
import { BackendError } from '../backends/errors.js';
import { journalTrailer } from '../backends/git/committed-seq.js';
import { GitBackend } from '../backends/git/index.js';
import { raiseMark } from '../backends/git/journal/committed-mark.js';
import type { JournalRecord } from '../backends/git/journal/record.js';
import type { DirSlot } from '../backends/git/tree.js';
import { TreeEditor } from '../backends/git/tree.js';
import type { ObjectStore } from '../backends/git/objects.js';
import { tool } from './helpers/tools.js';

const LONG = 600_000;
const git = (dir: string, ...args: string[]) => tool('git', ['--git-dir', dir, ...args]);
const env = { ...process.env, GIT_AUTHOR_NAME: 'n', GIT_AUTHOR_EMAIL: 'n@n', GIT_COMMITTER_NAME: 'n', GIT_COMMITTER_EMAIL: 'n@n' };
const out = async (dir: string, args: string[], input?: string) => {
  const r = await tool('git', ['--git-dir', dir, ...args], { env, ...(input !== undefined ? { input } : {}) });
  assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};
const write = (b: GitBackend, path: string, text: string, user = 'alice') =>
  b.write(path, Readable.from([Buffer.from(text)]), { length: Buffer.byteLength(text), actor: { user } });
const text = async (b: GitBackend, p: string) => {
  const chunks: Buffer[] = [];
  for await (const c of await b.read(p)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
};
/** Commits the closed bursts now, leaving the open one (as a burst timer would). */
const commitClosed = (b: GitBackend) => (b as unknown as { committer: { recover(): Promise<void> } }).committer.recover();
const commitAll = (b: GitBackend) => (b as unknown as { committer: { commitAll(): Promise<void> } }).committer.commitAll();
const journalId = (root: string) => readFileSync(join(root, 'gitdav', 'journal', 'journal.log')).toString('hex', 16, 32);
const stopCommitter = (b: GitBackend) => (b as unknown as { committer: { stop(): void } }).committer.stop();

/** Runs `then` once, right after `b`'s live state next reads the tip (another process acting in that gap). */
function afterNextTipRead(b: GitBackend, then: () => Promise<void>): void {
  const d = (b.live as unknown as { d: { tip(fresh?: boolean): Promise<unknown> } }).d;
  const real = d.tip;
  d.tip = async (fresh) => {
    d.tip = real;
    const tip = await real(fresh);
    await then();
    return tip;
  };
}

/** A stat in the view `b` last published, without a refresh (what the committer and the next writer see). */
async function statInPeek(b: GitBackend, path: string): Promise<Entry | null> {
  const x = b as unknown as { store: ObjectStore; placeholder: { name: string; oid: string }; entryIn(e: TreeEditor, p: string, t: Date): Promise<Entry | null> };
  const view = b.live.peek() as { root: DirSlot; tip: { time: Date } };
  return x.entryIn(TreeEditor.fromSlot(x.store, view.root, x.placeholder), path, view.tip.time);
}

/** Our journal's trailer seqs in main's history (all parents), and whether any is there twice. */
async function ourSeqs(root: string, id: string): Promise<number[]> {
  const lines = (await out(root, ['log', '--format=%(trailers:key=Gitdav-Journal,valueonly)', 'main'])).split('\n').filter(Boolean);
  const seqs = lines.filter((l) => l.startsWith(`${id} `)).map((l) => Number(l.split(' ')[1]));
  assert.equal(new Set(seqs).size, seqs.length, `a record committed twice: ${seqs.join(' ')}`);
  return seqs;
}

async function blob(root: string, content: string): Promise<string> {
  return out(root, ['hash-object', '-w', '--stdin'], content);
}

/** main's tree with `files` (top-level names) set. */
async function treeWith(root: string, base: string, files: Record<string, string>): Promise<string> {
  const keep = (await out(root, ['ls-tree', base])).split('\n').filter((l) => l && !Object.keys(files).includes(l.split('\t')[1]!));
  for (const [name, content] of Object.entries(files)) keep.push(`100644 blob ${await blob(root, content)}\t${name}`);
  return out(root, ['mktree'], keep.join('\n') + '\n');
}

describe('the journal identity and the committed mark', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  const open = async (root?: string) => {
    root ??= await mkdtemp(join(tmpdir(), 'gitdav-jid-'));
    dirs.push(root);
    return { root, b: await GitBackend.open({ root, burstWindowMs: LONG, burstMaxAgeMs: LONG }) };
  };
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  /**
   * Two processes on one repository: a viewer (its committer stopped: it only shows) whose view stands
   * on tip T with records a (u1's burst, closed) and b (u2's, open), and a committer that commits.
   */
  const viewerHoldingAB = async () => {
    const { root, b: viewer } = await open();
    stopCommitter(viewer);
    await write(viewer, '/base.txt', 'base');
    const { b: committer } = await open(root);
    await commitAll(committer);
    const t = await out(root, ['rev-parse', 'main']);
    await write(viewer, '/a.txt', 'a', 'u1');
    await write(viewer, '/b.txt', 'b', 'u2'); // u1's burst is closed, u2's stays open: the file keeps u1's record
    assert.equal(await text(viewer, '/a.txt'), 'a'); // the viewer's view: tip T, records a and b
    const records = viewer.live.peek()!.records as readonly JournalRecord[];
    assert.equal(records.length, 2);
    return { root, viewer, committer, t, a: records[0]!.seq };
  };

  it('a foreign trailer with a higher seq pushed on top never makes acknowledged records look committed', async () => {
    const { root, b } = await open();
    await write(b, '/base.txt', 'base');
    await (b as unknown as { committer: { commitAll(): Promise<void> } }).committer.commitAll();
    await write(b, '/acked1.txt', 'one');
    await write(b, '/acked2.txt', 'two');
    // Another server's history (and the old id-less format), merged by a user and pushed here.
    const tree = await out(root, ['rev-parse', 'main^{tree}']);
    const other = 'f'.repeat(32);
    const foreign = await out(root, ['commit-tree', tree, '-m', `elsewhere\n\nGitdav-Journal: ${other} 500\nGitdav-Journal: 501`]);
    const merge = await out(root, ['commit-tree', tree, '-p', foreign, '-p', 'main', '-m', 'merge']);
    await out(root, ['update-ref', 'refs/heads/main', merge]);
    assert.equal(await text(b, '/acked1.txt'), 'one', 'still shown');
    await write(b, '/later.txt', 'later');
    const id = journalId(root);
    await b.close();
    assert.deepEqual((await out(root, ['ls-tree', '--name-only', 'main'])).split('\n').filter((n) => n.endsWith('.txt')).sort(), ['acked1.txt', 'acked2.txt', 'base.txt', 'later.txt']);
    assert.deepEqual((await ourSeqs(root, id)).sort((x, y) => x - y), [1, 4]);
    assert.equal((await git(root, 'fsck', '--strict', '--no-progress')).code, 0);
  });

  it('a rewind after a commit does not bring the committed records back (old and new processes agree)', async () => {
    const { root, b } = await open();
    await write(b, '/base.txt', 'base');
    await (b as unknown as { committer: { commitAll(): Promise<void> } }).committer.commitAll();
    const c0 = await out(root, ['rev-parse', 'main']);
    await write(b, '/a.txt', 'a', 'u1');
    await write(b, '/b.txt', 'b', 'u2'); // u1's burst is closed, u2's stays open: the file keeps u1's record
    await commitClosed(b);
    assert.equal(await out(root, ['show', 'main:a.txt']), 'a');
    await out(root, ['update-ref', 'refs/heads/main', c0]); // the admin undoes it
    const { b: other } = await open(root);
    assert.equal(await b.stat('/a.txt'), null);
    assert.equal(await other.stat('/a.txt'), null, 'a new process does not replay a committed record');
    assert.equal(await text(other, '/b.txt'), 'b');
    const id = journalId(root);
    await other.close();
    await b.close();
    assert.deepEqual((await out(root, ['ls-tree', '--name-only', 'main'])).split('\n').filter((n) => n.endsWith('.txt')).sort(), ['b.txt', 'base.txt']);
    await ourSeqs(root, id);
    assert.equal((await git(root, 'fsck', '--strict', '--no-progress')).code, 0);
  });

  it('a rewind after another process committed: a process that did not refresh in between drops the committed record too (A-B-A)', async () => {
    const { root, viewer, committer, t } = await viewerHoldingAB();
    await commitClosed(committer); // T → C, the mark raised to a's seq; the journal is not rotated (not worth it)
    assert.equal(await out(root, ['show', 'main:a.txt']), 'a');
    await out(root, ['update-ref', 'refs/heads/main', t]); // the admin undoes it: back to T, before the viewer looked
    const { b: fresh } = await open(root);
    assert.equal(await committer.stat('/a.txt'), null);
    assert.equal(await fresh.stat('/a.txt'), null, 'a new process does not replay a committed record');
    assert.equal(await viewer.stat('/a.txt'), null, 'the viewer agrees with them: its same tip, but the mark moved');
    for (const b of [viewer, committer, fresh]) assert.equal(await text(b, '/b.txt'), 'b');
    const id = journalId(root);
    for (const b of [fresh, committer, viewer]) await b.close();
    assert.deepEqual((await out(root, ['ls-tree', '--name-only', 'main'])).split('\n').filter((n) => n.endsWith('.txt')).sort(), ['b.txt', 'base.txt']);
    await ourSeqs(root, id);
    assert.equal((await git(root, 'fsck', '--strict', '--no-progress')).code, 0);
  });

  it('a burst another process found to change nothing leaves every view (the mark moved, the tip did not)', async () => {
    const { root, b: viewer } = await open();
    (viewer as unknown as { committer: { stop(): void } }).committer.stop();
    await write(viewer, '/x.txt', 'same');
    const { b: committer } = await open(root);
    await commitAll(committer);
    await write(viewer, '/x.txt', 'other', 'u1');
    await write(viewer, '/x.txt', 'same', 'u1'); // u1's burst: back where it started
    await write(viewer, `/${'y'.repeat(250)}.txt`, 'y', 'u2'); // closes u1's burst; bigger than the committed prefix: no rotation
    const live = (b: GitBackend) => (b as unknown as { live: { current(): Promise<{ records: readonly unknown[]; tip: { commit: string | null } }> } }).live;
    const before = await live(viewer).current();
    assert.equal(before.records.length, 3);
    await commitClosed(committer); // no commit for u1's burst (it changes nothing): only the mark moves
    const after = await live(viewer).current();
    assert.equal(after.tip.commit, before.tip.commit, 'no commit was made');
    assert.equal(after.records.length, 1, "u1's records are committed: the viewer's view drops them");
    assert.equal(await text(viewer, '/x.txt'), 'same');
    for (const b of [committer, viewer]) await b.close();
  });

  // Another process's commit moves the branch, then raises the mark: a view must never pair a mark read
  // after its tip with that tip (the mark would cover a record the tip lacks, and drop it).
  it("another process's commit landing just after the tip read never drops its record from the view", async () => {
    const { root, viewer, committer, t } = await viewerHoldingAB();
    afterNextTipRead(viewer, () => commitClosed(committer)); // T → C holding a, then the mark raised to a's seq
    assert.equal((await viewer.stat('/a.txt'))?.kind, 'file', 'a was acknowledged and is in C');
    assert.notEqual(await out(root, ['rev-parse', 'main']), t);
    for (const b of [viewer, committer]) assert.equal(await text(b, '/a.txt'), 'a');
    for (const b of [committer, viewer]) await b.close();
  });

  it("a guard is decided on a view that keeps a record another process committed while the write caught up", async () => {
    const { root, viewer, committer, t, a } = await viewerHoldingAB();
    const id = journalId(root);
    // Inside the write's journal transaction (its lock held, so the other process is plain git here):
    // after the viewer read tip T, C (a's commit) swaps in and the mark is raised, as a committer does.
    afterNextTipRead(viewer, async () => {
      const c = await out(root, ['commit-tree', await treeWith(root, t, { 'a.txt': 'a' }), '-p', t, '-m', `a\n\n${journalTrailer(id, a)}`]);
      await out(root, ['update-ref', 'refs/heads/main', c, t]);
      await raiseMark(join(root, 'gitdav', 'journal'), id, a);
    });
    const guard = async (v: { stat(p: string): Promise<Entry | null> }) => {
      if (await v.stat('/a.txt')) throw new BackendError('AlreadyExists', '/a.txt', 'a.txt exists');
    };
    const clobber = Buffer.from('clobbered');
    await assert.rejects(viewer.write('/a.txt', Readable.from([clobber]), { length: clobber.length, actor: { user: 'u3' }, guard }), /a\.txt exists/);
    for (const b of [viewer, committer]) assert.equal(await text(b, '/a.txt'), 'a');
    for (const b of [committer, viewer]) await b.close();
    assert.equal(await out(root, ['show', 'main:a.txt']), 'a');
  });

  it("a writer's view of its own append keeps a record another process committed meanwhile (no tip read there)", async () => {
    const { viewer, committer } = await viewerHoldingAB();
    const appended = viewer.live.appended.bind(viewer.live);
    viewer.live.appended = async (records: readonly JournalRecord[]) => {
      viewer.live.appended = appended;
      await commitClosed(committer); // between the append and its view: T → C holding a, the mark raised
      return appended(records);
    };
    await write(viewer, '/c.txt', 'c', 'u2'); // u2's burst stays open: the committer commits a alone
    assert.equal(viewer.live.appended, appended);
    assert.equal((await statInPeek(viewer, '/a.txt'))?.kind, 'file', 'a is in C: the published view has it');
    assert.equal((await statInPeek(viewer, '/c.txt'))?.kind, 'file');
    for (const b of [committer, viewer]) await b.close();
  });

  it('a rebuild pairs its tip with a mark read before it: a commit landing between them keeps its record', async () => {
    const { root, viewer, committer } = await viewerHoldingAB();
    await commitClosed(committer); // T → C holding a, the mark at a: the viewer will rebuild
    afterNextTipRead(viewer, async () => {
      await write(committer, '/c.txt', 'c', 'u3'); // closes u2's burst
      await commitClosed(committer); // C → D holding b, the mark at b: after the viewer read C
    });
    assert.equal((await viewer.stat('/b.txt'))?.kind, 'file', 'b was acknowledged and is in D');
    assert.equal(await out(root, ['show', 'main:b.txt']), 'b');
    for (const b of [viewer, committer]) assert.equal(await text(b, '/a.txt'), 'a');
    for (const b of [committer, viewer]) await b.close();
  });

  for (const how of ['a merge with our commit as second parent', '1,001 native commits on top'] as const) {
    it(`committed records are not replayed over ${how}`, async () => {
      const { root, b } = await open();
      await write(b, '/x.txt', 'base');
      await (b as unknown as { committer: { commitAll(): Promise<void> } }).committer.commitAll();
      await write(b, '/x.txt', 'alice-edit', 'alice');
      // alice's burst closes; bob's stays open, bigger than hers: rotation keeps her committed record in the file.
      await write(b, '/y-a-name-long-enough-that-the-open-burst-outweighs-the-committed-one.txt', 'y', 'bob');
      await commitClosed(b);
      const ours = await out(root, ['rev-parse', 'main']);
      if (how === '1,001 native commits on top') {
        const stream: string[] = [];
        for (let i = 0; i < 1001; i++) {
          const content = i === 1000 ? 'native-final' : `native-${i}`;
          stream.push(`commit refs/heads/main\ncommitter n <n@n> 0 +0000\ndata 1\nn\n${i === 0 ? `from ${ours}\n` : ''}M 100644 inline x.txt\ndata ${content.length}\n${content}\n`);
        }
        await out(root, ['fast-import', '--quiet'], stream.join(''));
      } else {
        const native = await out(root, ['commit-tree', await treeWith(root, `${ours}~1`, { 'x.txt': 'native' }), '-p', `${ours}~1`, '-m', 'native']);
        const merge = await out(root, ['commit-tree', await treeWith(root, ours, { 'x.txt': 'native-final' }), '-p', native, '-p', ours, '-m', 'merge']);
        await out(root, ['update-ref', 'refs/heads/main', merge]);
      }
      const { b: other } = await open(root);
      assert.equal(await text(b, '/x.txt'), 'native-final');
      assert.equal(await text(other, '/x.txt'), 'native-final', 'a new process does not replay a committed record');
      const id = journalId(root);
      await other.close();
      await b.close();
      assert.equal(await out(root, ['show', 'main:x.txt']), 'native-final');
      assert.equal(await out(root, ['show', 'main:y-a-name-long-enough-that-the-open-burst-outweighs-the-committed-one.txt']), 'y');
      assert.deepEqual((await ourSeqs(root, id)).sort((x, y) => x - y), [1, 2, 3]);
      assert.equal((await git(root, 'fsck', '--strict', '--no-progress')).code, 0);
    });
  }

  it('the journal file stays bounded under steady writes with a burst always open (rotation after every commit)', async () => {
    const { root, b } = await open();
    const log = join(root, 'gitdav', 'journal', 'journal.log');
    let most = 0;
    for (let i = 0; i < 60; i++) {
      await write(b, `/a-${i}.txt`, `${i}`, i % 2 ? 'alice' : 'bob'); // each write closes the other user's burst
      await commitClosed(b);
      most = Math.max(most, statSync(log).size);
    }
    const one = statSync(log).size; // the open burst: one record (and the header)
    assert.ok(most <= 3 * one, `the file grew to ${most} bytes (one open record: ${one})`);
    const id = journalId(root);
    await b.close();
    assert.equal((await ourSeqs(root, id)).length, 60);
  });

  it("the commit author is the burst's writer, even with another user's UNLOCK inside the burst", async () => {
    const { root, b } = await open();
    await write(b, '/a.txt', 'a', 'alice');
    await b.unlocked('/other.txt', Date.now() - 1000, { user: 'bob' });
    await write(b, '/b.txt', 'b', 'alice');
    await b.close();
    assert.equal(await out(root, ['log', '-1', '--format=%an <%ae>', 'main']), 'alice <alice@gitdav>');
  });

  it('a commit message that cannot be made never blocks the commit: the fallback message is used', async () => {
    const { root, b } = await open();
    await write(b, '/f.txt', 'one');
    await (b as unknown as { committer: { commitAll(): Promise<void> } }).committer.commitAll();
    const d = (b as unknown as { committer: { d: { versionOf: unknown } } }).committer.d;
    d.versionOf = () => {
      throw new Error('describing fails');
    };
    await write(b, '/f.txt', 'two');
    const id = journalId(root);
    await b.close();
    assert.equal(await out(root, ['show', 'main:f.txt']), 'two');
    assert.match(await out(root, ['log', '-1', '--format=%B', 'main']), new RegExp(`Gitdav-Journal: ${id} 2$`));
  });

  it('a write whose records the view fails to take is still answered (no unhandled rejection) and committed', async () => {
    const { root, b } = await open();
    const live = (b as unknown as { live: { appended(r: unknown): Promise<unknown> } }).live;
    const real = live.appended.bind(live);
    live.appended = async () => {
      throw new Error('the view failed');
    };
    const rejections: unknown[] = [];
    const onRejection = (err: unknown) => rejections.push(err);
    process.on('unhandledRejection', onRejection);
    try {
      await write(b, '/kept.txt', 'kept');
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      live.appended = real;
      process.off('unhandledRejection', onRejection);
    }
    assert.deepEqual(rejections, []);
    await b.close();
    // Durable: the next process to open commits it (this one's overlay catching up is the read side's part).
    const again = await GitBackend.open({ root, burstWindowMs: 1, burstMaxAgeMs: LONG });
    await again.close();
    assert.equal(await out(root, ['show', 'main:kept.txt']), 'kept');
  });

  it('a process that only reads commits the burst a dead writer left once it closes', async () => {
    const root = await mkdtemp(join(tmpdir(), 'gitdav-jid-'));
    dirs.push(root);
    const options = { root, burstWindowMs: 200, burstMaxAgeMs: LONG };
    const reader = await GitBackend.open(options);
    const writer = await GitBackend.open(options);
    (writer as unknown as { committer: { stop(): void } }).committer.stop(); // as if killed: it never commits
    await write(writer, '/left.txt', 'left');
    assert.equal(await text(reader, '/left.txt'), 'left');
    let committed = false;
    for (let i = 0; i < 200 && !committed; i++) {
      await new Promise((r) => setTimeout(r, 50));
      committed = (await git(root, 'rev-parse', '--verify', '-q', 'main')).code === 0;
    }
    assert.ok(committed, 'the reader committed the closed burst');
    assert.equal(await out(root, ['show', 'main:left.txt']), 'left');
    await reader.close();
    await writer.close();
  });
});

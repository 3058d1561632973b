/**
 * The journal's read side (review findings on the live overlay): two different overlay states never
 * share a listingVersion; records a refresh took from the journal survive a refresh that fails
 * part-way; a refresh with nothing new copies nothing; an append copies no earlier record; a journaled
 * folder's ETag names the journal's state and survives a mount's view.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Entry } from '../backends/backend.js';
import { GitBackend } from '../backends/git/index.js';
import { body, journalRepos, LONG, until } from './helpers/journal-backends.js';
import type { JournalRecord } from '../backends/git/journal/record.js';
import { MountView } from '../backends/mount/view.js';
import { recordLogWork } from '../backends/git/live-records.js';

const write = (b: GitBackend, path: string, text: string) => b.write(path, body(text), { length: Buffer.byteLength(text) });

async function names(b: GitBackend, dir = '/'): Promise<string[]> {
  const out: string[] = [];
  for await (const e of b.list(dir)) out.push(e.path);
  return out.sort();
}

describe('git backend journal: the read side', function () {
  this.timeout(120_000);
  const { open, removeAll } = journalRepos('gitdav-jread-');
  after(removeAll);

  it('two states never share a listingVersion: another process appends while our own record is on its way', async () => {
    const { root, b: one } = await open();
    const { b: two } = await open({}, root);
    await write(one, '/seed', 'seed');
    // Hold one's own record between the journal append and its overlay (the gap the review found).
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const appended = one.live.appended.bind(one.live);
    one.live.appended = async (records: readonly JournalRecord[]) => {
      await gate;
      return appended(records);
    };
    const put = write(one, '/x', 'x');
    await until('x is in the journal', async () => (await two.stat('/x')) !== null, 200, 25);
    await write(two, '/y', 'y');
    const during = await one.listingVersion();
    assert.deepEqual(await names(one), ['/seed', '/y'], 'one refreshed: y from the journal, its own x not yet');
    release();
    await put;
    one.live.appended = appended;
    const afterPut = await one.listingVersion();
    assert.deepEqual(await names(one), ['/seed', '/x', '/y']);
    // The PROPFIND cache keys a listing by this version: the same version would serve the listing without x.
    assert.notEqual(afterPut, during);
    await one.close();
    await two.close();
  });

  it('a refresh that fails part-way loses none of the records the journal handed over', async () => {
    const { root, b: one } = await open();
    const { b: two } = await open({}, root);
    await write(one, '/seed', 'seed');
    assert.equal(await one.stat('/late'), null);
    await write(two, '/late', 'late');
    // The next refresh reads /late's record from the journal, then fails reading the tip (EMFILE, say).
    const live = one.live as unknown as { d: { tip: (fresh?: boolean) => Promise<unknown> } };
    const tip = live.d.tip;
    live.d.tip = async () => {
      live.d.tip = tip;
      throw Object.assign(new Error('injected: too many open files'), { code: 'EMFILE' });
    };
    await assert.rejects(one.stat('/late'), /injected/);
    assert.equal((await one.stat('/late'))?.kind, 'file', 'the record taken by the failed refresh is applied by the next');
    await one.close();
    await two.close();
  });

  it('a refresh with nothing new copies and sorts nothing', async () => {
    const { b } = await open();
    for (let i = 0; i < 20; i++) await write(b, `/f${i}`, String(i));
    const view = await b.live.current();
    const idle = b.live.idleRefreshes;
    for (let i = 0; i < 10; i++) assert.equal(await b.live.current(), view, 'the same view object');
    assert.equal(b.live.idleRefreshes - idle, 10);
    await b.close();
  });

  it("a refresh stats the committed mark once while the view holds records, and not at all when it holds none", async () => {
    const { b } = await open();
    const work = (b.live as unknown as { seqs: { markWork: { stats: number; reads: number } } }).seqs.markWork;
    await write(b, '/held', 'x');
    await b.live.current();
    const before = { ...work };
    for (let i = 0; i < 10; i++) await b.live.current();
    assert.deepEqual({ stats: work.stats - before.stats, reads: work.reads - before.reads }, { stats: 10, reads: 0 }, 'a stat per refresh while a record is uncommitted, no read');
    await (b as unknown as { committer: { commitAll(): Promise<void> } }).committer.commitAll();
    assert.equal((await b.live.current()).records.length, 0);
    const idle = { ...work };
    for (let i = 0; i < 10; i++) await b.live.current();
    assert.deepEqual({ ...work }, idle, 'nothing held: nothing the mark could drop');
    await b.close();
  });

  it("an append adds to its lineage's times (no copy), and an older view's times never change", async () => {
    const { b } = await open();
    await b.mkcol('/d');
    await write(b, '/d/a', 'a');
    const v1 = await b.live.current();
    const t1 = v1.times.get('/d/a');
    await new Promise((r) => setTimeout(r, 5));
    await write(b, '/d/a', 'again');
    await write(b, '/d/b', 'b');
    const v2 = await b.live.current();
    assert.notEqual(v2, v1);
    assert.equal(v1.times.get('/d/a'), t1, 'the older view keeps its own time');
    assert.equal(v1.times.get('/d/b'), undefined);
    assert.ok(v2.times.get('/d/a')! > t1!);
    assert.ok(v2.times.get('/d/b') !== undefined);
    const store = (t: unknown) => (t as { bySeq: unknown }).bySeq;
    assert.ok(store(v1.times) !== undefined && store(v1.times) === store(v2.times), 'one append-only store, not a copy per record');
    await b.close();
  });

  it("an append adds to its lineage's records (no copy per view), and an older view's records never change", async () => {
    const { b } = await open();
    await write(b, '/first', '0');
    const v1 = await b.live.current();
    const seen = [...v1.records];
    const before = { ...recordLogWork };
    const n = 300;
    for (let i = 0; i < n; i++) await write(b, `/f${i}`, String(i));
    const v2 = await b.live.current();
    assert.equal(v2.records.length, n + 1);
    assert.equal(recordLogWork.pushed - before.pushed, n, 'each record pushed once');
    assert.equal(recordLogWork.copied - before.copied, 0, 'nothing copied');
    assert.deepEqual([...v1.records], seen, 'the older view keeps its records');
    assert.equal(v2.records[0], v1.records[0]);
    await b.close();
  });

  it("a journaled folder's ETag names the journal's state (no hash of its members), and a mount's view keeps it", async () => {
    const { b } = await open();
    await b.mkcol('/shared');
    await write(b, '/shared/a', 'a');
    const view = new MountView(b);
    const entry = (await b.stat('/shared'))!;
    assert.match(entry.etag, /^"0-[0-9a-f]{32}-\d+-\d+-[0-9a-f]{16}"$/, 'not at the tip: base 0, the journal, the committed seq, the last record, its chain');
    const mount = { path: '/shared', at: '/from-alice', target: b, access: 'read' as const };
    const out = (view as unknown as { outward(m: typeof mount, e: Entry): Entry }).outward(mount, entry);
    assert.equal(out.path, '/from-alice');
    assert.equal(out.etag, entry.etag);
    await write(b, '/shared/b', 'b');
    const next = (await b.stat('/shared'))!.etag;
    assert.notEqual(next, entry.etag, 'a write into it: a new ETag');
    await b.commitJournal();
    assert.match((await b.stat('/shared'))!.etag, /^"[0-9a-f]{40}"$/, 'committed: its tree id');
    await b.close();
  });
});

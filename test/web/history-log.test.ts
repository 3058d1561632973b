/**
 * The HistoryLog capability of a git repository (backends/git/log.ts) without HTTP: a file edited
 * three times, a folder, a deleted file and its restore source, a commit's changed files bounded
 * ("more" counted), short and unknown ids, blobs capped by size, branches; the mount view passes it
 * on for the user's own tree only, and the folder backend has none.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isHistoryLog, type HistoryReader } from '../../backends/capabilities.js';
import { FsBackend } from '../../backends/fs/index.js';
import { diffBelow } from '../../backends/git/log-diff.js';
import { openGitRepository, type GitRepository } from '../../backends/git/repository.js';
import { MountView } from '../../backends/mount/view.js';
import { MountTable } from '../../backends/mount/table.js';

describe('HistoryLog (git)', function () {
  this.timeout(60_000);
  let dir: string;
  let repo: GitRepository;
  let log: HistoryReader;
  const put = (path: string, text: string | Buffer) => repo.write(path, Readable.from([Buffer.from(text)]));
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-log-'));
    repo = await openGitRepository({ root: dir, burstWindowMs: 0 });
    await repo.mkcol('/docs');
    await put('/docs/plan.md', 'a\n');
    await put('/docs/plan.md', 'b\n');
    await put('/docs/plan.md', 'c\n');
    await put('/docs/old.txt', 'old\n');
    await repo.remove('/docs/old.txt');
    await repo.mkcol('/many');
    for (let i = 0; i < 30; i++) await put(`/many/f${String(i).padStart(2, '0')}.txt`, `${i}\n`);
    log = repo.historyOf();
  });
  after(async () => {
    await repo?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("a file edited three times: three commits, newest first, each with its change and its version's history path", async () => {
    const { total, commits } = await log.log('/docs/plan.md', 0, 10);
    assert.equal(total, 3);
    assert.deepEqual(commits.map((c) => c.subject), ['Update docs/plan.md', 'Update docs/plan.md', 'Add docs/plan.md']);
    assert.ok(commits[0]!.time >= commits[2]!.time);
    assert.deepEqual(commits.map((c) => c.changed.map((f) => `${f.change} ${f.path}`)), [['M /docs/plan.md'], ['M /docs/plan.md'], ['A /docs/plan.md']]);
    assert.match(commits[0]!.version!.path, /^\/\.history\/versions\/docs\/plan\.md\/\d{4}-\d{2}-\d{2}T\d{6}Z-[0-9a-f]{7}\.md$/);
    assert.equal((await repo.stat(commits[2]!.version!.path))?.kind, 'file', 'the version path answers');
    const page = await log.log('/docs/plan.md', 1, 1);
    assert.deepEqual(page.commits.map((c) => c.id), [commits[1]!.id]);
    assert.equal((await log.log('/docs/plan.md', 5, 10)).commits.length, 0, 'past the end: nothing');
    assert.equal((await log.log('/docs/plan.md', 0, 1_000_000)).commits.length, 3, 'the limit is bounded, not trusted');
  });

  it("a folder: every commit below it, the changed files under it bounded; its snapshot as the version", async () => {
    const { total, commits } = await log.log('/docs', 0, 50, 5);
    assert.equal(total, 6, 'mkcol, three edits, add and delete');
    assert.equal(commits[0]!.subject, 'Delete docs/old.txt');
    assert.deepEqual(commits[0]!.changed.map((f) => `${f.change} ${f.path}`), ['D /docs/old.txt']);
    assert.equal(commits[0]!.version!.kind, 'collection');
    const many = await log.log('/many', 0, 50, 5);
    assert.ok(many.commits.every((c) => c.changed.length <= 5));
    const root = await log.log('/', 0, 5, 5);
    assert.equal(root.commits.length, 5);
    assert.ok(root.total >= 36);
  });

  it('a deleted file: its log ends with the removal; the folder lists it as gone with the version a COPY restores', async () => {
    const { commits } = await log.log('/docs/old.txt', 0, 10);
    assert.deepEqual(commits.map((c) => c.subject), ['Delete docs/old.txt', 'Add docs/old.txt']);
    assert.equal(commits[0]!.version, null);
    const gone = await log.deletedIn('/docs', 10);
    assert.deepEqual(gone.map((g) => [g.path, g.kind, g.removed.subject]), [['/docs/old.txt', 'file', 'Delete docs/old.txt']]);
    assert.equal(gone[0]!.restoreFrom, commits[1]!.version!.path);
    assert.deepEqual(await log.deletedIn('/many', 10), []);
  });

  it("one commit: by full or short id, its files bounded with the rest counted; unknown or malformed ids are null", async () => {
    const last = (await log.log('/many', 0, 1)).commits[0]!;
    const c = await log.commit(last.id);
    assert.equal(c?.files.length, 1);
    assert.equal(c?.files[0]!.change, 'A');
    assert.equal(c?.files[0]!.oldId, null);
    assert.match(c!.files[0]!.newId!, /^[0-9a-f]{40}$/);
    assert.equal(c?.parents.length, 1);
    assert.equal((await log.commit(last.short))?.id, last.id);
    assert.equal(await log.commit('0'.repeat(40)), null);
    assert.equal(await log.commit('not-hex'), null);
    assert.equal(await log.commit('abc'), null, 'under 4 digits');
    // A commit of 30 files, listed 10 at most: "and 20 more".
    await repo.remove('/many');
    const removal = (await log.log('/many', 0, 1)).commits[0]!;
    const bounded = await log.commit(removal.id, 10);
    assert.equal(bounded?.files.length, 10);
    assert.equal(bounded?.more, 20);
    assert.ok(bounded!.files.every((f) => f.change === 'D' && f.newId === null));
    assert.equal(bounded?.moreCapped, false);
    // The count past the list stops at its cap, and says so.
    const raw = await repo.live.store.readCommit(removal.id);
    const parent = await repo.live.store.readCommit(raw.parents[0]!);
    assert.deepEqual(await diffBelow(repo.live.store, parent.tree, raw.tree, '/many', 5, 10).then((d) => [d.files.length, d.more, d.capped]), [5, 10, true]);
    assert.deepEqual(await diffBelow(repo.live.store, parent.tree, raw.tree, '/many', 5, 100).then((d) => [d.files.length, d.more, d.capped]), [5, 25, false]);
  });

  it('a file at a commit, blobs capped by size, branches', async () => {
    const [newest, , oldest] = (await log.log('/docs/plan.md', 0, 3)).commits;
    const at = await log.fileAt('/docs/plan.md', oldest!.id);
    assert.equal(at?.size, 2);
    assert.equal((await log.blob(at!.blob, 100))?.bytes?.toString(), 'a\n');
    assert.deepEqual(await log.blob(at!.blob, 1), { size: 2, bytes: null });
    assert.equal(await log.blob(newest!.id, 100), null, 'a commit is no blob');
    assert.equal(await log.fileAt('/docs/nope.md', newest!.id), null);
    assert.equal(await log.fileAt('/docs', newest!.id), null, 'a folder is no file');
    const refs = await log.refs();
    assert.equal(refs.current, 'main');
    assert.deepEqual(refs.branches, ['main']);
  });

  it("the mount view passes it on for the user's own tree, not inside a share; the folder backend has none", async () => {
    const view = new MountView(repo, new MountTable([{ at: '/shared', path: '/', target: repo.live, access: 'read', owner: 'bob' }]));
    assert.ok(isHistoryLog(view));
    assert.equal(view.historyOf('/docs'), log);
    assert.equal(view.historyOf('/shared/docs'), null);
    const fsDir = await mkdtemp(join(tmpdir(), 'gitdav-log-fs-'));
    const fs = await FsBackend.open({ root: fsDir });
    assert.equal(isHistoryLog(fs), false);
    assert.equal(new MountView(fs).historyOf('/'), null);
    await fs.close?.();
    await rm(fsDir, { recursive: true, force: true });
  });
});

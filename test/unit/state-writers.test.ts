/**
 * Every state file written whole goes through util/durable-file.ts with the durability its owner
 * declared: the folder backend's `.davprops` sidecars, the users and shares files ('fsync': the only
 * copy), the folder backend's sync snapshots and the git path index ('atomic': rebuildable). Each
 * round-trips, leaves no temp file (beside it, or in the state dir's tmp folder for sidecars), and
 * makes the fsyncs its durability says (FileHandle#sync counted: file and folder, or none).
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PropsStore, SELF, SIDECAR } from '../../backends/fs/props-store.js';
import { SyncSnapshots } from '../../backends/fs/sync-snapshots.js';
import { ObjectStore } from '../../backends/git/objects.js';
import { PathIndex } from '../../backends/git/path-index.js';
import { SyncTokenKey } from '../../backends/sync-token-key.js';
import { readShares, SHARES_FILE, writeShares, type Share } from '../../lib/auth/shares-file.js';
import { readUsers, USERS_FILE, writeUsers } from '../../lib/auth/users-file.js';

type Patchable = Record<string, unknown>;

/** Runs `body` counting FileHandle#sync calls (each still fsyncs). */
async function countingSyncs<T>(dir: string, body: () => Promise<T>): Promise<{ result: T; syncs: number }> {
  const probe = await fsp.open(join(dir, '.probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as Patchable;
  await probe.close();
  await fsp.rm(join(dir, '.probe'));
  const original = proto.sync as (this: unknown) => Promise<void>;
  let syncs = 0;
  proto.sync = async function (this: unknown) {
    syncs++;
    return original.call(this);
  };
  try {
    return { result: await body(), syncs };
  } finally {
    proto.sync = original;
  }
}

const tempsIn = async (dir: string) => (await fsp.readdir(dir)).filter((n) => n.endsWith('.tmp'));

describe('state writers (util/durable-file.ts, durability per file)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-writers-'));
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('.davprops sidecar (fsync): round-trips, its temp file is made in the tmp folder and not left, an emptied sidecar is removed', async () => {
    const folder = join(dir, 'docs');
    const tmp = join(dir, 'state', 'tmp');
    await fsp.mkdir(folder);
    await fsp.mkdir(tmp, { recursive: true });
    let n = 0;
    const tmpFile = () => join(tmp, `t${++n}`);
    const store = new PropsStore(tmpFile);
    const props = new Map([['{urn:x}colour', '<colour xmlns="urn:x">red</colour>']]);
    const { syncs } = await countingSyncs(dir, () => store.put(folder, 'a.txt', props));
    assert.equal(syncs, 2, 'the sidecar and then its folder are fsynced');
    await store.put(folder, SELF, new Map([['{urn:x}own', '<own xmlns="urn:x"/>']]));
    assert.deepEqual(await fsp.readdir(folder), [SIDECAR], 'no temp file beside the sidecar');
    assert.deepEqual(await fsp.readdir(tmp), [], 'none left in the tmp folder');
    // A fresh store (no cache) reads back what was written.
    const again = new PropsStore(tmpFile);
    assert.deepEqual(await again.get(folder, 'a.txt'), props);
    assert.deepEqual([...(await again.get(folder, SELF)).keys()], ['{urn:x}own']);
    await again.put(folder, 'a.txt', new Map());
    await again.put(folder, SELF, new Map());
    assert.deepEqual(await fsp.readdir(folder), [], 'the last property gone, the sidecar goes');
    assert.deepEqual(await new PropsStore(tmpFile).read(folder), {});
    // A folder that vanished is not made again by a sidecar write.
    await assert.rejects(store.put(join(dir, 'gone'), 'x', props), (err: NodeJS.ErrnoException) => err.code === 'ENOENT');
    assert.deepEqual((await fsp.readdir(dir)).sort(), ['docs', 'state']);
    assert.deepEqual(await fsp.readdir(tmp), []);
  });

  it('sync snapshots (atomic): a token round-trips, no fsync, no temp file; an emptied snapshot is a pruned token and is written again', async () => {
    const state = join(dir, 'state');
    const key = SyncTokenKey.in(state);
    await key.sign('/c', 'warm-up'); // the key is made (and fsynced) once, apart from the snapshots
    const snapshots = new SyncSnapshots(join(state, 'sync'), key);
    const prints = new Map([['/c/a.ics', '"1"'], ['/c/b.ics', '"2"']]);
    const { result: token, syncs } = await countingSyncs(dir, () => snapshots.save('/c', prints));
    assert.equal(syncs, 0, 'a rebuildable snapshot is not fsynced');
    assert.deepEqual(await new SyncSnapshots(join(state, 'sync'), key).load('/c', token), prints);
    const names = await fsp.readdir(join(state, 'sync'));
    assert.equal(names.length, 1);
    assert.deepEqual(await tempsIn(join(state, 'sync')), []);
    // A power cut after the rename but before the data: the file is there, empty.
    await fsp.writeFile(join(state, 'sync', names[0]!), '');
    assert.equal(await snapshots.load('/c', token), null, 'answered as a pruned token (valid-sync-token)');
    assert.equal(await snapshots.save('/c', prints), token, 'the same state, the same token');
    assert.deepEqual(await snapshots.load('/c', token), prints, 'written again, not kept broken');
  });

  it('git path index (atomic): saved and loaded back, no fsync, no temp file; an emptied one is rebuilt', async () => {
    const gitdir = join(dir, 'repo.git');
    await fsp.mkdir(join(gitdir, 'objects', 'pack'), { recursive: true });
    const store = new ObjectStore(gitdir);
    const blob = await store.writeBuffer('blob', Buffer.from('hello\n'));
    const tree = await store.writeTree([{ mode: '100644', name: 'a.txt', oid: blob }]);
    const who = 'Test <test@example.org> 1700000000 +0000';
    const commit = await store.writeCommit({ tree, parents: [], author: who, committer: who, message: 'one\n' });
    const file = join(dir, 'state', 'path-index.json');
    await fsp.mkdir(join(dir, 'state'));
    const index = new PathIndex(store, file);
    await index.load();
    await index.ensure(commit);
    const { syncs } = await countingSyncs(dir, () => index.save());
    assert.equal(syncs, 0, 'a rebuildable index is not fsynced');
    assert.deepEqual(await fsp.readdir(join(dir, 'state')), ['path-index.json'], 'no temp file left');
    const loaded = new PathIndex(store, file);
    await loaded.load();
    assert.equal(loaded.lastChange('/a.txt')?.oid, commit, 'loaded from the file');
    assert.equal(loaded.all().length, 1);
    // Emptied by a power cut: it does not parse, and is rebuilt from the history.
    await fsp.writeFile(file, '');
    const rebuilt = new PathIndex(store, file);
    await rebuilt.load();
    assert.equal(rebuilt.all().length, 0);
    await rebuilt.ensure(commit);
    assert.equal(rebuilt.lastChange('/a.txt')?.oid, commit);
  });

  it('git path index: the changes of a path (first, last, by id, at a commit, since a commit) across commits, saved and loaded alike', async () => {
    const gitdir = join(dir, 'repo2.git');
    await fsp.mkdir(join(gitdir, 'objects', 'pack'), { recursive: true });
    const store = new ObjectStore(gitdir);
    const who = (t: number) => `Test <test@example.org> ${t} +0000`;
    const blobs = await Promise.all(['one\n', 'two\n', 'three\n'].map((t) => store.writeBuffer('blob', Buffer.from(t))));
    const commits: string[] = [];
    const trees: string[] = [];
    // 38 commits, so indices run past one base-36 digit; a.txt changes in 0, 1, 37 and is removed in 20.
    for (let i = 0; i < 38; i++) {
      const entries = [{ mode: '100644', name: 'b.txt', oid: blobs[i % 3]! }];
      const a = i === 0 ? blobs[0] : i < 20 ? blobs[1] : i < 37 ? null : blobs[2];
      if (a) entries.unshift({ mode: '100644', name: 'a.txt', oid: a });
      const sub = await store.writeTree(entries);
      const tree = await store.writeTree([{ mode: '40000', name: 'd', oid: sub }]);
      trees.push(sub);
      commits.push(await store.writeCommit({ tree, parents: commits.slice(-1), author: who(1_700_000_000 + i), committer: who(1_700_000_000 + i), message: `c${i}\n` }));
    }
    const file = join(dir, 'state2', 'path-index.json');
    await fsp.mkdir(join(dir, 'state2'));
    const built = new PathIndex(store, file);
    await built.ensure(commits.at(-1)!);
    await built.save();
    const loaded = new PathIndex(store, file);
    await loaded.load();
    for (const index of [built, loaded]) {
      assert.equal(index.firstChange('/d/a.txt')?.oid, commits[0]);
      assert.equal(index.lastChange('/d/a.txt')?.oid, commits[37]);
      assert.deepEqual(index.changesOf('/d/a.txt').map((c) => [c.commit.oid, c.oid, c.isTree]), [
        [commits[0], blobs[0], false],
        [commits[1], blobs[1], false],
        [commits[20], null, false],
        [commits[37], blobs[2], false],
      ]);
      assert.equal(index.changesOf('/d').every((c) => c.isTree), true);
      assert.equal(index.changesOf('/d').length, 38);
      assert.equal(index.commitWhere('/d', trees[25]!), 34, 'the same tree again in 28, 31, 34: the last');
      assert.equal(index.commitWhere('/d/a.txt', blobs[1]!), 1);
      assert.equal(index.commitWhere('/d/a.txt', 'f'.repeat(40)), -1);
      assert.equal(index.oidAt('/d/a.txt', 19), blobs[1]);
      assert.equal(index.oidAt('/d/a.txt', 36), null);
      assert.equal(index.oidAt('/d/a.txt', 37), blobs[2]);
      assert.deepEqual(new Set(index.changedAfter(36)), new Set(['/', '/d', '/d/a.txt', '/d/b.txt']));
      assert.equal(index.lastChange('/nowhere'), undefined);
      assert.deepEqual(index.changesOf('/nowhere'), []);
    }
  });

  it('users file (fsync): round-trips with mode 0600 and no temp file', async () => {
    const users = new Map([['alice', '$2y$04$abcdefghijklmnopqrstuu5Qw0s1nIYq0sCHM6qP7Nn0rj8eG6tS6']]);
    const root = join(dir, 'root');
    const { syncs } = await countingSyncs(dir, () => writeUsers(root, users));
    assert.ok(syncs >= 2, `the file and its folder are fsynced (${syncs} syncs)`);
    assert.deepEqual(await readUsers(root), users);
    assert.equal((await fsp.stat(join(root, USERS_FILE))).mode & 0o777, 0o600);
    await writeUsers(root, new Map([...users, ['bob', users.get('alice')!]]));
    assert.deepEqual([...(await readUsers(root)).keys()], ['alice', 'bob']);
    assert.deepEqual(await fsp.readdir(root), [USERS_FILE], 'no temp file left');
    assert.deepEqual(await readUsers(join(dir, 'nobody')), new Map());
  });

  it('shares file (fsync): round-trips with mode 0600 and no temp file', async () => {
    const root = join(dir, 'root');
    await fsp.mkdir(root);
    const shares: Share[] = [{ owner: 'alice', path: '/docs', grantee: 'bob', access: 'read' }];
    const { syncs } = await countingSyncs(dir, () => writeShares(root, shares));
    assert.equal(syncs, 2, 'the file and then its folder are fsynced');
    assert.deepEqual(await readShares(root), shares);
    assert.equal((await fsp.stat(join(root, SHARES_FILE))).mode & 0o777, 0o600);
    await writeShares(root, []);
    assert.deepEqual(await readShares(root), []);
    assert.deepEqual(await fsp.readdir(root), [SHARES_FILE], 'no temp file left');
  });
});

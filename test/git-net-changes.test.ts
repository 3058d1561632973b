/**
 * What a burst did (backends/git/journal/net-changes.ts), on a real object store: the tree before a
 * burst against the tree after it, for the paths its records touched.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countFiles, netChanges, pathIndexVersions } from '../backends/git/journal/net-changes.js';
import { commitMessage, fallbackMessage } from '../backends/git/journal/messages.js';
import type { Effect, JournalRecord, RecordMeta, StoredSlot } from '../backends/git/journal/record.js';
import { EMPTY_TREE, ObjectStore } from '../backends/git/objects.js';
import { PathIndex } from '../backends/git/path-index.js';
import { TreeEditor } from '../backends/git/tree.js';
import { SELF, serializeSidecar } from '../backends/sidecar.js';

describe('git net changes of a burst', () => {
  let dir: string;
  let store: ObjectStore;
  let placeholder: { name: string; oid: string };
  let n = 0;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-net-'));
    await fsp.mkdir(join(dir, 'objects', 'pack'), { recursive: true });
    store = new ObjectStore(dir);
    placeholder = { name: '.davprops', oid: await store.writeBuffer('blob', Buffer.from(serializeSidecar({}))) };
  });
  afterEach(() => fsp.rm(dir, { recursive: true, force: true }));

  const blob = async (text: string): Promise<StoredSlot> => ({ kind: 'file', mode: '100644', oid: await store.writeBuffer('blob', Buffer.from(text)) });
  const sidecar = async (s: Record<string, Record<string, string>>) => blob(serializeSidecar(s));
  const emptyDir = async (): Promise<StoredSlot> => ({ kind: 'dir', oid: await store.writeTree([{ mode: '100644', name: '.davprops', oid: placeholder.oid }]) });
  const rec = (meta: RecordMeta, effects: Effect[]): JournalRecord => ({ seq: ++n, time: n, user: 'ann', meta, effects });

  /** A tree with `files` (path → text), then the editors before and after `records`. */
  async function burst(files: Record<string, string>, records: JournalRecord[]) {
    const e = new TreeEditor(store, EMPTY_TREE, placeholder);
    for (const [path, text] of Object.entries(files)) {
      const segs = path.split('/').slice(1, -1);
      for (let i = 1; i <= segs.length; i++) {
        const d = `/${segs.slice(0, i).join('/')}`;
        if (!(await e.get(d))) await e.set(d, { kind: 'dir', oid: EMPTY_TREE });
      }
      await e.set(path, await blob(text));
    }
    const root = await e.flush();
    const before = new TreeEditor(store, root, placeholder);
    const after = new TreeEditor(store, root, placeholder);
    for (const r of records) for (const eff of r.effects) await after.set(eff.path, eff.slot);
    return { before, after, records };
  }
  const changesOf = async (b: Awaited<ReturnType<typeof burst>>, versionOf?: (p: string, o: string) => Promise<string | undefined>) =>
    netChanges(b.before, b.after, b.records, { store, placeholder, ...(versionOf ? { versionOf } : {}) });
  const brief = (cs: Awaited<ReturnType<typeof changesOf>>) =>
    cs.map((c) => `${c.change} ${c.kind} ${c.path}${c.files !== undefined ? ` ${c.files}` : ''}${c.propsOnly ? ' props' : ''}${c.restoredFrom ? ` from ${c.restoredFrom}` : ''}`);

  it('sed -i: the temp file made and moved over its target is no change; the target is one update', async () => {
    const tmp = await blob('new');
    const b = await burst({ '/docs/plan.md': 'old' }, [
      rec({ op: 'PUT', path: '/docs/sedP6i6w3' }, [{ path: '/docs/sedP6i6w3', slot: await blob('') }]),
      rec({ op: 'PUT', path: '/docs/sedP6i6w3' }, [{ path: '/docs/sedP6i6w3', slot: tmp }]),
      rec({ op: 'MOVE', path: '/docs/sedP6i6w3', to: '/docs/plan.md' }, [{ path: '/docs/sedP6i6w3', slot: null }, { path: '/docs/plan.md', slot: tmp }]),
    ]);
    const cs = await changesOf(b);
    assert.deepEqual(brief(cs), ['update file /docs/plan.md']);
    assert.equal(commitMessage({ records: b.records, changes: cs, trailers: [] }).split('\n')[0], 'Update docs/plan.md');
  });

  it('a folder copied in is one add with its files counted (no sidecars, no placeholders); a deleted one likewise', async () => {
    const records = [rec({ op: 'MKCOL', path: '/tree' }, [{ path: '/tree', slot: await emptyDir() }])];
    for (let i = 0; i < 12; i++) {
      const path = `/tree/d${i % 3}/f${i}.txt`;
      if (i < 3) records.push(rec({ op: 'MKCOL', path: `/tree/d${i}` }, [{ path: `/tree/d${i}`, slot: await emptyDir() }]));
      records.push(rec({ op: 'PUT', path }, [{ path, slot: await blob(`${i}`) }]));
    }
    const b = await burst({ '/keep.txt': 'k' }, records);
    const cs = await changesOf(b);
    assert.deepEqual(brief(cs), ['add dir /tree 12']);
    assert.equal(commitMessage({ records, changes: cs, trailers: [] }).split('\n')[0], 'Add 12 files to tree/');
    const files: Record<string, string> = {};
    for (let i = 0; i < 25; i++) files[`/tree/d4/${i % 2 ? 'b/' : ''}f${i}`] = `${i}`;
    const gone = await burst(files, [rec({ op: 'DELETE', path: '/tree/d4' }, [{ path: '/tree/d4', slot: null }])]);
    const dcs = await changesOf(gone);
    assert.deepEqual(brief(dcs), ['delete dir /tree/d4 25']);
    assert.equal(commitMessage({ records: gone.records, changes: dcs, trailers: [] }).split('\n')[0], 'Delete tree/d4 (25 files)');
  });

  it('mkdir -p is a chain of new folders; a rename keeps its content', async () => {
    const chain = await burst({}, [
      rec({ op: 'MKCOL', path: '/a' }, [{ path: '/a', slot: await emptyDir() }]),
      rec({ op: 'MKCOL', path: '/a/b' }, [{ path: '/a/b', slot: await emptyDir() }]),
      rec({ op: 'MKCOL', path: '/a/b/c' }, [{ path: '/a/b/c', slot: await emptyDir() }]),
    ]);
    const cs = await changesOf(chain);
    assert.deepEqual(brief(cs), ['add dir /a 0', 'add dir /a/b 0', 'add dir /a/b/c 0']);
    assert.equal(commitMessage({ records: chain.records, changes: cs, trailers: [] }).split('\n')[0], 'Create folder a/b/c');
    const a = await blob('a');
    const moved = await burst({ '/a.txt': 'a' }, [rec({ op: 'MOVE', path: '/a.txt', to: '/b.txt' }, [{ path: '/a.txt', slot: null }, { path: '/b.txt', slot: a }])]);
    const mcs = await changesOf(moved);
    assert.deepEqual(brief(mcs), ['delete file /a.txt', 'add file /b.txt']);
    assert.equal(commitMessage({ records: moved.records, changes: mcs, trailers: [] }).split('\n')[0], 'Rename a.txt to b.txt');
  });

  it('a sidecar change is a property change of the member whose key changed; a new folder\'s placeholder is none', async () => {
    const b = await burst({ '/d/x.txt': 'x', '/d/.davprops': serializeSidecar({}) }, [
      rec({ op: 'PROPPATCH', path: '/d/x.txt' }, [{ path: '/d/.davprops', slot: await sidecar({ 'x.txt': { '{urn:a}p': '<v/>' } }) }]),
      rec({ op: 'PROPPATCH', path: '/' }, [{ path: '/.davprops', slot: await sidecar({ [SELF]: { '{urn:a}q': '<w/>' } }) }]),
      rec({ op: 'MKCOL', path: '/e' }, [{ path: '/e', slot: await emptyDir() }, { path: '/e/.davprops', slot: { kind: 'file', mode: '100644', oid: placeholder.oid } }]),
    ]);
    const cs = await changesOf(b);
    assert.deepEqual(brief(cs), ['update dir / props', 'update file /d/x.txt props', 'add dir /e 0']);
    assert.equal(commitMessage({ records: b.records, changes: cs.slice(1, 2), trailers: [] }).split('\n')[0], 'Change properties of d/x.txt');
  });

  it('a file put back to bytes it had in an earlier commit is a restore from that commit (exact blob id, via the path index)', async () => {
    // Two commits of /p.txt: v1, then v2; the burst puts v1's bytes back.
    const who = 'T <t@example.org> 1700000000 +0000';
    const commits: string[] = [];
    for (const text of ['v1', 'v2']) {
      const tree = await store.writeTree([{ mode: '100644', name: 'p.txt', oid: (await blob(text)).oid }]);
      commits.push(await store.writeCommit({ tree, parents: commits.slice(-1), author: who, committer: who, message: `${text}\n` }));
    }
    const index = new PathIndex(store, join(dir, 'state', 'path-index.json'));
    await index.ensure(commits[1]!);
    const v1 = await blob('v1');
    const b = await burst({ '/p.txt': 'v2', '/q.txt': 'q' }, [
      rec({ op: 'PUT', path: '/p.txt' }, [{ path: '/p.txt', slot: v1 }]),
    ]);
    const cs = await changesOf(b, pathIndexVersions(index));
    assert.deepEqual(brief(cs), [`update file /p.txt from ${commits[0]}`]);
    assert.equal(commitMessage({ records: b.records, changes: cs, trailers: [] }).split('\n')[0], `Restore p.txt from ${commits[0]!.slice(0, 7)}`);
    // A folder put back whole by a RESTORE record (a COPY from history) is restored from its commit.
    const folder = await burst({ '/d/x': 'x' }, [
      rec({ op: 'RESTORE', path: '/commits/1a2b3c4/old', to: '/old', restoredFrom: commits[0]! }, [{ path: '/old', slot: { kind: 'dir', oid: (await b.before.get('/'))!.oid! } }]),
    ]);
    const fcs = await changesOf(folder);
    assert.deepEqual(brief(fcs), [`add dir /old 2 from ${commits[0]}`]);
    assert.equal(commitMessage({ records: folder.records, changes: fcs, trailers: [] }).split('\n')[0], `Restore old from ${commits[0]!.slice(0, 7)}`);
    // New bytes, and the empty file (every davfs2 create), are no restore.
    const fresh = await burst({ '/p.txt': 'v2' }, [rec({ op: 'PUT', path: '/p.txt' }, [{ path: '/p.txt', slot: await blob('v3') }])]);
    assert.deepEqual(brief(await changesOf(fresh, pathIndexVersions(index))), ['update file /p.txt']);
  });

  it('never throws for an object it cannot read: a deleted folder\'s missing subtree, a missing sidecar, a failing path index', async () => {
    const missing = '1'.repeat(40);
    const e = new TreeEditor(store, EMPTY_TREE, placeholder);
    await e.set('/d', { kind: 'dir', oid: EMPTY_TREE });
    await e.set('/d/x.txt', await blob('x'));
    await e.set('/d/sub', { kind: 'dir', oid: missing }); // a corrupt pack, a partial clone
    await e.set('/p', { kind: 'dir', oid: EMPTY_TREE });
    await e.set('/p/.davprops', { kind: 'file', mode: '100644', oid: '2'.repeat(40) });
    await e.set('/q.txt', await blob('q'));
    const root = await e.flush();
    const before = new TreeEditor(store, root, placeholder);
    const after = new TreeEditor(store, root, placeholder);
    const records = [
      rec({ op: 'DELETE', path: '/d' }, [{ path: '/d', slot: null }]),
      rec({ op: 'PROPPATCH', path: '/p' }, [{ path: '/p/.davprops', slot: await sidecar({ [SELF]: { '{urn:a}p': '<v/>' } }) }]),
      rec({ op: 'PUT', path: '/q.txt' }, [{ path: '/q.txt', slot: await blob('q2') }]),
    ];
    for (const r of records) for (const eff of r.effects) await after.set(eff.path, eff.slot);
    await after.flush(); // the commit itself needs none of the missing objects
    const failing = async (): Promise<string | undefined> => {
      throw new Error('path index unreadable');
    };
    const cs = await netChanges(before, after, records, { store, placeholder, versionOf: failing });
    assert.deepEqual(brief(cs), ['delete dir /d', 'update dir /p props', 'update file /q.txt']);
    assert.equal(commitMessage({ records, changes: cs, trailers: [] }).split('\n')[0], 'Update 2, delete 1');
    // Should the committer still fail to describe a burst, the plain message reads nothing.
    assert.equal(fallbackMessage(records, ['Gitdav-Journal: 3']), 'Change 3 paths\n\n* d\n* p/.davprops\n* q.txt\n\nRemote-User: ann\nGitdav-Journal: 3\n');
  });

  it('a walk stopped early counts as the cap (100000+), never as a partial count that looks exact', async () => {
    // 12 folders of one file each: with a cap of 2 the walk stops on its step bound (4 × cap = 8
    // members) or its file bound, and says `cap` either way.
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) files[`/t/d${i}/f`] = `${i}`;
    const b = await burst(files, []);
    const t = (await b.before.get('/t'))!;
    assert.equal(t.kind, 'dir');
    if (t.kind !== 'dir') return;
    assert.equal(await countFiles(b.before, t, placeholder.name, 2), 2);
    assert.equal(await countFiles(b.before, t, placeholder.name, 100), 12);
    const folders: Record<string, string> = {};
    for (let i = 0; i < 12; i++) folders[`/u/d${i}/.davprops`] = serializeSidecar({});
    folders['/u/f'] = 'f';
    const ub = await burst(folders, []);
    const u = (await ub.before.get('/u'))!;
    if (u.kind !== 'dir') throw new Error('no /u');
    // Thirteen members, one of them a file: stopped on steps at a cap of 3 (13 ≥ 4 × 3), not "1".
    assert.equal(await countFiles(ub.before, u, placeholder.name, 3), 3);
    assert.equal(await countFiles(ub.before, u, placeholder.name, 10), 1);
  });
});

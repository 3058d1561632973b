/**
 * The tree editor's in-place edits (a batch of PUTs into one big folder copies its map once), the
 * undo journal that keeps "an operation applies whole or not at all" true with them, and the object
 * writer's answer to `git prune-packed` removing a fanout folder under it.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObjectStore } from '../backends/git/objects.js';
import fc from 'fast-check';
import { searchTreeEntry } from '../backends/git/object-format.js';
import { TreeEditor, type Slot } from '../backends/git/tree.js';
import { setGitProbe } from '../backends/git/probe.js';
import { cacheCounts } from '../backends/util/stats.js';
import { tool } from './helpers/tools.js';

const PLACEHOLDER = { name: '.keep', oid: 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391' };

describe('git tree editor', function () {
  this.timeout(30_000);
  let dir: string;
  let store: ObjectStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-tree-'));
    await tool('git', ['init', '-q', '--bare', dir]);
    store = new ObjectStore(dir);
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  const file = async (text: string): Promise<Slot> => ({ kind: 'file', mode: '100644', oid: await store.writeBuffer('blob', Buffer.from(text)) });
  const names = async (e: TreeEditor, path: string) => {
    const slot = await e.get(path);
    assert.ok(slot && slot.kind === 'dir');
    return [...(await e.entries(slot)).keys()].sort();
  };

  it('a rollback that restores a folder in place drops the id hashed for it meanwhile', async () => {
    const empty = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
    const e = new TreeEditor(store, empty, PLACEHOLDER);
    await e.set('/d', { kind: 'dir', entries: new Map() });
    await e.set('/d/a', await file('a')); // /d is now a copy this editor owns
    e.begin();
    await e.set('/d/b', await file('b')); // edited in place (undo keeps it)
    await e.set('/x', { kind: 'dir', entries: new Map() }); // a folder slot placed: nothing is owned any more
    const d = await e.get('/d');
    assert.ok(d && d.kind === 'dir');
    e.hash(d); // e.g. a guard's If-Match on the folder
    e.rollback(); // /d loses b in place
    const want = new TreeEditor(store, empty, PLACEHOLDER);
    await want.set('/d', { kind: 'dir', entries: new Map() });
    await want.set('/d/a', await file('a'));
    const wantD = await want.get('/d');
    assert.ok(wantD && wantD.kind === 'dir');
    assert.equal(e.hash(d), want.hash(wantD));
  });

  it('edits a copied folder in place and still writes the same trees as git', async () => {
    const e = new TreeEditor(store, '4b825dc642cb6eb9a060e54bf8d69288fbee4904', PLACEHOLDER);
    await e.set('/cal', { kind: 'dir', oid: '4b825dc642cb6eb9a060e54bf8d69288fbee4904' });
    for (let i = 0; i < 50; i++) await e.set(`/cal/ev-${i}.ics`, await file(`event ${i}`));
    await e.set('/cal/ev-7.ics', null);
    const root = await e.flush();
    const r = await tool('git', ['--git-dir', dir, 'ls-tree', '-r', '--name-only', root]);
    assert.equal(r.code, 0, r.stderr);
    const listed = r.stdout.trim().split('\n');
    assert.equal(listed.length, 49);
    assert.ok(!listed.includes('cal/ev-7.ics'));
    const fsck = await tool('git', ['--git-dir', dir, 'fsck', '--strict', root]);
    assert.equal(fsck.code, 0, fsck.stderr);
  });

  it('rolls back an operation whose edits were made in place', async () => {
    const e = new TreeEditor(store, '4b825dc642cb6eb9a060e54bf8d69288fbee4904', PLACEHOLDER);
    await e.set('/cal', { kind: 'dir', oid: '4b825dc642cb6eb9a060e54bf8d69288fbee4904' });
    await e.set('/cal/a.ics', await file('a'));
    const before = await e.flush();
    e.begin();
    await e.set('/cal/b.ics', await file('b')); // in place: /cal is already this editor's copy
    await e.set('/cal/a.ics', null);
    await e.set('/other', { kind: 'dir', oid: '4b825dc642cb6eb9a060e54bf8d69288fbee4904' });
    await e.set('/other/c.txt', await file('c'));
    e.rollback();
    assert.deepEqual(await names(e, '/cal'), ['a.ics']);
    assert.equal(await e.get('/other'), null);
    assert.equal(await e.flush(), before);
    // and edits after a rollback still land
    e.begin();
    await e.set('/cal/d.ics', await file('d'));
    assert.deepEqual(await names(e, '/cal'), ['a.ics', 'd.ics']);
  });

  it('never edits a folder slot that also sits at another path (COPY inside one batch)', async () => {
    const e = new TreeEditor(store, '4b825dc642cb6eb9a060e54bf8d69288fbee4904', PLACEHOLDER);
    await e.set('/a', { kind: 'dir', oid: '4b825dc642cb6eb9a060e54bf8d69288fbee4904' });
    await e.set('/a/x.txt', await file('x'));
    await e.set('/b', await e.get('/a')); // same slot object at two paths
    await e.set('/b/y.txt', await file('y'));
    await e.set('/a/z.txt', await file('z'));
    assert.deepEqual(await names(e, '/a'), ['x.txt', 'z.txt']);
    assert.deepEqual(await names(e, '/b'), ['x.txt', 'y.txt']);
  });

  it('a folder of 5,000 members: look-ups search its tree (no slot map), listing passes over it in order, edits still apply', async () => {
    const blob = await store.writeBuffer('blob', Buffer.from('x'));
    const inner = await store.writeTree([{ mode: '100644', name: 'in.txt', oid: blob }]);
    const members = Array.from({ length: 5000 }, (_, i) => ({ mode: '100644', name: `f${i}.txt`, oid: blob }));
    members.push({ mode: '40000', name: 'f1', oid: inner }, { mode: '100755', name: 'f1.sh', oid: blob });
    const big = await store.writeTree(members);
    const root = await store.writeTree([{ mode: '40000', name: 'big', oid: big }]);
    const e = new TreeEditor(store, root, PLACEHOLDER);
    assert.deepEqual(await e.get('/big/f4999.txt'), { kind: 'file', mode: '100644', oid: blob });
    assert.deepEqual(await e.get('/big/f1.sh'), { kind: 'file', mode: '100755', oid: blob });
    assert.deepEqual(await e.get('/big/f1'), { kind: 'dir', oid: inner });
    assert.deepEqual(await e.get('/big/f1/in.txt'), { kind: 'file', mode: '100644', oid: blob });
    assert.equal(await e.get('/big/f5000.txt'), null);
    assert.equal(await e.get('/big/.davprops'), null);
    const bigSlot = (await e.get('/big')) as Slot & { kind: 'dir' };
    const listed = [...(await e.members(bigSlot))].map(([n]) => n);
    assert.deepEqual(listed, (await store.readTree(big)).map((m) => m.name));
    // Neither the look-ups nor the listing built /big's slot map: the first entries() call builds it.
    const slotMaps = cacheCounts('git_tree_slots');
    const misses = slotMaps.misses;
    await e.entries(bigSlot);
    assert.equal(slotMaps.misses, misses + 1, "/big's slot map was already built");
    await e.set('/big/new.txt', await file('n'));
    assert.deepEqual(await e.get('/big/new.txt'), { kind: 'file', mode: '100644', oid: (await e.get('/big/new.txt'))!.oid });
    assert.deepEqual(await e.get('/big/f4999.txt'), { kind: 'file', mode: '100644', oid: blob });
    const edited = (await e.get('/big')) as Slot & { kind: 'dir' };
    assert.equal([...(await e.members(edited))].length, 5003);
    const flushed = await e.flush();
    const r = await tool('git', ['--git-dir', dir, 'ls-tree', '--name-only', `${flushed}:big`]);
    assert.equal(r.stdout.trim().split('\n').length, 5003);
  });

  it('property: the search finds every member of a tree in git\'s own order (git mktree sorts it)', async () => {
    const name = fc.stringOf(fc.constantFrom('a', 'b', '-', '.', '0', ' ', 'é', '\u{1F600}'), { minLength: 1, maxLength: 4 });
    const kind = fc.constantFrom(['100644', 'blob'], ['100755', 'blob'], ['120000', 'blob'], ['040000', 'tree'], ['160000', 'commit']);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.record({ name, kind }), { selector: (m) => m.name, minLength: 1, maxLength: 40 }), async (ms) => {
        const input = ms.map((m) => `${m.kind[0]} ${m.kind[1]} ${PLACEHOLDER.oid}\t${m.name}\0`).join('');
        const r = await tool('git', ['--git-dir', dir, 'mktree', '-z', '--missing'], { input });
        assert.equal(r.code, 0, r.stderr);
        const t = await store.readTree(r.stdout.trim());
        assert.equal(t.length, ms.length);
        for (const e of t) assert.equal(searchTreeEntry(t, e.name), e, e.name);
      }),
      { numRuns: 25 },
    );
  });

  it('looks a path up once per state: a stored tree by id (any editor), an edited state until its next edit', async () => {
    const base = new TreeEditor(store, '4b825dc642cb6eb9a060e54bf8d69288fbee4904', PLACEHOLDER);
    await base.set('/a', { kind: 'dir', oid: '4b825dc642cb6eb9a060e54bf8d69288fbee4904' });
    await base.set('/a/x.txt', await file('x'));
    const tree = await base.flush();
    const walks: string[] = [];
    setGitProbe({ ref: () => undefined, commit: () => undefined, walk: (p) => walks.push(p) });
    try {
      const x = await new TreeEditor(store, tree, PLACEHOLDER).get('/a/x.txt');
      const e = new TreeEditor(store, tree, PLACEHOLDER);
      assert.equal(await e.get('/a/x.txt'), x); // the same tree, another editor: no walk
      assert.deepEqual(walks, ['/a/x.txt']);
      e.begin();
      const y = await file('y');
      await e.set('/a/x.txt', y);
      assert.equal(await e.get('/a/x.txt'), y); // what was just put there
      assert.equal((await e.get('/a/y.txt')), null);
      await e.set('/a/y.txt', y);
      assert.equal(await e.get('/a/y.txt'), y); // a null found before the edit is forgotten
      await e.set('/a', { kind: 'dir', oid: '4b825dc642cb6eb9a060e54bf8d69288fbee4904' });
      assert.equal(await e.get('/a/x.txt'), null); // an edit above a path forgets it too
      await e.set('/a', null);
      assert.equal(await e.get('/a'), null);
      e.rollback();
      assert.equal(await e.get('/a/x.txt'), x); // back to the stored tree
      assert.equal(await e.get('/a/y.txt'), null);
    } finally {
      setGitProbe(undefined);
    }
  });

  it('writes an object when git prune-packed removed its fanout folder just before the rename', async () => {
    const rename = fsp.rename;
    let raced = 0;
    // Remove the (new, empty) fanout folder between our mkdir and our rename, as prune-packed does.
    (fsp as { rename: typeof rename }).rename = async (from, to) => {
      if (raced++ === 0) await rm(join(String(to), '..'), { recursive: true, force: true });
      return rename(from, to);
    };
    let oid: string;
    try {
      oid = await store.writeBuffer('blob', Buffer.from('raced\n'));
    } finally {
      (fsp as { rename: typeof rename }).rename = rename;
    }
    assert.equal(raced, 2);
    const r = await tool('git', ['--git-dir', dir, 'cat-file', '-p', oid]);
    assert.equal(r.stdout, 'raced\n');
    const leftovers = (await readdir(join(dir, 'objects'))).filter((n) => n.startsWith('tmp'));
    assert.deepEqual(leftovers, []);
  });
});

/**
 * backends/git/path-index-derived.ts through the path index: the names ever seen under a folder and
 * the paths each commit removed (at their top) agree with a plain reading of the trees, whether
 * built at once, extended as commits are appended, or rebuilt from a saved index.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ObjectStore, compareTreeEntries, type TreeEntry } from '../../backends/git/objects.js';
import { PathIndex } from '../../backends/git/path-index.js';

const who = (t: number) => `Test <test@example.org> ${t} +0000`;
/** A small universe of files, nested so that folders appear, empty and vanish. */
const FILES = ['/a.txt', '/d/x.txt', '/d/y.txt', '/d/e/z.txt', '/f/g/h.txt', '/f/k.txt'];

/** Every folder and file a set of files implies (without `/`). */
function pathsOf(files: string[]): Set<string> {
  const out = new Set<string>();
  for (const f of files) {
    const segs = f.split('/').filter(Boolean);
    for (let i = 1; i <= segs.length; i++) out.add('/' + segs.slice(0, i).join('/'));
  }
  return out;
}

async function treeOf(store: ObjectStore, files: string[], version: number, dir = ''): Promise<string> {
  const names = new Map<string, 'file' | 'dir'>();
  for (const f of files) {
    if (!f.startsWith(dir + '/')) continue;
    const rest = f.slice(dir.length + 1).split('/');
    names.set(rest[0]!, rest.length === 1 ? 'file' : 'dir');
  }
  const entries: TreeEntry[] = [];
  for (const [name, kind] of names) {
    entries.push(
      kind === 'file'
        ? { mode: '100644', name, oid: await store.writeBuffer('blob', Buffer.from(`${dir}/${name} ${version}\n`)) }
        : { mode: '40000', name, oid: await treeOf(store, files, version, `${dir}/${name}`) },
    );
  }
  entries.sort(compareTreeEntries);
  return store.writeTree(entries);
}

describe('path index: deleted paths and names ever seen (path-index-derived.ts)', () => {
  let dir: string;
  let n = 0;
  before(async () => (dir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-derived-'))));
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it('agree with the trees: built at once, extended commit by commit, and after a reload', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.subarray(FILES), { minLength: 1, maxLength: 8 }), fc.nat(8), fc.integer({ min: 1, max: 10 }), async (states, askAt, slice) => {
        const gitdir = join(dir, `repo${n++}.git`);
        await fsp.mkdir(join(gitdir, 'objects', 'pack'), { recursive: true });
        const store = new ObjectStore(gitdir);
        const file = join(dir, `state${n++}`, 'path-index.json');
        const live = new PathIndex(store, file, 500, slice);
        const commits: string[] = [];
        for (let i = 0; i < states.length; i++) {
          const tree = await treeOf(store, states[i]!, i);
          commits.push(await store.writeCommit({ tree, parents: commits.slice(-1), author: who(1_700_000_000 + i), committer: who(1_700_000_000 + i), message: `c${i}\n` }));
          if (i === askAt) {
            // Built while the index appends: what the build does not reach, the appends must bring.
            const building = live.deletions();
            await live.ensure(commits[i]!);
            await building;
            await live.childrenOf('/');
          } else await live.ensure(commits[i]!);
        }
        // The plain reading: a path present before a commit and absent after, whose parent stands after.
        const expected: Array<{ at: number; path: string }> = [];
        for (let i = 1; i < states.length; i++) {
          const before = pathsOf(states[i - 1]!);
          const after = pathsOf(states[i]!);
          for (const p of [...before].sort()) {
            const parent = p.slice(0, p.lastIndexOf('/')) || '/';
            if (!after.has(p) && (parent === '/' || after.has(parent))) expected.push({ at: i, path: p });
          }
        }
        const sorted = (r: readonly { at: number; path: string }[]) => [...r].sort((a, b) => a.at - b.at || (a.path < b.path ? -1 : 1));
        const ever = new Set(states.flatMap((s) => [...pathsOf(s)]));
        const kids = (d: string) => [...ever].filter((p) => (p.slice(0, p.lastIndexOf('/')) || '/') === d).map((p) => p.slice(p.lastIndexOf('/') + 1)).sort();
        await live.save();
        const reloaded = new PathIndex(store, file);
        await reloaded.load();
        await reloaded.ensure(commits[commits.length - 1]!);
        for (const index of [live, reloaded]) {
          const found = (await index.deletions()).commits.flatMap((c) => c.paths.map((path) => ({ at: c.at, path })));
          assert.deepEqual(sorted(found), expected);
          for (const d of ['/', '/d', '/d/e', '/f', '/f/g']) assert.deepEqual((await index.childrenOf(d)).sort(), kids(d), d);
          for (const c of (await index.deletions()).commits) {
            assert.ok((await index.deletions()).byShort(index.all()[c.at]!.oid.slice(0, 7)).includes(c), 'found by its short id');
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('are built in slices that let the event loop turn, not in one block', async () => {
    const gitdir = join(dir, `repo${n++}.git`);
    await fsp.mkdir(join(gitdir, 'objects', 'pack'), { recursive: true });
    const store = new ObjectStore(gitdir);
    const index = new PathIndex(store, join(dir, `state${n++}`, 'path-index.json'), 500, 10);
    // 40 commits, each removing one of 40 files and changing 2 paths or more: a build of > 80 paths.
    const files = Array.from({ length: 40 }, (_, i) => `/d/f${i}.txt`);
    let parent: string[] = [];
    for (let i = 0; i <= files.length; i++) {
      const tree = await treeOf(store, files.slice(i), i);
      parent = [await store.writeCommit({ tree, parents: parent, author: who(1_700_000_000 + i), committer: who(1_700_000_000 + i), message: `c${i}\n` })];
    }
    await index.ensure(parent[0]!);
    let turns = 0;
    let counting = true;
    const count = () => {
      if (!counting) return;
      turns++;
      setImmediate(count);
    };
    setImmediate(count);
    const deletions = await index.deletions();
    counting = false;
    assert.equal(deletions.commits.length, 40); // the last one removes /d itself
    assert.ok(turns >= 8, `the event loop turned ${turns} times during the build`);
  });
});

/**
 * backends/git/path-index.ts and path-index-file.ts: the save never writes an index halfway through a
 * catch-up, yields between slices, is skipped while another process saves; a path changed often is
 * searched from its newest change (bounded by records examined, not time); a malformed file never
 * hangs the load and is rebuilt.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ObjectStore } from '../../backends/git/objects.js';
import { indexFileText, parseIndexFile } from '../../backends/git/path-index-file.js';
import { PathIndex } from '../../backends/git/path-index.js';
import { LockFile } from '../../backends/util/lock-file.js';
import { turnsDuring } from '../helpers/steps.js';

const who = (t: number) => `Test <test@example.org> ${t} +0000`;

interface History {
  store: ObjectStore;
  commits: string[];
  /** The tree of /d after each commit. */
  trees: string[];
}

/** `count` commits after `from`: each changes /d/a.txt and adds /d/f<i>.txt. */
async function grow(store: ObjectStore, h: { commits: string[]; trees: string[] }, count: number): Promise<void> {
  for (let k = 0; k < count; k++) {
    const i = h.commits.length;
    const entries = [{ mode: '100644', name: 'a.txt', oid: await store.writeBuffer('blob', Buffer.from(`${i}\n`)) }];
    const f = await store.writeBuffer('blob', Buffer.from('f\n'));
    for (let j = 0; j <= i && j < 50; j++) entries.push({ mode: '100644', name: `f${j}.txt`, oid: f });
    entries.sort((x, y) => (x.name < y.name ? -1 : 1));
    const sub = await store.writeTree(entries);
    const tree = await store.writeTree([{ mode: '40000', name: 'd', oid: sub }]);
    h.trees.push(sub);
    h.commits.push(await store.writeCommit({ tree, parents: h.commits.slice(-1), author: who(1_700_000_000 + i), committer: who(1_700_000_000 + i), message: `c${i}\n` }));
  }
}

describe('git path index', () => {
  let dir: string;
  let n = 0;
  before(async () => (dir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-path-index-'))));
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  async function history(count: number): Promise<History> {
    const gitdir = join(dir, `repo${n++}.git`);
    await fsp.mkdir(join(gitdir, 'objects', 'pack'), { recursive: true });
    const h = { store: new ObjectStore(gitdir), commits: [] as string[], trees: [] as string[] };
    await grow(h.store, h, count);
    return h;
  }
  const stateFile = () => join(dir, `state${n++}`, 'path-index.json');

  it('a save asked for during a catch-up waits for it: the file never holds a tip with half its commits', async () => {
    const h = await history(5);
    const file = stateFile();
    const index = new PathIndex(h.store, file);
    await index.ensure(h.commits.at(-1)!);
    await grow(h.store, h, 60);
    // The catch-up stops at commit 30's append (its second read: the walk back read it first) until released.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const read = h.store.readCommit.bind(h.store);
    let reads = 0;
    h.store.readCommit = async (oid: string) => {
      if (oid === h.commits[30] && ++reads === 2) await gate;
      return read(oid);
    };
    const catchUp = index.ensure(h.commits.at(-1)!);
    while (reads < 2) await new Promise((r) => setImmediate(r));
    assert.equal(index.all().length, 30, 'halfway through the catch-up');
    const save = index.save();
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    release();
    await Promise.all([catchUp, save]);
    const saved = JSON.parse(await fsp.readFile(file, 'utf8')) as { tip: string; commits: { oid: string }[] };
    assert.equal(saved.tip, saved.commits.at(-1)!.oid, 'the saved tip is the last saved commit');
    assert.equal(saved.tip, h.commits.at(-1));
  });

  it('a catch-up while the text is built (in slices) is left out of the file, which loads and catches up like a fresh build', async () => {
    const h = await history(30);
    const file = stateFile();
    const index = new PathIndex(h.store, file);
    await index.ensure(h.commits.at(-1)!);
    await grow(h.store, h, 20);
    const text = indexFileText(index.all(), 30, pathsOf(index), 3);
    const catchUp = index.ensure(h.commits.at(-1)!);
    await fsp.mkdir(join(file, '..'), { recursive: true });
    await fsp.writeFile(file, await text);
    await catchUp;
    assert.equal(index.all().length, 50);
    // The same once the catch-up has ended: every record of commits 30–49 (pushed, new paths, a
    // path's one string become an array) is left out.
    assert.equal(await indexFileText(index.all(), 30, pathsOf(index), 3), await text);
    const saved = JSON.parse(await fsp.readFile(file, 'utf8')) as { tip: string; commits: unknown[] };
    assert.equal(saved.tip, h.commits[29]);
    assert.equal(saved.commits.length, 30);
    const loaded = new PathIndex(h.store, file);
    await loaded.load();
    assert.equal(loaded.all().length, 30, 'the file was trusted');
    await loaded.ensure(h.commits.at(-1)!);
    for (const path of ['/', '/d', '/d/a.txt', '/d/f0.txt', '/d/f40.txt']) {
      assert.deepEqual(loaded.changesOf(path).map((c) => [c.commit.oid, c.oid]), index.changesOf(path).map((c) => [c.commit.oid, c.oid]), path);
    }
    assert.deepEqual([...loaded.changedAfter(25)].sort(), [...index.changedAfter(25)].sort());
  });

  it('the text is built in slices, the event loop turning between them', async () => {
    const h = await history(40);
    const index = new PathIndex(h.store, stateFile());
    await index.ensure(h.commits.at(-1)!);
    const paths = new Map(Object.entries((JSON.parse(await indexFileText(index.all(), 40, pathsOf(index), 10)) as { paths: Record<string, string> }).paths));
    assert.ok(paths.size > 40);
    const { turns } = await turnsDuring(() => indexFileText(index.all(), 40, pathsOf(index), 10));
    assert.ok(turns >= Math.floor(paths.size / 10) - 1, `${turns} turns for ${paths.size} paths`);
  });

  it('a deferred save (ifFree) is skipped while another process holds the lock; a plain save waits for it', async () => {
    const h = await history(3);
    const file = stateFile();
    const index = new PathIndex(h.store, file);
    await index.ensure(h.commits.at(-1)!);
    await new LockFile(`${file}.lock`).run(() => index.save({ ifFree: true }), { makeDir: true });
    await assert.rejects(fsp.stat(file), { code: 'ENOENT' }, 'skipped');
    await index.save();
    assert.equal((JSON.parse(await fsp.readFile(file, 'utf8')) as { tip: string }).tip, h.commits.at(-1));
    assert.deepEqual(await fsp.readdir(join(file, '..')), ['path-index.json'], 'no lock or temp file left');
  });

  it('the latest state of a path changed in every commit is found from the newest change, not by a scan of its history', async () => {
    const h = await history(300);
    const file = stateFile();
    const built = new PathIndex(h.store, file);
    await built.ensure(h.commits.at(-1)!);
    await built.save();
    const loaded = new PathIndex(h.store, file);
    await loaded.load();
    for (const index of [built, loaded]) {
      index.stats.examined = 0;
      assert.equal(index.commitWhere('/d', h.trees[299]!), 299);
      assert.equal(index.stats.examined, 1, 'one record examined');
      assert.equal(index.commitWhere('/d', h.trees[290]!), 290);
      assert.equal(index.stats.examined, 1 + 10);
      index.stats.examined = 0;
      assert.equal(index.oidAt('/d', 150), h.trees[150]);
      assert.ok(index.stats.examined <= 10, `binary search: ${index.stats.examined}`);
      assert.equal(index.changesOf('/d/a.txt').length, 300);
      assert.equal(index.lastChange('/d/a.txt')?.oid, h.commits[299]);
      assert.equal(index.firstChange('/d/f49.txt')?.oid, h.commits[49]);
      assert.equal(index.changesOf('/d/f49.txt').length, 1);
      assert.equal(index.oidAt('/d/f49.txt', 48), null);
    }
  });

  it('a malformed version-3 file (a record with no separator) is rebuilt, not looped on', async () => {
    const h = await history(2);
    const file = stateFile();
    await fsp.mkdir(join(file, '..'), { recursive: true });
    const commits = [{ oid: h.commits[0], time: 1, author: 'a', tree: h.trees[0] }];
    await fsp.writeFile(file, JSON.stringify({ version: 3, tip: h.commits[0], commits, paths: { '/a': '5' } }));
    assert.throws(() => parseIndexFile(JSON.stringify({ version: 3, tip: h.commits[0], commits, paths: { '/a': '5' } })), /malformed record/);
    const index = new PathIndex(h.store, file);
    await index.load();
    assert.equal(index.all().length, 0, 'not loaded');
    await index.ensure(h.commits[1]!);
    assert.equal(index.all().length, 2);
  });

  it('property: any text, or a valid file with characters changed or cut, either loads consistently or throws (and never hangs)', async () => {
    const h = await history(12);
    const index = new PathIndex(h.store, stateFile());
    await index.ensure(h.commits.at(-1)!);
    const valid = await indexFileText(index.all(), 12, pathsOf(index));
    const check = (text: string) => {
      let loaded;
      try {
        loaded = parseIndexFile(text);
      } catch {
        return;
      }
      if (!loaded) return;
      assert.equal(loaded.tip, loaded.commits.at(-1)?.oid ?? null);
      for (const [path, changes] of loaded.paths) {
        const list = typeof changes === 'string' ? [changes] : changes;
        for (const rec of list) assert.ok(parseInt(rec, 36) < loaded.commits.length, path);
      }
    };
    fc.assert(fc.property(fc.string(), (s) => check(s)), { numRuns: 300 });
    fc.assert(fc.property(fc.string({ maxLength: 30 }), (s) => check(`{"version":3,"tip":null,"commits":[],"paths":{"/a":${JSON.stringify(s)}}}`)), { numRuns: 300 });
    const edit = fc.tuple(fc.nat({ max: valid.length - 1 }), fc.constantFrom(...'0123456789abcdefz:/,"{}[] '));
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), fc.nat({ max: valid.length }), (edits, cut) => {
        let text = valid;
        for (const [at, ch] of edits) text = text.slice(0, at) + ch + text.slice(at + 1);
        check(text);
        check(text.slice(0, cut));
      }),
      { numRuns: 300 },
    );
  });
});

/** The index's paths (private), for indexFileText. */
function pathsOf(index: PathIndex): Map<string, string | string[]> {
  return (index as unknown as { paths: Map<string, string | string[]> }).paths;
}

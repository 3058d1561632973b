/**
 * Which commits changed which paths, on the served branch's first-parent history
 * (docs/git-backend.md, "The path index": never `log -- path` per request, 21 s on a 10k-commit history). Built once by diffing each commit's
 * tree against its parent's (only subtrees whose ids differ are read), saved in the state dir, and
 * caught up incrementally whenever the branch tip moves (by us, another process, or native git).
 * Folders count as changed when anything below them changed; `/` changes with every commit.
 */
import { promises as fsp } from 'node:fs';
import { joinPath } from '../backend.js';
import { writeFileDurably } from '../util/durable-file.js';
import { heldByLive, LockFile } from '../util/lock-file.js';
import { asList, holds, indexFileChunks, indexOf, parseIndexFile, parseRecord, record, type Changes, type CommitMeta } from './path-index-file.js';
import { EMPTY_TREE, compareTreeEntries, type ObjectStore, type TreeEntry } from './objects.js';
import { DerivedPaths } from './path-index-derived.js';

export type { CommitMeta } from './path-index-file.js';
export type { DeletingCommit } from './path-index-derived.js';

/** A change with its commit, as callers see it. */
export interface PathChange {
  commit: CommitMeta;
  /** The blob or tree id after the change; null when the commit removed the path. */
  oid: string | null;
  isTree: boolean;
}

/** How many commits one catch-up may walk before it gives up and rebuilds from scratch. */
const MAX_WALK = 1_000_000;

export class PathIndex {
  private tip: string | null = null;
  /** Oldest first. */
  private commits: CommitMeta[] = [];
  private byOid = new Map<string, number>();
  /**
   * A path's changes as records (path-index-file.ts): one string for a path changed once, an array
   * for one changed more often. At 100,000 paths, arrays of [index, id, flag] arrays held ~230 bytes
   * and four heap objects a path (31 MB); one string holds ~130 bytes.
   */
  private paths = new Map<string, Changes>();
  /** The inverse: for each commit (by index), the paths it changed. Derived, never saved. */
  private byCommit: string[][] = [];
  private updating: Promise<void> | null = null;
  private dirty = false;
  /** Held by the one process saving the file, so workers started together do not all write it at once. */
  private readonly lock: LockFile;
  /** Records looked at by commitWhere and oidAt: for tests, which bound the work by steps. */
  readonly stats = { examined: 0 };
  /** The index of the commit being appended (its changes are not all in yet), or -1. */
  private appending = -1;
  /** Folders' names ever seen and the commits that deleted paths: derived on use, never saved. */
  private readonly derived: DerivedPaths;

  constructor(
    private readonly store: ObjectStore,
    private readonly file: string,
    /** Paths written per turn of the event loop when saving (indexFileText). */
    private readonly saveSlice = 500,
    /** Changed paths the derived views fold per turn of the event loop (path-index-derived.ts). */
    derivedSlice?: number,
  ) {
    this.lock = new LockFile(`${file}.lock`);
    this.derived = new DerivedPaths(
      {
        changedBy: (at) => this.byCommit[at] ?? [],
        commitCount: () => (this.appending >= 0 ? this.appending : this.commits.length),
        oidAt: (path, at) => this.oidAt(path, at),
        oidOf: (at) => this.commits[at]!.oid,
      },
      derivedSlice,
    );
  }

  async load(): Promise<void> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch {
      return; // missing or unreadable: rebuilt on first use
    }
    try {
      const loaded = parseIndexFile(text);
      if (!loaded) return;
      this.reset();
      ({ tip: this.tip, commits: this.commits, paths: this.paths, byCommit: this.byCommit } = loaded);
      this.byOid = new Map(this.commits.map((c, i) => [c.oid, i]));
    } catch {
      this.reset(); // malformed (a partial write after a power cut, a bug): rebuilt from the history
    }
  }

  /**
   * Writes the index if it changed. It is a cache, so 'atomic' (no fsync): one lost or emptied by a
   * power cut does not parse and is rebuilt from the history (load). A failure (a full disk) is
   * retried at the next save. Never halfway through a catch-up: it waits for one to end, and writes
   * the commits there were then (a catch-up that starts while the text is built is left out).
   * `ifFree`: skip the save when another process is saving (the file it writes is as good).
   */
  async save(options: { ifFree?: boolean } = {}): Promise<void> {
    if (options.ifFree && (await heldByLive(this.lock.file))) return;
    await this.lock.run(async () => {
      while (this.updating) await this.updating;
      if (!this.dirty) return;
      this.dirty = false;
      try {
        const text = indexFileChunks(this.commits, this.commits.length, this.paths, this.saveSlice);
        await writeFileDurably(this.file, text, { durability: 'atomic' });
      } catch (err) {
        this.dirty = true;
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOSPC' && code !== 'EDQUOT') throw err;
      }
    }, { makeDir: true });
  }

  /** Brings the index up to `tip` (the branch's current commit). Cheap when nothing moved. */
  async ensure(tip: string | null): Promise<void> {
    while (this.tip !== tip) {
      this.updating ??= this.catchUp(tip).finally(() => (this.updating = null));
      await this.updating;
    }
  }

  private async catchUp(tip: string | null): Promise<void> {
    // Walk back from the new tip until we reach a commit we know (or the root).
    const fresh: string[] = [];
    let cursor = tip;
    while (cursor && !this.byOid.has(cursor) && fresh.length < MAX_WALK) {
      fresh.push(cursor);
      cursor = (await this.store.readCommit(cursor)).parents[0] ?? null;
    }
    if (cursor !== null && cursor !== this.tip) {
      // The branch was rewound or rewritten below our tip: start over from what is there now.
      this.reset();
      return this.catchUp(tip);
    }
    if (cursor === null && this.commits.length) this.reset();
    for (const oid of fresh.reverse()) await this.append(oid);
    this.tip = tip;
    this.dirty = true;
  }

  private reset(): void {
    this.tip = null;
    this.commits = [];
    this.byOid = new Map();
    this.paths = new Map();
    this.byCommit = [];
    this.derived.reset();
  }

  private async append(oid: string): Promise<void> {
    const c = await this.store.readCommit(oid);
    const parentTree = c.parents[0] ? (await this.store.readCommit(c.parents[0])).tree : EMPTY_TREE;
    const index = this.commits.length;
    this.commits.push({ oid, time: c.author.timestamp, author: c.author.name, tree: c.tree });
    this.byOid.set(oid, index);
    this.byCommit[index] = [];
    const mark = (path: string, oid: string | null, tree: boolean) => {
      this.byCommit[index]!.push(path);
      const change = record(index, oid, tree);
      const list = this.paths.get(path);
      if (typeof list === 'object') list.push(change);
      else this.paths.set(path, list === undefined ? change : [list, change]);
    };
    this.appending = index;
    try {
      mark('/', c.tree, true);
      await this.diff(parentTree, c.tree, '/', mark);
    } finally {
      this.appending = -1;
    }
    this.derived.appended(index);
  }

  /** Marks every path whose entry differs between two trees, recursing only into changed subtrees. */
  private async diff(a: string, b: string, dir: string, mark: (p: string, oid: string | null, tree: boolean) => void): Promise<void> {
    if (a === b) return;
    // Both lists are in git's tree order: one merge walk, no maps (a flat folder may hold 10k files).
    const left = await this.store.readTree(a);
    const right = await this.store.readTree(b);
    let i = 0;
    let j = 0;
    while (i < left.length || j < right.length) {
      const order = i >= left.length ? 1 : j >= right.length ? -1 : compareTreeEntries(left[i]!, right[j]!);
      const l = order <= 0 ? left[i++] : undefined;
      const r = order >= 0 ? right[j++] : undefined;
      if (l && r && l.oid === r.oid && l.mode === r.mode) continue;
      const path = joinPath(dir, (l ?? r)!.name);
      mark(path, r ? r.oid : null, isTree(r));
      if (isTree(l) || isTree(r)) await this.diff(isTree(l) ? l!.oid : EMPTY_TREE, isTree(r) ? r!.oid : EMPTY_TREE, path, mark);
    }
  }

  /** The changes of `path`, oldest first, with the object each left behind. */
  changesOf(path: string): PathChange[] {
    const list = this.paths.get(path);
    return list === undefined ? [] : asList(list).map((rec) => {
      const [i, oid, tree] = parseRecord(rec);
      return { commit: this.commits[i]!, oid, isTree: tree };
    });
  }

  /** The last commit that changed `path`, if any. */
  lastChange(path: string): CommitMeta | undefined {
    const list = this.paths.get(path);
    return list === undefined ? undefined : this.commits[indexOf(typeof list === 'string' ? list : list[list.length - 1]!)];
  }

  firstChange(path: string): CommitMeta | undefined {
    const list = this.paths.get(path);
    return list === undefined ? undefined : this.commits[indexOf(typeof list === 'string' ? list : list[0]!)];
  }

  /**
   * The index of the last commit after which `path` held `oid`, or -1 if the index never saw it.
   * Searched from the newest change: a sync token names a recent state, so this stops early.
   */
  commitWhere(path: string, oid: string): number {
    const list = asList(this.paths.get(path) ?? []);
    for (let k = list.length - 1; k >= 0; k--) {
      this.stats.examined++;
      if (holds(list[k]!, oid)) return indexOf(list[k]!);
    }
    return -1;
  }

  /** What `path` held just after commit `at` (null: absent). A binary search: records are in commit order. */
  oidAt(path: string, at: number): string | null {
    const list = asList(this.paths.get(path) ?? []);
    let lo = 0;
    let hi = list.length; // the first record after `at` is in [lo, hi]
    while (lo < hi) {
      this.stats.examined++;
      const mid = (lo + hi) >> 1;
      if (indexOf(list[mid]!) > at) hi = mid;
      else lo = mid + 1;
    }
    return lo === 0 ? null : parseRecord(list[lo - 1]!)[1];
  }

  /** The index of a commit on the indexed history (what changedAfter takes); undefined for one it does not hold. */
  positionOf(commit: string): number | undefined {
    return this.byOid.get(commit);
  }

  /** Every path changed by the commits after commit `at` (with repeats). */
  *changedAfter(at: number): Generator<string> {
    for (let i = at + 1; i < this.byCommit.length; i++) yield* this.byCommit[i] ?? [];
  }

  /** The names of every path ever recorded directly under `dir`, deleted ones too. */
  childrenOf(dir: string): Promise<string[]> {
    return this.derived.childrenOf(dir);
  }

  /** The commits that removed paths (each path at its top: its parent stood after), oldest first, and by short id. */
  deletions(): ReturnType<DerivedPaths['deletions']> {
    return this.derived.deletions();
  }

  /** All indexed commits, oldest first. */
  all(): readonly CommitMeta[] {
    return this.commits;
  }
}

function isTree(e: TreeEntry | undefined): boolean {
  return e?.mode === '40000';
}

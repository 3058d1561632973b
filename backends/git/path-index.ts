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
import { EMPTY_TREE, compareTreeEntries, type ObjectStore, type TreeEntry } from './objects.js';

export interface CommitMeta {
  oid: string;
  /** Seconds since the epoch (author time). */
  time: number;
  author: string;
  tree: string;
}

/**
 * A path's changes, oldest first, as one string of records joined by ',': the commit index in base 36,
 * ':' for a file or '/' for a folder, then the object id after the change ('' when it removed the
 * path). One string a path, instead of an array of [index, id, flag] arrays: at 100,000 paths the
 * index held ~230 bytes and four heap objects a path (31 MB, most of a cold start's garbage
 * collection); now ~130 bytes and one string, and the saved JSON is a map of strings.
 */
type Changes = string;

/** A change with its commit, as callers see it. */
export interface PathChange {
  commit: CommitMeta;
  /** The blob or tree id after the change; null when the commit removed the path. */
  oid: string | null;
  isTree: boolean;
}

interface Saved {
  version: 3;
  tip: string | null;
  commits: CommitMeta[];
  paths: Record<string, Changes>;
}

/** How many commits one catch-up may walk before it gives up and rebuilds from scratch. */
const MAX_WALK = 1_000_000;

export class PathIndex {
  private tip: string | null = null;
  /** Oldest first. */
  private commits: CommitMeta[] = [];
  private byOid = new Map<string, number>();
  private paths = new Map<string, Changes>();
  /** The inverse: for each commit (by index), the paths it changed. Derived, never saved. */
  private byCommit: string[][] = [];
  private updating: Promise<void> | null = null;
  private dirty = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly file: string,
  ) {}

  async load(): Promise<void> {
    try {
      const saved = JSON.parse(await fsp.readFile(this.file, 'utf8')) as Saved;
      if (saved.version !== 3) return; // an older format: rebuilt from the history
      this.tip = saved.tip;
      this.commits = saved.commits;
      this.byOid = new Map(this.commits.map((c, i) => [c.oid, i]));
      this.paths = new Map(Object.entries(saved.paths));
      this.byCommit = this.commits.map(() => []);
      for (const [path, changes] of this.paths) for (const [i] of records(changes)) this.byCommit[i]?.push(path);
    } catch {
      // missing or unreadable: rebuilt on first use
    }
  }

  /**
   * Writes the index if it changed. It is a cache, so 'atomic' (no fsync): one lost or emptied by a
   * power cut does not parse and is rebuilt from the history (load). A failure (a full disk) is
   * retried at the next save.
   */
  async save(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const saved: Saved = { version: 3, tip: this.tip, commits: this.commits, paths: Object.fromEntries(this.paths) };
    try {
      await writeFileDurably(this.file, JSON.stringify(saved), { durability: 'atomic' });
    } catch (err) {
      this.dirty = true;
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT') throw err;
    }
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
      const change = `${index.toString(36)}${tree ? '/' : ':'}${oid ?? ''}`;
      const list = this.paths.get(path);
      this.paths.set(path, list === undefined ? change : `${list},${change}`);
    };
    mark('/', c.tree, true);
    await this.diff(parentTree, c.tree, '/', mark);
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
    return list === undefined ? [] : [...records(list)].map(([i, oid, tree]) => ({ commit: this.commits[i]!, oid, isTree: tree }));
  }

  /** The last commit that changed `path`, if any. */
  lastChange(path: string): CommitMeta | undefined {
    const list = this.paths.get(path);
    // parseInt reads the base-36 index and stops at the ':' or '/' after it.
    return list === undefined ? undefined : this.commits[parseInt(list.slice(list.lastIndexOf(',') + 1), 36)];
  }

  firstChange(path: string): CommitMeta | undefined {
    const list = this.paths.get(path);
    return list === undefined ? undefined : this.commits[parseInt(list, 36)];
  }

  /** The index of the last commit after which `path` held `oid`, or -1 if the index never saw it. */
  commitWhere(path: string, oid: string): number {
    let found = -1;
    for (const [i, o] of records(this.paths.get(path) ?? '')) if (o === oid) found = i;
    return found;
  }

  /** What `path` held just after commit `at` (null: absent). */
  oidAt(path: string, at: number): string | null {
    let found: string | null = null;
    for (const [i, oid] of records(this.paths.get(path) ?? '')) {
      if (i > at) break;
      found = oid;
    }
    return found;
  }

  /** Every path changed by the commits after commit `at` (with repeats). */
  *changedAfter(at: number): Generator<string> {
    for (let i = at + 1; i < this.byCommit.length; i++) yield* this.byCommit[i] ?? [];
  }

  /** All indexed commits, oldest first. */
  all(): readonly CommitMeta[] {
    return this.commits;
  }
}

/** The records of a Changes string: [commit index, object id (null: removed), is a folder]. */
function* records(list: Changes): Generator<[number, string | null, boolean]> {
  let at = 0;
  while (at < list.length) {
    let end = list.indexOf(',', at);
    if (end < 0) end = list.length;
    let sep = at;
    while (list[sep] !== ':' && list[sep] !== '/') sep++;
    yield [parseInt(list.slice(at, sep), 36), sep + 1 < end ? list.slice(sep + 1, end) : null, list[sep] === '/'];
    at = end + 1;
  }
}

function isTree(e: TreeEntry | undefined): boolean {
  return e?.mode === '40000';
}

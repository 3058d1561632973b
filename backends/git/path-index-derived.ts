/**
 * What the path index (./path-index.ts) can answer about paths that no longer exist, derived from
 * what it already holds and never saved: the names ever seen under a folder, and the commits that
 * deleted something with what each removed. Built on first use, commit by commit in slices that let
 * the event loop turn (a long history is tens of thousands of removals: built in one block it held
 * up every other request on the worker for a second or more), and extended as the index appends,
 * so a server that never lists deleted paths never pays for them, and one that does pays once.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { baseName, parentOf } from '../backend.js';
import { SIDECAR } from '../sidecar.js';

/** A commit that removed paths, with the paths at their top (each one's parent still stood after it). */
export interface DeletingCommit {
  /** The commit's index in the path index. */
  at: number;
  /** Oldest first as the commit's diff met them; never a properties sidecar. */
  paths: string[];
}

/** What the derived views read from the index. */
export interface IndexView {
  /** The paths commit `at` changed. */
  changedBy(at: number): readonly string[];
  /** How many commits the index holds whole (one being appended is not yet counted). */
  commitCount(): number;
  /** What `path` held just after commit `at` (null: absent). */
  oidAt(path: string, at: number): string | null;
  /** Commit `at`'s id. */
  oidOf(at: number): string;
}

/** Changed paths folded per turn of the event loop while building. */
const SLICE = 2_000;

export class DerivedPaths {
  private kids = new Map<string, Set<string>>();
  /** Oldest first. */
  private deleting: DeletingCommit[] = [];
  /** Deleting commits by their id's first 7 digits (what deleted/'s names carry). */
  private byShort = new Map<string, DeletingCommit[]>();
  /** Commits folded whole so far: 0 until first used. */
  private upTo = 0;
  /** How far into commit `upTo`'s changed paths the fold is, and the removals met there so far. */
  private pos = 0;
  private pending: string[] = [];
  private used = false;
  private building: Promise<void> | null = null;
  /** Bumped by reset(): a build in progress for an older generation stops. */
  private generation = 0;

  constructor(
    private readonly view: IndexView,
    /** Changed paths folded per turn of the event loop (tests set it low). */
    private readonly slice = SLICE,
  ) {}

  /** Forgets everything (the index was reset or reloaded). */
  reset(): void {
    this.kids = new Map();
    this.deleting = [];
    this.byShort = new Map();
    this.upTo = 0;
    this.pos = 0;
    this.pending = [];
    this.used = false;
    this.generation++;
  }

  /**
   * The index appended commit `at` (whole): once built and caught up, fold it now (work of the order
   * of the append's own); otherwise a build in progress, or the first use, reaches it.
   */
  appended(at: number): void {
    if (this.used && !this.building && this.upTo === at) this.fold(Infinity);
  }

  /** The names of every path ever recorded directly under `dir`, live or not. */
  async childrenOf(dir: string): Promise<string[]> {
    await this.ready();
    return [...(this.kids.get(dir) ?? [])];
  }

  /** The commits that removed paths, oldest first, and a lookup by short id. */
  async deletions(): Promise<{ commits: readonly DeletingCommit[]; byShort(short: string): readonly DeletingCommit[] }> {
    await this.ready();
    return { commits: this.deleting, byShort: (short) => this.byShort.get(short) ?? [] };
  }

  /** Brings the views up to every whole commit of the index, in slices. */
  private async ready(): Promise<void> {
    this.used = true;
    while (this.upTo < this.view.commitCount()) {
      this.building ??= this.build().finally(() => (this.building = null));
      await this.building;
    }
  }

  private async build(): Promise<void> {
    const generation = this.generation;
    while (this.upTo < this.view.commitCount()) {
      this.fold(this.slice);
      await nextTurn();
      if (generation !== this.generation) return; // reset meanwhile: ready() starts over
    }
  }

  /**
   * Folds up to `budget` changed paths of the next commits into the views (a commit with more, such
   * as a first import, is folded over several calls: `pos` and `pending` keep its place).
   */
  private fold(budget: number): void {
    while (budget > 0 && this.upTo < this.view.commitCount()) {
      const at = this.upTo;
      const changed = this.view.changedBy(at);
      const end = Math.min(changed.length, this.pos + budget);
      for (let k = this.pos; k < end; k++) {
        const p = changed[k]!;
        if (p === '/') continue;
        this.addName(p);
        if (at === 0 || this.view.oidAt(p, at) !== null || p.split('/').includes(SIDECAR)) continue;
        const parent = parentOf(p);
        if (parent === '/' || this.view.oidAt(parent, at) !== null) this.pending.push(p);
      }
      budget -= end - this.pos;
      this.pos = end;
      if (end < changed.length) return;
      if (this.pending.length > 0) {
        const c: DeletingCommit = { at, paths: this.pending };
        this.deleting.push(c);
        const short = this.view.oidOf(at).slice(0, 7);
        const same = this.byShort.get(short);
        if (same) same.push(c);
        else this.byShort.set(short, [c]);
      }
      this.pending = [];
      this.pos = 0;
      this.upTo = at + 1;
      budget--; // a commit that changed nothing still counts
    }
  }

  private addName(p: string): void {
    const dir = parentOf(p);
    let set = this.kids.get(dir);
    if (!set) this.kids.set(dir, (set = new Set()));
    set.add(baseName(p));
  }
}

/**
 * What the path index (./path-index.ts) can answer about paths that no longer exist, derived from
 * what it already holds and never saved: the names ever seen under a folder, and the paths each
 * commit removed. Built on first use (one pass over the index) and extended as the index appends,
 * so a server that never lists deleted paths never pays for them.
 */
import { baseName, parentOf } from '../backend.js';

/** A removal at its top: the path a commit removed whose parent folder still stood after it. */
export interface Removal {
  /** The index of the commit that removed it. */
  at: number;
  path: string;
}

/** What the derived views read from the index. */
export interface IndexView {
  /** Every path the index knows. */
  paths(): Iterable<string>;
  /** The paths commit `at` changed. */
  changedBy(at: number): readonly string[];
  commitCount(): number;
  /** What `path` held just after commit `at` (null: absent). */
  oidAt(path: string, at: number): string | null;
}

export class DerivedPaths {
  private kids: Map<string, Set<string>> | null = null;
  /** Oldest first. */
  private removals: Removal[] | null = null;
  /** Commits folded into `removals` so far. */
  private removalsUpTo = 0;

  constructor(private readonly view: IndexView) {}

  /** Forgets everything (the index was reset or reloaded). */
  reset(): void {
    this.kids = null;
    this.removals = null;
    this.removalsUpTo = 0;
  }

  /** The index appended commit `at`: extend what is built, leave the rest to be built on use. */
  appended(at: number): void {
    if (this.kids) for (const p of this.view.changedBy(at)) this.addPath(this.kids, p);
    if (this.removals && this.removalsUpTo === at) this.foldRemovals(at + 1);
  }

  /** The names of every path ever recorded directly under `dir`, live or not. */
  childrenOf(dir: string): string[] {
    if (!this.kids) {
      const kids = new Map<string, Set<string>>();
      for (const p of this.view.paths()) this.addPath(kids, p);
      this.kids = kids;
    }
    return [...(this.kids.get(dir) ?? [])];
  }

  /** Every top-level removal, oldest first. */
  deletions(): readonly Removal[] {
    if (!this.removals) {
      this.removals = [];
      this.removalsUpTo = 0;
    }
    this.foldRemovals(this.view.commitCount());
    return this.removals;
  }

  private foldRemovals(upTo: number): void {
    const out = this.removals!;
    for (let at = this.removalsUpTo; at < upTo; at++) {
      for (const p of this.view.changedBy(at)) {
        if (p === '/' || this.view.oidAt(p, at) !== null) continue;
        const parent = parentOf(p);
        if (parent === '/' || this.view.oidAt(parent, at) !== null) out.push({ at, path: p });
      }
    }
    this.removalsUpTo = Math.max(this.removalsUpTo, upTo);
  }

  private addPath(kids: Map<string, Set<string>>, p: string): void {
    if (p === '/') return;
    const dir = parentOf(p);
    let set = kids.get(dir);
    if (!set) kids.set(dir, (set = new Set()));
    set.add(baseName(p));
  }
}

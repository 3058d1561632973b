/**
 * The journal times and paths of one lineage of live views (views built on one tip by appending
 * records, ./live-state.ts): append-only, shared by every view of the lineage, so that applying a new
 * record costs its own paths only (no copy of what earlier records set). A view reads them through its
 * own seq bound, so a published view never changes: a path's time is the one of the last record at or
 * below the view's appliedSeq. A rebuild (a new tip, a rotated journal) starts a new lineage.
 *
 * Memory: one [seq, time] pair per (record, path or folder above it) of the uncommitted records, i.e.
 * bounded by the uncommitted records' effects × path depth; a commit (new tip) drops the lineage.
 */
import { parentOf } from '../backend.js';
import type { JournalRecord } from './journal/record.js';

export class TimesLog {
  private readonly bySeq = new Map<string, number[]>(); // path → seq, time, seq, time… (seq ascending)
  /** Paths records' effects name exactly (a superset for older views of the lineage: readers compare anyway). */
  readonly paths = new Set<string>();

  add(r: JournalRecord): void {
    for (const e of r.effects) {
      this.paths.add(e.path);
      for (let p = e.path; ; p = parentOf(p)) {
        const list = this.bySeq.get(p);
        if (!list) this.bySeq.set(p, [r.seq, r.time]);
        else if (list[list.length - 2] !== r.seq) list.push(r.seq, r.time);
        if (p === '/') break;
      }
    }
  }

  /** The times as a view with records up to `bound` sees them. */
  at(bound: number): ReadonlyMap<string, number> {
    return new BoundedTimes(this.bySeq, bound);
  }
}

/** The read side of a TimesLog at one seq: only get/has/size are meant to be used. */
class BoundedTimes extends Map<string, number> {
  constructor(
    private readonly bySeq: Map<string, number[]>,
    private readonly bound: number,
  ) {
    super();
  }

  override get(path: string): number | undefined {
    const list = this.bySeq.get(path);
    if (!list) return undefined;
    for (let i = list.length - 2; i >= 0; i -= 2) if (list[i]! <= this.bound) return list[i + 1];
    return undefined;
  }

  override has(path: string): boolean {
    return this.get(path) !== undefined;
  }

  override get size(): number {
    return this.bySeq.size; // nonzero once any record is applied: "there may be journal times"
  }
}

/**
 * Which of many closed intervals overlap a range, touching (nearly) only those that do: the time
 * bounds of a calendar's objects (ical/bounds.ts), so a one-month query over 10,000 events looks at
 * the few hundred that can match rather than all of them.
 *
 * Intervals are grouped by length (powers of two); within a group they are sorted by start, so the
 * ones overlapping [start, end] have their start in [start - longest of the group, end]: two binary
 * searches, then a check of each end. A group's scan visits at most its matches plus those that
 * start within one group length before `start` and end before it, which the power-of-two grouping
 * keeps to about as many again. Intervals open at either side (an endless rule, bounds unknown) are
 * kept apart in `always` and returned every time: the caller tests them in full. Empty intervals
 * (lo > hi: nothing can match) are dropped. Written here rather than taken from a package: the
 * interval-tree packages on npm are mutable trees of objects, larger than these sorted arrays, and
 * the calendar is rebuilt from scratch when it changes anyway. Pure; immutable once built.
 */
export interface Interval<T> {
  lo: number;
  hi: number;
  item: T;
}

interface Group<T> {
  longest: number;
  los: Float64Array;
  his: Float64Array;
  items: T[];
}

export class IntervalIndex<T> {
  private readonly groups: Group<T>[] = [];

  constructor(
    intervals: Iterable<Interval<T>>,
    /** Returned by every look-up (unbounded or unknown): the caller checks them. */
    readonly always: readonly T[] = [],
  ) {
    const byClass = new Map<number, Interval<T>[]>();
    const open: T[] = [...always];
    for (const iv of intervals) {
      if (iv.lo > iv.hi) continue; // can match nothing
      if (!Number.isFinite(iv.lo) || !Number.isFinite(iv.hi)) {
        open.push(iv.item);
        continue;
      }
      const k = Math.ceil(Math.log2(iv.hi - iv.lo + 1));
      let list = byClass.get(k);
      if (!list) byClass.set(k, (list = []));
      list.push(iv);
    }
    this.always = open;
    for (const list of byClass.values()) {
      list.sort((a, b) => a.lo - b.lo);
      let longest = 0;
      for (const iv of list) longest = Math.max(longest, iv.hi - iv.lo);
      this.groups.push({ longest, los: Float64Array.from(list, (iv) => iv.lo), his: Float64Array.from(list, (iv) => iv.hi), items: list.map((iv) => iv.item) });
    }
  }

  /** Every item whose interval meets [start, end] (lo <= end and hi >= start), then every `always` item. */
  overlapping(start: number, end: number): T[] {
    const out: T[] = [];
    for (const g of this.groups) {
      const to = firstAbove(g.los, end);
      for (let i = firstAtLeast(g.los, start - g.longest); i < to; i++) if (g.his[i]! >= start) out.push(g.items[i]!);
    }
    for (const item of this.always) out.push(item);
    return out;
  }
}

/** The first index whose value is >= x (values sorted ascending). */
function firstAtLeast(a: Float64Array, x: number): number {
  return bisect(a, x, false);
}

/** The first index whose value is > x. */
function firstAbove(a: Float64Array, x: number): number {
  return bisect(a, x, true);
}

/** The first index whose value is past x: above it (`strict`), or at least it. */
function bisect(a: Float64Array, x: number, strict: boolean): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x || (strict && a[mid] === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

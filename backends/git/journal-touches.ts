/**
 * Which uncommitted journal record last changed a folder (docs/git-backend.md, "ETags and sync tokens
 * of folders the journal changed"): the seq of the last record, up to a view's applied seq, with an
 * effect at the folder, inside it or at a folder above it (which replaces it whole). An edited folder's
 * content is a function of its tree at the tip and of the records (committed seq, that seq]: every
 * process applies the same records (their effects are resolved), so the seq names the content
 * everywhere, in O(depth × log records) per look-up and not by hashing the folder's members.
 *
 * The seq alone does not name the content: after a failed append the journal numbers the next record
 * with the same seq (../journal/journal.ts, dropFailed), and a process may have read the failed one.
 * So each indexed record also gets a chained digest of the effects of every record of the lineage up
 * to it (`chainAt`): the folder's content is a function of its tip tree and that digest, whatever the seqs.
 *
 * Kept per lineage of live views (views built on one tip and committed seq by appending records in
 * order: ./live-state.ts), keyed by the lineage's shared `paths` set; a view whose records are not an
 * in-order extension of what was indexed gets an index of its own (correct, only slower).
 */
import { createHash } from 'node:crypto';
import { parentOf } from '../backend.js';
import type { JournalRecord } from './journal/record.js';
import type { LiveView } from './live-state.js';

/** The parts of a live view the index reads. */
export type TouchView = Pick<LiveView, 'records' | 'paths' | 'appliedSeq'>;

export class TouchIndex {
  /** Seqs in the order indexed (ascending): what the views of this lineage held. */
  private readonly seqs: number[] = [];
  /** Per indexed record (same positions as `seqs`): sha1 of the previous chain value and this record's seq and effects. */
  private readonly chains: string[] = [];
  /** The records indexed (the lineage's own objects: a later view of it holds the very same ones). */
  private readonly indexed: JournalRecord[] = [];
  /** Path → seqs (ascending) of records with an effect at the path or below it. */
  private readonly below = new Map<string, number[]>();
  /** Path → seqs (ascending) of records with an effect exactly at the path. */
  private readonly exact = new Map<string, number[]>();

  /** Indexes the view's records past those already indexed; false when they do not extend them in order. */
  extend(records: readonly JournalRecord[]): boolean {
    const n = this.seqs.length;
    if (records.length < n) return records.length === 0 || this.same(records, records.length - 1);
    if (n > 0 && !this.same(records, n - 1)) return false;
    for (let i = n; i < records.length; i++) {
      const r = records[i]!;
      if (this.seqs.length && r.seq <= this.seqs[this.seqs.length - 1]!) return false;
      this.add(r);
    }
    return true;
  }

  /** Whether `records[i]` is the record indexed at i (same seq, same effects): records are shared objects, so mostly by identity. */
  private same(records: readonly JournalRecord[], i: number): boolean {
    if (records[i] === this.indexed[i]) return true;
    return records[i]!.seq === this.seqs[i] && link(this.chains[i - 1] ?? '', records[i]!) === this.chains[i];
  }

  private add(r: JournalRecord): void {
    this.chains.push(link(this.chains.at(-1) ?? '', r));
    this.seqs.push(r.seq);
    this.indexed.push(r);
    for (const e of r.effects) {
      push(this.exact, e.path, r.seq);
      for (let p = e.path; ; p = parentOf(p)) {
        push(this.below, p, r.seq);
        if (p === '/') break;
      }
    }
  }

  /** The last seq ≤ `bound` that changed `path` (at, in or above it); 0 for none. */
  lastTouch(path: string, bound: number): number {
    let best = lastAtMost(this.below.get(path), bound);
    if (path !== '/') for (let p = parentOf(path); ; p = parentOf(p)) {
      best = Math.max(best, lastAtMost(this.exact.get(p), bound));
      if (p === '/') break;
    }
    return best;
  }

  /** The chained digest of the indexed records up to the one numbered `seq` (16 hex); '' when none is. */
  chainAt(seq: number): string {
    const i = lastIndexAtMost(this.seqs, seq);
    return i >= 0 && this.seqs[i] === seq ? this.chains[i]!.slice(0, 16) : '';
  }
}

/** The next chain value: what the record does (its seq and resolved effects, in a fixed form), over the previous value. */
function link(previous: string, r: JournalRecord): string {
  const h = createHash('sha1').update(`${previous}\n${r.seq}\n`);
  for (const e of r.effects) {
    const s = e.slot;
    h.update(JSON.stringify([e.path, s ? s.kind : null, s?.kind === 'file' ? s.mode : null, s ? s.oid : null]));
    h.update('\n');
  }
  return h.digest('hex');
}

/**
 * The index of each lineage, weakly keyed by its `paths` set (a view of another lineage has another
 * set), so an index lives as long as a view of its lineage does: bounded by the uncommitted records.
 */
export class JournalTouches {
  private readonly lineages = new WeakMap<object, TouchIndex>();

  lastTouch(view: TouchView, path: string): number {
    return this.touch(view, path).seq;
  }

  /** The last record ≤ the view's applied seq that changed `path`, and the chained digest up to it ('' for none). */
  touch(view: TouchView, path: string): { seq: number; chain: string } {
    const index = this.indexOf(view);
    const seq = index.lastTouch(path, view.appliedSeq);
    return { seq, chain: seq ? index.chainAt(seq) : '' };
  }

  private indexOf(view: TouchView): TouchIndex {
    let index = this.lineages.get(view.paths);
    if (!index || !index.extend(view.records)) {
      index = new TouchIndex();
      index.extend(view.records);
      this.lineages.set(view.paths, index);
    }
    return index;
  }
}

function push(map: Map<string, number[]>, key: string, seq: number): void {
  const list = map.get(key);
  if (!list) map.set(key, [seq]);
  else if (list[list.length - 1] !== seq) list.push(seq);
}

/** The largest value ≤ bound in an ascending list; 0 for none. */
function lastAtMost(list: readonly number[] | undefined, bound: number): number {
  const i = list ? lastIndexAtMost(list, bound) : -1;
  return i >= 0 ? list![i]! : 0;
}

/** The index of the largest value ≤ bound in an ascending list (a binary search); -1 for none. */
function lastIndexAtMost(list: readonly number[], bound: number): number {
  let lo = 0;
  let hi = list.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! <= bound) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

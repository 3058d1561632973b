/**
 * Which journal records make one commit (issue 14: "one commit per burst"). Pure: records and a clock
 * in, bursts out (docs/git-backend.md, "Bursts and commit messages").
 *
 * A burst is a maximal run of consecutive records by one user (no user: "anonymous", one user). It ends:
 * - at a record by another user. The issue asks only that "a write from someone else to the same
 *   paths" close it; closing on any other user's write is a superset that keeps history in journal
 *   order (a burst never takes a record from after someone else's), so no write is ever reordered
 *   against another user's. It costs more commits only when two users write into one repository within
 *   the same seconds.
 * - before a record that came `windowMs` or more after the one before it (the burst had closed by then:
 *   a committer that lags, or a journal a crash left, still makes the commits a live one would have);
 * - before a record that came `maxAgeMs` or more after the burst's first: a long copy is cut into
 *   commits of at most that age;
 * - at an UNLOCK marker (meta.op 'UNLOCK', no effects) of a lock held over the whole burst: taken at
 *   least `windowMs` before the burst's first record (an editor's session: LOCK on open, saves, UNLOCK
 *   on close, so the last save commits at once). A lock taken for one file (davfs2's and Finder's
 *   LOCK, PUT 0 bytes, PUT, UNLOCK per file) is taken a moment before its PUT, so it closes nothing
 *   and a copy of 200 files stays one burst. The brief's literal rule (lockedAt ≤ first record's time)
 *   would close a copy's burst at its first file's UNLOCK: one commit per file again.
 * The last run is still open unless `final`, `now − last.time ≥ windowMs` or `now − first.time ≥
 * maxAgeMs`. So `windowMs` 0 makes every record a burst of its own, closed at once (a commit per write).
 *
 * A burst of markers only (an UNLOCK after its burst had closed) is a closed burst of its own, so the
 * closed bursts stay a prefix of the records; it changes no path, so it makes no commit (`makesCommit`):
 * the committer only counts it as done.
 */
import type { JournalRecord } from './record.js';

export interface BurstRules {
  /** A burst closes after this long with no record from its user (default 2,000 ms; 0: at once). */
  windowMs: number;
  /** A burst closes once its first record is this old, however busy (default 30,000 ms). */
  maxAgeMs: number;
}

export const DEFAULT_BURST_RULES: BurstRules = { windowMs: 2_000, maxAgeMs: 30_000 };

export interface BurstSplit {
  /** Closed bursts, in journal order; together a prefix of `records`. Each has one user. */
  closed: JournalRecord[][];
  /** The records after the last closed burst (still open). */
  open: JournalRecord[];
  /** Epoch ms when the first open burst closes if nothing else arrives (null: nothing open). */
  nextCloseAt: number | null;
}

/** A record that changes nothing and only tells the burst rules something (UNLOCK). */
export function isMarker(r: JournalRecord): boolean {
  return r.meta.op === 'UNLOCK' && r.effects.length === 0;
}

/** Whether a closed burst can change the tree (a burst of markers only cannot: no commit). */
export function makesCommit(burst: readonly JournalRecord[]): boolean {
  return burst.some((r) => !isMarker(r));
}

/** One key per user; anonymous requests are one user of their own (no name can be it). */
function userKey(r: JournalRecord): string {
  return r.user === undefined ? '\0anonymous' : `u:${r.user}`;
}

/** Whether `r` is an UNLOCK of a lock held over the whole burst that began with `first`. */
function closesAt(r: JournalRecord, first: JournalRecord, rules: BurstRules): boolean {
  const at = r.meta.lockedAt;
  return isMarker(r) && typeof at === 'number' && Number.isFinite(at) && at + rules.windowMs <= first.time;
}

/**
 * Splits uncommitted records (in seq order) into closed bursts and the open rest. `final` closes every
 * burst (shutdown, recovery of a journal a crash left).
 */
export function splitBursts(records: readonly JournalRecord[], now: number, rules: BurstRules, final = false): BurstSplit {
  const closed: JournalRecord[][] = [];
  let start = 0;
  while (start < records.length) {
    const first = records[start]!;
    const user = userKey(first);
    let end = start + 1; // the burst is records[start, end)
    let ended = closesAt(first, first, rules);
    while (!ended && end < records.length) {
      const r = records[end]!;
      if (userKey(r) !== user) {
        ended = true;
        break;
      }
      const prev = records[end - 1]!;
      if (r.time - prev.time >= rules.windowMs || r.time - first.time >= rules.maxAgeMs) {
        ended = true;
        break;
      }
      end++;
      if (closesAt(r, first, rules)) ended = true;
    }
    const last = records[end - 1]!;
    if (!ended) ended = final || now - last.time >= rules.windowMs || now - first.time >= rules.maxAgeMs;
    if (!ended) {
      const open = records.slice(start);
      return { closed, open, nextCloseAt: Math.min(last.time + rules.windowMs, first.time + rules.maxAgeMs) };
    }
    closed.push(records.slice(start, end));
    start = end;
  }
  return { closed, open: [], nextCloseAt: null };
}

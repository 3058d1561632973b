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
 * - at an UNLOCK marker (meta.op 'UNLOCK', no effects) of the burst's own user, of a lock whose root
 *   covers a path the burst wrote and that was taken at least `windowMs` before the burst's first
 *   write under that root (an editor's session: LOCK on open, saves, UNLOCK on close, so the last save
 *   commits at once). A lock taken for one file (davfs2's and Finder's LOCK, PUT 0 bytes, PUT, UNLOCK
 *   per file) is taken a moment before its PUT, so it closes nothing and a copy of 200 files stays one
 *   burst; an editor that keeps another file open closes nothing of a copy either. The brief's literal
 *   rule (lockedAt ≤ first record's time) would close a copy's burst at its first file's UNLOCK: one
 *   commit per file again. Another user's markers write nothing: they join the burst they fall in and
 *   neither cut nor close it (`burstUser` names the burst's writer).
 * The last run is still open unless `final`, `now − last.time ≥ windowMs` (last: its user's last record)
 * or `now − first.time ≥ maxAgeMs`. `windowMs` 0 closes each run of one user's records at once,
 * whatever the record times: with the writer waiting for its commit, a commit per write batch.
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
/**
 * Whether appending `added` (the last records of `all`) can close a burst earlier than the deadline the
 * records before them gave: only a record by another user than the one before it, or a marker (an UNLOCK
 * may close its burst). A window of user-steady writes moves no deadline earlier, so a committer whose
 * timer is armed skips the O(records) split per append (a 1,000-PUT burst split 1,000 times).
 */
export function mayCloseEarlier(all: readonly JournalRecord[], added: readonly JournalRecord[]): boolean {
  const start = all.length - added.length;
  if (start < 1 || all[all.length - 1]?.seq !== added[added.length - 1]?.seq) return true;
  for (let i = start; i < all.length; i++) {
    if (isMarker(all[i]!) || userKey(all[i]!) !== userKey(all[i - 1]!)) return true;
  }
  return false;
}

function userKey(r: JournalRecord): string {
  return r.user === undefined ? '\0anonymous' : `u:${r.user}`;
}

/**
 * When a run first wrote at or under each folder and path (`/` included): what an UNLOCK marker's lock
 * root is looked up in. O(depth) per effect, so a copy of many files with an UNLOCK each stays linear.
 */
class FirstWrites {
  private readonly at = new Map<string, number>();
  add(r: JournalRecord): void {
    for (const e of r.effects) {
      for (let p = e.path; ; p = p.slice(0, Math.max(1, p.lastIndexOf('/')))) {
        if (this.at.has(p)) break; // and so are its parents
        this.at.set(p, r.time);
        if (p === '/' || p === '') break;
      }
    }
  }
  under(root: string): number | undefined {
    return this.at.get(root);
  }
}

/**
 * Whether marker `m` (by the run's user) closes the run: the lock's root covers a path the run wrote,
 * and the lock was taken at least `windowMs` before the run's first write under that root. Compared
 * with the first write *under the lock*, not the run's first record: a lock taken during a long copy (an
 * editor opened meanwhile) still closes at its UNLOCK once it covered the editor's saves, while a
 * per-file lock, taken a moment before its file's first PUT, closes nothing. Not told apart: a file
 * whose upload took `windowMs` or more under its own lock looks like an editor's single save and gets
 * a commit of its own (one extra commit; a pause that long cuts a burst anyway).
 */
function closesAt(m: JournalRecord, writes: FirstWrites, rules: BurstRules): boolean {
  const at = m.meta.lockedAt;
  if (!isMarker(m) || typeof at !== 'number' || !Number.isFinite(at)) return false;
  const root = m.meta.path.length > 1 ? m.meta.path.replace(/\/+$/, '') : m.meta.path;
  const first = writes.under(root || '/');
  return first !== undefined && at + rules.windowMs <= first;
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
    let last = first; // the run's user's last record: pauses are measured between their own records
    let end = start + 1; // the burst is records[start, end)
    // A window of 0 closes, at once, each run of one user's records whatever their times (a clock stepped
    // back included): the writer then waits for the commit, so what queued meanwhile is the next commit —
    // a commit per write batch (group commit), as before the journal.
    const now0 = rules.windowMs <= 0;
    let ended = false;
    const writes = new FirstWrites();
    writes.add(first);
    while (!ended && end < records.length) {
      const r = records[end]!;
      if (userKey(r) !== user) {
        // Another user's UNLOCK writes nothing, so taking it into this burst reorders no write; it
        // neither cuts nor closes the run (nor counts as its user's activity).
        if (isMarker(r)) {
          end++;
          continue;
        }
        ended = true;
        break;
      }
      if (!now0 && (r.time - last.time >= rules.windowMs || r.time - first.time >= rules.maxAgeMs)) {
        ended = true;
        break;
      }
      if (closesAt(r, writes, rules)) ended = true;
      writes.add(r);
      end++;
      last = r;
    }
    if (!ended) ended = final || rules.windowMs <= 0 || now - last.time >= rules.windowMs || now - first.time >= rules.maxAgeMs;
    if (!ended) {
      const open = records.slice(start);
      return { closed, open, nextCloseAt: Math.min(last.time + rules.windowMs, first.time + rules.maxAgeMs) };
    }
    closed.push(records.slice(start, end));
    start = end;
  }
  return { closed, open: [], nextCloseAt: null };
}

/** The user a burst's writes are by (undefined: anonymous); another user's UNLOCK markers don't count. */
export function burstUser(burst: readonly JournalRecord[]): string | undefined {
  return (burst.find((r) => !isMarker(r)) ?? burst[0])?.user;
}

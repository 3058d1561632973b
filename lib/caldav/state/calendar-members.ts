/**
 * A calendar's members and the interval index over their bounds, kept current through sync: where the
 * backend's changes() costs O(change) (`cheapChanges`: git, where a token names the collection's
 * tree), a query asks the current token, and if it is not the one the kept members were read at,
 * applies the changes since then (a write through any worker, a native commit or push: each makes a
 * new tree, so a new token). An unknown token (history rewritten), a truncated answer or any error
 * reads the members afresh. So a calendar-query never lists 10,000 members, and its candidates come
 * from the interval index (interval-index.ts): only the objects whose bounds meet the query's range.
 *
 * Why this can never be stale: the token names the exact state the members were read at (a tree id,
 * signed), asked anew on every query; the members are updated by the backend's own diff between the
 * two states; bounds are taken by ETag from the object index (object-index.ts), which names one
 * content. Folders (a file can be rewritten in place, which nothing but a stat of every member
 * shows) are kept by their listing version instead, one pass of stats per query (byVersion).
 *
 * Kept per (tree, user, path): another user's view of the same path may differ. Bounded by bytes for
 * the whole server, by `weigh` below.
 */
import type { Backend, Entry } from '../../../backends/backend.js';
import { isListingVersioned, isSyncCapable, type ListingVersioned } from '../../../backends/capabilities.js';
import { Lru } from '../../../backends/util/lru.js';
import { cacheCounts } from '../../../backends/util/stats.js';
import type { ObjectBounds } from '../ical/bounds.js';
import type { ObjectIndex } from './object-index.js';
import { IntervalIndex } from './interval-index.js';

export const DEFAULT_MEMBER_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * A member's bytes on the heap beside its path and ETag strings (the Map slot, the Entry object, its
 * two Dates, a cons string for the path), plus its share of the interval index (~20 bytes of heap and
 * 16 of Float64Arrays). Measured with --expose-gc and heapUsed over 10 sets of 10,000 entries shaped
 * as git's list makes them (65-char paths, 42-char ETags): ~1,040 bytes a member (~500 with flat
 * strings) and ~35 for the index. Strings are counted at 2 bytes a character (two-byte if not Latin-1).
 */
const MEMBER_OVERHEAD_BYTES = 850;

/**
 * A set's weight, counted as if its index were built: every set is made for a query, which builds it
 * (membersMeeting), and the Lru weighs a value when it is set.
 */
function weigh(s: MemberSet): number {
  let n = 1000;
  for (const [p, e] of s.files) n += MEMBER_OVERHEAD_BYTES + 2 * (p.length + e.etag.length);
  return n;
}

interface MemberSet {
  token: string;
  /** Files only, by path. */
  files: Map<string, Entry>;
  /** Built at first use after each change of `files`; rebuilt when a member whose bounds were unknown has them now. */
  intervals?: { index: IntervalIndex<Entry>; unknown: Entry[] };
}

export class CalendarMembers {
  private readonly sets: Lru<MemberSet>;

  constructor(limitBytes = DEFAULT_MEMBER_CACHE_BYTES) {
    this.sets = new Lru<MemberSet>(limitBytes, weigh, cacheCounts('caldav_members'));
  }

  /**
   * The calendar's files now, or null where the backend cannot tell changes cheaply (then list it).
   * `key` names the tree, the user and the path. With `onlyIfKept`, a calendar with no set kept (or
   * whose set cannot be brought up to date by its changes) is null too, rather than read afresh:
   * for a caller (calendar-multiget) whose other way costs less than reading 10,000 members.
   */
  async current(backend: Backend, path: string, key: string, onlyIfKept = false): Promise<MemberSet | null> {
    if (!isSyncCapable(backend) || !backend.cheapChanges) {
      // A listing-version pass stats every member: dearer than the onlyIfKept caller's stat per href.
      if (onlyIfKept) return null;
      return isListingVersioned(backend) ? this.byVersion(backend, path, key) : null;
    }
    if (onlyIfKept && !this.sets.peek(key)) return null;
    const token = await backend.syncToken(path);
    const kept = this.sets.get(key);
    if (kept && kept.token === token) return kept;
    if (onlyIfKept && !kept) return null;
    let next: MemberSet | null = null;
    if (kept) {
      try {
        const cs = await backend.changes(path, kept.token);
        if (!cs.truncated) {
          const files = new Map(kept.files);
          for (const p of cs.removed) files.delete(p);
          for (const e of cs.changed) if (e.kind === 'file') files.set(e.path, e);
          else files.delete(e.path);
          next = { token: cs.token, files };
        }
      } catch {
        next = null; // an unknown token, or anything else: read afresh below
      }
    }
    if (!next && onlyIfKept) return null;
    if (!next) {
      // Read afresh by changes since no token: its members and its token come from one state of the
      // tree. Not the token taken above with a listing made later: a write in between that is undone
      // afterwards (a member created then deleted, changed then changed back) leaves the collection's
      // tree, so its token, as before, and the kept set would keep the write for good.
      // A backend that answers no changes at all (history, which never changes) is listed each time
      // and nothing is kept: a listing is not tied to the token.
      const cs = await backend.changes(path, undefined).catch(() => null);
      const files = new Map<string, Entry>();
      if (!cs) {
        for await (const e of backend.list(path)) if (e.kind === 'file') files.set(e.path, e);
        return { token, files };
      }
      for (const e of cs.changed) if (e.kind === 'file') files.set(e.path, e);
      next = { token: cs.token, files };
    }
    this.sets.set(key, next);
    return next;
  }

  /**
   * Folders: kept by the listing version (backends/fs/listing.ts: a hash of the names and every
   * member's lstat, ctime included, taken afresh on every query), so a file added, removed or
   * rewritten in place by anyone, any worker, shows; what a warm query saves is the evaluation of
   * the members the interval index rules out. A set is read in the same pass as its version.
   */
  private async byVersion(backend: Backend & ListingVersioned, path: string, key: string): Promise<MemberSet | null> {
    const kept = this.sets.get(key);
    if (kept) {
      const version = await backend.listingVersion(path, { maxMembers: FOLDER_MAX_MEMBERS });
      if (version === null) return null;
      if (kept.token === version) return kept;
    }
    const listed = backend.listVersioned ? await backend.listVersioned(path, { maxMembers: FOLDER_MAX_MEMBERS }) : null;
    if (!listed) return null;
    const files = new Map<string, Entry>();
    for (const e of listed.entries) if (e.kind === 'file') files.set(e.path, e);
    const set: MemberSet = { token: listed.version, files };
    this.sets.set(key, set);
    return set;
  }
}

/** A folder calendar with more members is listed on every query (its set would crowd the cache). */
const FOLDER_MAX_MEMBERS = 50_000;

/**
 * The members whose bounds can meet [start, end], plus those whose bounds are open or unknown.
 *
 * Rebuild rule: the index is rebuilt when one of the members whose bounds were unknown at the last
 * build has bounds in the object index now (a query evaluated it, or another worker did and its index
 * was merged in). Only those members are looked up, so a calendar whose bounds are all known costs
 * nothing, and a member that never parses (never gets bounds) stays in `always` without causing a
 * rebuild. Until the rebuild such members are merely checked in full: answers never depend on it.
 */
export function membersMeeting(set: MemberSet, index: ObjectIndex, start: number, end: number): Entry[] {
  const iv = set.intervals;
  if (!iv || iv.unknown.some((e) => index.peek(e.etag) !== undefined)) set.intervals = build(set, index);
  return set.intervals!.index.overlapping(start, end);
}

function build(set: MemberSet, index: ObjectIndex): NonNullable<MemberSet['intervals']> {
  const unknown: Entry[] = [];
  const known: { lo: number; hi: number; item: Entry }[] = [];
  for (const e of set.files.values()) {
    const b: ObjectBounds | undefined = index.peek(e.etag);
    if (b) known.push({ lo: b.span.lo, hi: b.span.hi, item: e });
    else unknown.push(e);
  }
  return { index: new IntervalIndex(known, unknown), unknown };
}

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
import { loadList, saveList, type SavedList } from './member-file.js';
import { joinPath } from '../../../backends/backend.js';

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
  /**
   * Paths whose entries came from a saved list (member-file.ts): path, ETag and size are the tree's,
   * but not the dates (those come from history, which the file does not hold). Such an entry serves
   * what depends on content alone (a query's candidates and its getetag + calendar-data responses);
   * anything else reads the set afresh (`full`) or stats the path (keptMembers).
   */
  light?: Set<string>;
  /** Built at first use after each change of `files`; rebuilt when a member whose bounds were unknown has them now. */
  intervals?: { index: IntervalIndex<Entry>; unknown: Entry[] };
}

/** Where a set is saved (member-file.ts) and for whom: the file is per user and path. */
export interface SavedAt {
  file: string;
  user: string;
}

export interface CurrentOptions {
  /** Null rather than read afresh when no set is kept (see `current`). */
  onlyIfKept?: boolean;
  /** Save the set there, and start from what is saved there when none is kept (git only). */
  saved?: SavedAt;
  /** Every entry whole, dates included: a set with light entries is read afresh. */
  full?: boolean;
}

/** How long after a set changed it is saved: a burst of writes and queries saves once. */
const SAVE_DELAY_MS = 2000;
/**
 * Keys whose saved token is remembered (so an unchanged set is not written again), the least recently
 * saved or loaded forgotten first: forgetting one costs at most one needless rewrite of its file.
 */
export const MAX_SAVED_TOKENS = 2000;

export interface CalendarMembersOptions {
  saveDelayMs?: number;
  maxSavedTokens?: number;
}

export class CalendarMembers {
  private readonly sets: Lru<MemberSet>;
  /** Saves pending, by set key; and the token each key's file was last written or read at. */
  private readonly pending = new Map<string, { at: SavedAt; path: string; timer: NodeJS.Timeout }>();
  private readonly savedToken: Lru<string>;
  private saving: Promise<void> = Promise.resolve();
  /** After close(): nothing more is scheduled or written (the state dir may be going away). */
  private closed = false;
  private readonly saveDelayMs: number;

  constructor(limitBytes = DEFAULT_MEMBER_CACHE_BYTES, options: CalendarMembersOptions = {}) {
    this.sets = new Lru<MemberSet>(limitBytes, weigh, cacheCounts('caldav_members'));
    this.savedToken = new Lru<string>(options.maxSavedTokens ?? MAX_SAVED_TOKENS);
    this.saveDelayMs = options.saveDelayMs ?? SAVE_DELAY_MS;
  }

  /** How many keys' saved tokens are remembered (bounded by maxSavedTokens). */
  get savedTokenCount(): number {
    return this.savedToken.size;
  }

  /**
   * The calendar's files now, or null where the backend cannot tell changes cheaply (then list it).
   * `key` names the tree, the user and the path. With `onlyIfKept`, a calendar with no set kept (or
   * whose set cannot be brought up to date by its changes) is null too, rather than read afresh:
   * for a caller (calendar-multiget) whose other way costs less than reading 10,000 members.
   */
  async current(backend: Backend, path: string, key: string, options: CurrentOptions | boolean = {}): Promise<MemberSet | null> {
    const { onlyIfKept = false, saved, full = false } = typeof options === 'boolean' ? { onlyIfKept: options } : options;
    if (!isSyncCapable(backend) || !backend.cheapChanges) {
      // A listing-version pass stats every member: dearer than the onlyIfKept caller's stat per href.
      if (onlyIfKept) return null;
      return isListingVersioned(backend) ? this.byVersion(backend, path, key) : null;
    }
    if (onlyIfKept && !this.sets.peek(key)) return null;
    const token = await backend.syncToken(path);
    let kept = this.sets.get(key);
    if (kept?.light && full) kept = undefined; // dates wanted: read afresh below
    if (kept && kept.token === token) return kept;
    if (onlyIfKept && !kept) return null;
    // None kept here (a restart, another worker, evicted): start from the list saved on disk, as from
    // a kept set: current as it is if its token is, else brought up to date by the changes since it.
    const base = kept ?? (saved && !full ? await this.load(saved, path, key) : undefined);
    if (base && base.token === token) {
      this.sets.set(key, base);
      return base;
    }
    let next: MemberSet | null = null;
    if (base) {
      try {
        const cs = await backend.changes(path, base.token);
        if (!cs.truncated) {
          const files = new Map(base.files);
          const light = base.light ? new Set(base.light) : undefined;
          for (const p of cs.removed) files.delete(p);
          for (const e of cs.changed) if (e.kind === 'file') files.set(e.path, e);
          else files.delete(e.path);
          for (const p of cs.removed) light?.delete(p);
          for (const e of cs.changed) light?.delete(e.path);
          next = { token: cs.token, files, light: light?.size ? light : undefined };
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
    if (saved) this.scheduleSave(key, saved, path);
    return next;
  }

  /** The set saved for this key, with light entries, or undefined. */
  private async load(at: SavedAt, path: string, key: string): Promise<MemberSet | undefined> {
    const list = await loadList(at.file, at.user, path);
    if (!list) return undefined;
    this.savedToken.set(key, list.token);
    const files = new Map<string, Entry>();
    const light = new Set<string>();
    for (const [name, etag, size] of list.members) {
      const p = joinPath(path, name);
      // No dates in the file: EPOCH stands in, and `light` says so (never served as a date).
      files.set(p, { path: p, kind: 'file', size, etag, modified: EPOCH });
      light.add(p);
    }
    return { token: list.token, files, light: light.size ? light : undefined };
  }

  /** Saves the key's set in SAVE_DELAY_MS (whatever it is then), unless its file already has its token. */
  private scheduleSave(key: string, at: SavedAt, path: string): void {
    if (this.closed || this.pending.has(key)) return;
    const timer = setTimeout(() => void this.saveNow(key), this.saveDelayMs).unref();
    this.pending.set(key, { at, path, timer });
  }

  private saveNow(key: string): Promise<void> {
    const p = this.pending.get(key);
    if (!p) return this.saving;
    clearTimeout(p.timer);
    this.pending.delete(key);
    const set = this.sets.peek(key);
    if (!set || this.savedToken.get(key) === set.token) return this.saving;
    const base = p.path === '/' ? 1 : p.path.length + 1;
    const list: SavedList = { token: set.token, members: [...set.files.values()].map((e) => [e.path.slice(base), e.etag, e.size]) };
    this.savedToken.set(key, set.token);
    // Chained: an older save never lands after a newer one, and one save at a time is in flight (for
    // all calendars), its JSON made in slices (member-file.ts). A failed save costs a listing later.
    this.saving = this.saving.then(() => saveList(p.at.file, p.at.user, p.path, list)).catch(() => {
      this.savedToken.delete(key);
    });
    return this.saving;
  }

  /** Writes the saves still pending (the server closes). */
  async close(): Promise<void> {
    this.closed = true; // a query still in flight schedules nothing more
    await Promise.all([...this.pending.keys()].map((k) => this.saveNow(k)));
    await this.saving;
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

const EPOCH = new Date(0);

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

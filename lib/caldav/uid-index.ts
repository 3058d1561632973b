/**
 * Which UIDs a calendar holds (for no-uid-conflict), without listing the calendar on every PUT, and
 * one decision per UID at a time across every process serving the tree (a supervisor's workers).
 *
 * A PUT (or COPY/MOVE) into a calendar first reserves its UID in this process (two PUTs of this
 * process with one UID for two members: the second fails at once, no file touched), then takes the
 * UID's lock file (state/uid-table.ts `holdUid`) and keeps it until its write has ended: another
 * process deciding on the same UID waits, then sees that write. Inside the lock the index is brought
 * up to date with the calendar as it is now:
 *
 * - Where the backend's `changes()` is cheap and stateless (git: a token is a tree id, the delta comes
 *   from the path index and the branch as it is on disk), the index remembers the token it was built
 *   at and catches up by the delta: O(change) per PUT, and changes by anyone (another process, native
 *   git) are seen: never a wrong answer.
 * - Elsewhere (the folder backend, whose tokens are stored snapshots), every object stored by any
 *   process is announced by a line in the calendar's UID journal (state/uid-journal.ts), appended
 *   before the UID's lock is let go; the index reads the lines it has not read, then trusts itself
 *   while the calendar's ETag is the one after the last line, or while other UIDs' writes are in
 *   flight (their lock files exist, held by live processes: the new ETag is most likely theirs; the
 *   index is then marked unverified, and the first check with no write in flight rebuilds it). An
 *   ETag it does not know otherwise (a DELETE, a MOVE out, a change by another program) makes it
 *   rebuild from the calendar (objects are parsed once per ETag anyway). The gaps left: during a
 *   burst of PUTs a UID deleted meanwhile is refused (409) until the burst ends, and another
 *   program's file landing then, or within one timestamp tick (a folder's ETag has the file
 *   system's grain) of gitdav's last write, can be missed until the next rebuild (a duplicate UID
 *   can then be stored; nothing is lost). A UID another worker stores is never missed: its line is
 *   read before that UID is decided again. docs/caldav.md.
 *
 * The index and the reservations are the state of the tree that stores the calendar (state/
 * uid-table.ts), so its owner and a user it is shared with, who see it at different paths, check
 * against one index; members are named by their path below the calendar, the same for both.
 */
import type { Backend, Entry } from '../../backends/backend.js';
import { rm } from 'node:fs/promises';
import { BackendError } from '../../backends/errors.js';
import { isSyncCapable, type SyncCapable, type SyncState } from '../../backends/capabilities.js';
import type { DavRequest } from '../dav/context.js';
import type { CalDavStates } from './state/states.js';
import { writesInFlight, type CalendarUids, type UidTable } from './state/uid-table.js';
import { calendarObjects, uidOf } from './objects.js';
import { appendJournal, journalEnd, journalFile, readJournal } from './state/uid-journal.js';

export interface UidReservation {
  /** A member that already has the UID (other than the target), if any: the PUT must fail. */
  clash?: string;
  /** Call once the PUT has ended, stored or not. */
  done(stored: boolean): Promise<void>;
}

const deltaMode = (backend: Backend): backend is Backend & SyncCapable => isSyncCapable(backend) && backend.cheapChanges;

/** Where a calendar's UIDs are kept: its tree's table, under its path in that tree. */
interface Place {
  /** The calendar as this request sees it. */
  calendar: string;
  table: UidTable;
  /** The calendar's path in the tree that stores it: its key in `table`. */
  key: string;
  /** The state dir of that tree. */
  stateDir: string;
  /** A member's UID (calendar objects' by default; address books pass the vCard's). */
  readUid: UidReader;
}

/** How a collection's members give their UID: iCalendar for calendars, vCard for address books (lib/carddav). */
export type UidReader = (states: CalDavStates, req: DavRequest, entry: Entry) => Promise<string | undefined>;

export async function reserveUid(states: CalDavStates, req: DavRequest, calendar: string, uid: string, path: string, readUid: UidReader = uidOf): Promise<UidReservation> {
  const home = states.stateOf(req.backend, calendar);
  const place: Place = { calendar, table: home.state.uids, key: home.path, stateDir: home.state.stateDir, readUid };
  const { table, key } = place;
  const member = path.slice(calendar.length);
  // This process's PUTs in flight first: no file is touched to refuse a second one of a UID.
  let flight = table.inFlight.get(key);
  const pending = flight?.pending.get(uid);
  if (pending !== undefined && pending !== member) return { clash: calendar + pending, done: async () => undefined };
  if (!flight) table.inFlight.set(key, (flight = { pending: new Map(), count: 0 }));
  const mine = flight;
  mine.pending.set(uid, member);
  mine.count++;
  let released = false;
  let unlock: (() => void) | undefined;
  const release = () => {
    if (released) return;
    released = true;
    unlock?.();
    if (mine.pending.get(uid) === member) mine.pending.delete(uid);
    if (--mine.count === 0 && table.inFlight.get(key) === mine) table.inFlight.delete(key);
  };
  const delta = deltaMode(req.backend);
  try {
    // Every process: one decision on this UID at a time, from the check to the end of the write.
    unlock = await table.holdUid(key, uid);
    const index = delta ? await caughtUp(states, req, place) : await current(states, req, place, uid);
    const held = index.byUid.get(uid);
    if (held !== undefined && held !== member) {
      release();
      return { clash: calendar + held, done: async () => undefined };
    }
  } catch (err) {
    release();
    const code = (err as NodeJS.ErrnoException).code;
    // The UID's lock file or the journal could not be made: a full disk, as for the write itself.
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new BackendError('InsufficientStorage', path, 'no space left on the device', { cause: err });
    throw err;
  }
  return {
    async done(stored) {
      try {
        // Delta mode reads every stored change back from the backend on the next PUT; the folder
        // backend's is announced to every process (ours included) before the UID's lock goes.
        if (delta || !stored || released) return;
        const now = await req.backend.stat(calendar);
        const journal = journalFile(place.stateDir, key);
        await appendJournal(journal, [now?.etag ?? '', member, uid]).catch(async () => {
          // Stored, so not the PUT's failure (a full disk): without the journal every process
          // rebuilds from the calendar, which has the object (removing a file needs no space).
          await rm(journal, { force: true }).catch(() => undefined);
        });
      } finally {
        release();
      }
    },
  };
}

function setMember(index: CalendarUids, member: string, uid: string | undefined): void {
  const old = index.byPath.get(member);
  if (old !== undefined && index.byUid.get(old) === member) index.byUid.delete(old);
  index.byPath.delete(member);
  if (uid === undefined) return;
  index.byUid.set(uid, member);
  index.byPath.set(member, uid);
}

async function addMembers(states: CalDavStates, req: DavRequest, place: Place, index: CalendarUids, members: Iterable<Entry> | AsyncIterable<Entry>): Promise<void> {
  for await (const member of members) {
    if (member.kind !== 'file') continue;
    setMember(index, member.path.slice(place.calendar.length), await place.readUid(states, req, member));
  }
}

/**
 * The folder backend's index of the calendar, current: the journal's new lines read into it, then
 * trusted if the calendar's ETag is the one after them, else rebuilt from the calendar (reading the
 * journal from where it ended before the listing began: lines of writes the listing saw are applied
 * twice, which changes nothing).
 */
async function current(states: CalDavStates, req: DavRequest, place: Place, uid: string): Promise<CalendarUids> {
  const { calendar, table, key } = place;
  const journal = journalFile(place.stateDir, key);
  return table.serial(key, async () => {
    let index = table.get(key);
    if (!index?.journal) index = undefined; // never built here (delta mode's placeholder)
    if (index?.journal) {
      const read = await readJournal(journal, index.journal);
      // A line that gives a member another UID than the index has: two processes stored that member
      // with two UIDs, and their lines may have landed in the other order than their renames.
      // (Left half-applied: it is replaced below, and its position is not moved.)
      for (const [etag, member, uid] of read?.lines ?? []) {
        if ((index.byPath.get(member) ?? uid) !== uid) {
          index = undefined;
          break;
        }
        setMember(index, member, uid);
        index.at = etag;
      }
      if (index && read) index.journal = read.pos;
      else index = undefined;
    }
    const entry = await req.backend.stat(calendar);
    if (index && entry && index.at === entry.etag && !index.unverified) return index;
    // Another ETag while other objects are being written into the calendar (by this process or
    // another, alive): most likely theirs, whose lines come before their UIDs are decided again.
    // Trusted, so a burst of PUTs does not rebuild on every one, but marked: what it may hide (a
    // DELETE, another program's file, landing just now) shows at the next check with no write in
    // flight, which rebuilds whatever the ETag then.
    if (index && entry && (await writesInFlight(place.stateDir, key, uid))) {
      index.unverified = true;
      return index;
    }
    const fresh: CalendarUids = { at: entry?.etag ?? '', byUid: new Map(), byPath: new Map(), journal: await journalEnd(journal) };
    await addMembers(states, req, place, fresh, calendarObjects(req, calendar));
    return table.remember(key, fresh);
  });
}

async function caughtUp(states: CalDavStates, req: DavRequest, place: Place): Promise<CalendarUids> {
  const { table, key } = place;
  // One catch-up at a time per calendar; a PUT that arrives during one waits for it, then catches
  // up on whatever landed meanwhile.
  return table.serial(key, async () => {
    const index = table.get(key) ?? table.remember(key, { at: '', byUid: new Map(), byPath: new Map() });
    await refresh(states, req, place, index);
    return index;
  });
}

async function refresh(states: CalDavStates, req: DavRequest, place: Place, index: CalendarUids): Promise<void> {
  const { calendar } = place;
  const backend = req.backend;
  if (!deltaMode(backend)) throw new Error('the UID index catches up by deltas only where changes() is cheap');
  // Where the backend has it, an in-memory state instead of a token: a token for an edited folder is
  // a delta blob written per call (git), O(burst) bytes per PUT, for nobody else to read.
  const since = (at: CalendarUids): SyncState | string | undefined => (backend.changesSinceState ? at.state : at.at || undefined);
  const ask = async (from: SyncState | string | undefined): Promise<{ changed: Entry[]; removed: string[]; at: string; state?: SyncState }> => {
    if (backend.changesSinceState) {
      const set = await backend.changesSinceState(calendar, from as SyncState | undefined);
      return { ...set, at: '' };
    }
    const set = await backend.changes(calendar, from as string | undefined);
    return { ...set, at: set.token };
  };
  let set;
  try {
    set = await ask(since(index));
  } catch (err) {
    if (!(err instanceof BackendError && err.code === 'InvalidSyncToken')) throw err;
    index.byUid.clear(); // the old state is gone (history rewritten): start from the whole calendar
    index.byPath.clear();
    set = await ask(undefined);
  }
  for (const path of set.removed) setMember(index, path.slice(calendar.length), undefined);
  await addMembers(states, req, place, index, set.changed);
  index.at = set.at;
  index.state = set.state;
}

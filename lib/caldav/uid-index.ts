/**
 * Which UIDs a calendar holds (for no-uid-conflict), without listing the calendar on every PUT.
 *
 * Where the backend's `changes()` is cheap and stateless (git: a token is a tree id, the delta comes
 * from the path index), the index remembers the token it was built at and catches up by the delta:
 * O(change) per PUT however many clients write at once, and changes by anyone else (another process,
 * native git) are seen too: never a wrong answer.
 *
 * Elsewhere (the folder backend, whose tokens are stored snapshots) the index is trusted while the
 * calendar's ETag is the one it was built or last advanced at. Every PUT of this server that stored
 * applies its own UID and advances the ETag, overlapping ones too (a build in progress replays them),
 * so bursts stay O(1) per PUT; a DELETE, a MOVE or a change by another program shows as an unknown
 * ETag and the next PUT rebuilds (objects are parsed once per ETag anyway). The one gap: a file
 * another program drops into the folder *while* this server's PUTs land there can be missed until
 * the next rebuild (a duplicate UID can then be stored; nothing is lost). docs/caldav.md says so.
 *
 * A PUT reserves its UID, so two simultaneous PUTs of one new UID cannot both pass.
 *
 * The index and the reservations are the state of the tree that stores the calendar (state/
 * uid-table.ts), so its owner and a user it is shared with, who see it at different paths, check
 * against one index; members are named by their path below the calendar, the same for both.
 */
import type { Backend, Entry } from '../../backends/backend.js';
import { BackendError } from '../../backends/errors.js';
import { isSyncCapable, type SyncCapable } from '../../backends/capabilities.js';
import type { DavRequest } from '../dav/context.js';
import type { CalDavStates } from './state/states.js';
import type { CalendarUids, UidTable } from './state/uid-table.js';
import { calendarObjects, uidOf } from './objects.js';

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
}

export async function reserveUid(states: CalDavStates, req: DavRequest, calendar: string, uid: string, path: string): Promise<UidReservation> {
  const home = states.stateOf(req.backend, calendar);
  const place: Place = { calendar, table: home.state.uids, key: home.path };
  const { table, key } = place;
  const member = path.slice(calendar.length);
  const delta = deltaMode(req.backend);
  const index = delta ? await caughtUp(states, req, place) : await byEtag(states, req, place);
  const held = index.byUid.get(uid);
  if (held !== undefined && held !== member) return { clash: calendar + held, done: async () => undefined };
  let flight = table.inFlight.get(key);
  const pending = flight?.pending.get(uid);
  if (pending !== undefined && pending !== member) return { clash: calendar + pending, done: async () => undefined };
  if (!flight) table.inFlight.set(key, (flight = { pending: new Map(), count: 0 }));
  flight.pending.set(uid, member);
  flight.count++;
  return {
    async done(stored) {
      flight.pending.delete(uid);
      if (--flight.count === 0) table.inFlight.delete(key);
      // Delta mode reads every stored change back from the backend on the next PUT.
      if (delta || !stored) return;
      // Our own write is known exactly: into the current index, and into the log that an index
      // being built right now replays (its listing may have missed this file).
      for (const log of table.building.get(key) ?? []) log.push([member, uid]);
      const current = table.get(key);
      if (!current) return;
      setMember(current, member, uid);
      const now = await req.backend.stat(calendar);
      if (now) current.at = now.etag;
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
    setMember(index, member.path.slice(place.calendar.length), await uidOf(states, req, member));
  }
}

async function byEtag(states: CalDavStates, req: DavRequest, place: Place): Promise<CalendarUids> {
  const { calendar, table, key } = place;
  const entry = await req.backend.stat(calendar);
  const cached = table.get(key);
  if (cached && entry && cached.at === entry.etag) return cached;
  const index: CalendarUids = { at: entry?.etag ?? '', byUid: new Map(), byPath: new Map() };
  const log: Array<[string, string]> = [];
  let logs = table.building.get(key);
  if (!logs) table.building.set(key, (logs = new Set()));
  logs.add(log);
  try {
    await addMembers(states, req, place, index, calendarObjects(req, calendar));
  } finally {
    logs.delete(log);
    if (logs.size === 0) table.building.delete(key);
  }
  for (const [member, uid] of log) setMember(index, member, uid);
  return table.remember(key, index);
}

async function caughtUp(states: CalDavStates, req: DavRequest, place: Place): Promise<CalendarUids> {
  const { table, key } = place;
  const index = table.get(key) ?? table.remember(key, { at: '', byUid: new Map(), byPath: new Map() });
  // One catch-up at a time per calendar; a PUT that arrives during one waits for it, then catches
  // up on whatever landed meanwhile.
  while (index.refreshing) await index.refreshing;
  const run = refresh(states, req, place, index).finally(() => {
    index.refreshing = undefined;
  });
  index.refreshing = run;
  await run;
  return index;
}

async function refresh(states: CalDavStates, req: DavRequest, place: Place, index: CalendarUids): Promise<void> {
  const { calendar } = place;
  const backend = req.backend;
  if (!deltaMode(backend)) throw new Error('the UID index catches up by deltas only where changes() is cheap');
  let set;
  try {
    set = await backend.changes(calendar, index.at || undefined);
  } catch (err) {
    if (!(err instanceof BackendError && err.code === 'InvalidSyncToken')) throw err;
    index.byUid.clear(); // the old state is gone (history rewritten): start from the whole calendar
    index.byPath.clear();
    set = await backend.changes(calendar, undefined);
  }
  for (const path of set.removed) setMember(index, path.slice(calendar.length), undefined);
  await addMembers(states, req, place, index, set.changed);
  index.at = set.token;
}

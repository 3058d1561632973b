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
 */
import type { Backend, Entry } from '../../backends/backend.js';
import { BackendError } from '../../backends/errors.js';
import { isSyncCapable, locate, type SyncCapable } from '../../backends/capabilities.js';
import type { DavRequest } from '../dav/context.js';
import { calendarObjects, uidOf } from './objects.js';

interface CalendarUids {
  /** The calendar's ETag (or, in delta mode, its sync token) the index is exact for. */
  at: string;
  /** UID → member path, as stored. */
  byUid: Map<string, string>;
  /** Member path → UID (for deltas, which name paths). */
  byPath: Map<string, string>;
  /** Delta mode: the catch-up in progress, which concurrent PUTs share. */
  refreshing?: Promise<void>;
}

const indexes = new Map<string, CalendarUids>();

/** PUTs in flight per calendar, kept apart from the index so that a rebuild cannot forget them. */
interface InFlight {
  /** UID → the path being written with it. */
  pending: Map<string, string>;
  count: number;
}
const inFlight = new Map<string, InFlight>();

export interface UidReservation {
  /** A member that already has the UID (other than the target), if any: the PUT must fail. */
  clash?: string;
  /** Call once the PUT has ended, stored or not. */
  done(stored: boolean): Promise<void>;
}

const deltaMode = (backend: Backend): backend is Backend & SyncCapable => isSyncCapable(backend) && backend.cheapChanges;

export async function reserveUid(req: DavRequest, calendar: string, uid: string, path: string): Promise<UidReservation> {
  const k = `${req.backend.stateDir}\0${calendar}`;
  const delta = deltaMode(req.backend);
  const index = delta ? await caughtUp(req, calendar, k) : await byEtag(req, calendar, k);
  const held = index.byUid.get(uid);
  if (held && held !== path) return { clash: held, done: async () => undefined };
  // PUTs in flight are kept by where the calendar is stored, in its owner's paths, so that its owner
  // and a user it is shared with (who see it at different paths) reserve UIDs in one place.
  const home = locate(req.backend, calendar);
  const fk = `${home.stateDir}\0${home.path}`;
  const storedAt = home.path + path.slice(calendar.length);
  let flight = inFlight.get(fk);
  const pending = flight?.pending.get(uid);
  if (pending && pending !== storedAt) return { clash: calendar + pending.slice(home.path.length), done: async () => undefined };
  if (!flight) inFlight.set(fk, (flight = { pending: new Map(), count: 0 }));
  flight.pending.set(uid, storedAt);
  flight.count++;
  return {
    async done(stored) {
      flight.pending.delete(uid);
      if (--flight.count === 0) inFlight.delete(fk);
      // Delta mode reads every stored change back from the backend on the next PUT.
      if (delta || !stored) return;
      // Our own write is known exactly: into the current index, and into the log that an index
      // being built right now replays (its listing may have missed this file).
      for (const log of building.get(k) ?? []) log.push([path, uid]);
      const current = indexes.get(k);
      if (!current) return;
      setMember(current, path, uid);
      const now = await req.backend.stat(calendar);
      if (now) current.at = now.etag;
    },
  };
}

function setMember(index: CalendarUids, path: string, uid: string | undefined): void {
  const old = index.byPath.get(path);
  if (old !== undefined && index.byUid.get(old) === path) index.byUid.delete(old);
  index.byPath.delete(path);
  if (uid === undefined) return;
  index.byUid.set(uid, path);
  index.byPath.set(path, uid);
}

function remember(k: string, index: CalendarUids): CalendarUids {
  // PUTs in flight against an older index see it replaced in done() and leave this one alone.
  indexes.set(k, index);
  if (indexes.size > 1000) indexes.delete(indexes.keys().next().value!);
  return index;
}

async function addMembers(req: DavRequest, index: CalendarUids, members: Iterable<Entry> | AsyncIterable<Entry>): Promise<void> {
  for await (const member of members) {
    if (member.kind !== 'file') continue;
    setMember(index, member.path, await uidOf(req, member));
  }
}

/** Our stored PUTs per calendar while an index of it is being built: replayed into it at the end. */
const building = new Map<string, Set<Array<[string, string]>>>();

async function byEtag(req: DavRequest, calendar: string, k: string): Promise<CalendarUids> {
  const entry = await req.backend.stat(calendar);
  const cached = indexes.get(k);
  if (cached && entry && cached.at === entry.etag) return cached;
  const index: CalendarUids = { at: entry?.etag ?? '', byUid: new Map(), byPath: new Map() };
  const log: Array<[string, string]> = [];
  let logs = building.get(k);
  if (!logs) building.set(k, (logs = new Set()));
  logs.add(log);
  try {
    await addMembers(req, index, calendarObjects(req, calendar));
  } finally {
    logs.delete(log);
    if (logs.size === 0) building.delete(k);
  }
  for (const [path, uid] of log) setMember(index, path, uid);
  return remember(k, index);
}

async function caughtUp(req: DavRequest, calendar: string, k: string): Promise<CalendarUids> {
  let index = indexes.get(k);
  if (!index) index = remember(k, { at: '', byUid: new Map(), byPath: new Map() });
  // One catch-up at a time per calendar; a PUT that arrives during one waits for it, then catches
  // up on whatever landed meanwhile.
  while (index.refreshing) await index.refreshing;
  const run = refresh(req, calendar, index).finally(() => {
    index.refreshing = undefined;
  });
  index.refreshing = run;
  await run;
  return index;
}

async function refresh(req: DavRequest, calendar: string, index: CalendarUids): Promise<void> {
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
  for (const path of set.removed) setMember(index, path, undefined);
  await addMembers(req, index, set.changed);
  index.at = set.token;
}

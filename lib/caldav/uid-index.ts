/**
 * Which UIDs a calendar holds (for no-uid-conflict), without listing the calendar on every PUT.
 *
 * An index per calendar is trusted while the calendar's ETag is the one it was built or advanced at.
 * A PUT reserves its UID (so two simultaneous PUTs of one new UID cannot both pass) and, when it ends
 * with no other PUT to that calendar in flight, advances the index to the calendar's new ETag: PUTs
 * one after another cost O(1). When PUTs overlapped, or anything else changed the calendar (a DELETE,
 * another process, native git), the ETag no longer matches and the next PUT rebuilds the index
 * (objects are parsed once per ETag anyway): never a wrong answer, at worst a slower one.
 */
import type { DavRequest } from '../dav/context.js';
import { calendarObjects, parsedObject } from './objects.js';

interface CalendarUids {
  etag: string;
  /** UID → member path, as stored. */
  byUid: Map<string, string>;
  /** UIDs of PUTs in flight → their path. */
  pending: Map<string, string>;
  inflight: number;
}

const indexes = new Map<string, CalendarUids>();

export interface UidReservation {
  /** A member that already has the UID (other than the target), if any: the PUT must fail. */
  clash?: string;
  /** Call once the PUT has ended, stored or not. */
  done(stored: boolean): Promise<void>;
}

export async function reserveUid(req: DavRequest, calendar: string, uid: string, path: string): Promise<UidReservation> {
  const k = `${req.backend.stateDir}\0${calendar}`;
  const index = await current(req, calendar, k);
  const owner = index.byUid.get(uid) ?? index.pending.get(uid);
  if (owner && owner !== path) return { clash: owner, done: async () => undefined };
  const checkedAt = index.etag;
  index.pending.set(uid, path);
  index.inflight++;
  return {
    async done(stored) {
      index.inflight--;
      index.pending.delete(uid);
      if (!stored || indexes.get(k) !== index) return;
      const now = await req.backend.stat(calendar);
      if (index.inflight > 0 || index.etag !== checkedAt || !now) {
        indexes.delete(k); // others overlapped: rebuild on the next PUT
        return;
      }
      for (const [u, p] of index.byUid) if (p === path) index.byUid.delete(u);
      index.byUid.set(uid, path);
      index.etag = now.etag;
    },
  };
}

async function current(req: DavRequest, calendar: string, k: string): Promise<CalendarUids> {
  const entry = await req.backend.stat(calendar);
  const cached = indexes.get(k);
  if (cached && entry && cached.etag === entry.etag) return cached;
  const byUid = new Map<string, string>();
  for await (const member of calendarObjects(req, calendar)) {
    const uid = (await parsedObject(req, member))?.uid;
    if (uid) byUid.set(uid, member.path);
  }
  // A rebuilt index starts clean: PUTs in flight against the old one see it replaced in done() and
  // leave it alone (a reservation left behind by a failed request can never block a UID for good).
  const index: CalendarUids = { etag: entry?.etag ?? '', byUid, pending: new Map(), inflight: 0 };
  indexes.set(k, index);
  if (indexes.size > 1000) indexes.delete(indexes.keys().next().value!);
  return index;
}

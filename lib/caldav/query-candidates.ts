/**
 * The members of a calendar a calendar-query must look at. Where the backend tells changes cheaply
 * (git), the calendar's members are kept current through sync and, when the filter requires a
 * time-range, only those whose indexed bounds meet it are returned, with those whose bounds are open
 * or not known yet (state/calendar-members.ts). Folders are kept the same way by their listing
 * version (a pass of stats per query). Elsewhere the calendar is listed.
 * Either way each candidate is still tested in full: this only narrows, never decides.
 */
import type { Entry } from '../../backends/backend.js';
import type { DavRequest } from '../dav/context.js';
import type { CalendarFilter } from './ical/filter.js';
import { requiredRange } from './ical/prefilter.js';
import { membersMeeting, type SavedAt } from './state/calendar-members.js';
import { memberFile } from './state/member-file.js';
import type { CalDavStates } from './state/states.js';
import { calendarObjects } from './objects.js';

export async function queryCandidates(states: CalDavStates, req: DavRequest, path: string, filter: CalendarFilter, contentOnly = false): Promise<Iterable<Entry> | AsyncIterable<Entry>> {
  const { state } = states.stateOf(req.backend, path);
  // `contentOnly`: the answer depends on each member's path, ETag and content alone (getetag and
  // calendar-data), so entries from the saved list serve (their dates are not known).
  const set = await states.members.current(req.backend, path, membersKey(states, req, path), { saved: savedAt(states, req, path), full: !contentOnly }).catch(() => null);
  if (!set) return calendarObjects(req, path);
  const range = requiredRange(filter);
  if (!range) return sortedByName([...set.files.values()]);
  await state.index.ready();
  return sortedByName(membersMeeting(set, state.index, range.start, range.end));
}

/**
 * Every file of a collection, in name order, from the set kept current through sync where the backend
 * tells changes cheaply (as queryCandidates, without a time-range to narrow by): CardDAV's
 * addressbook-query, whose filters are tested on each member anyway. Elsewhere the collection is listed.
 */
export async function collectionFiles(states: CalDavStates, req: DavRequest, path: string, contentOnly = false): Promise<Iterable<Entry> | AsyncIterable<Entry>> {
  const set = await states.members.current(req.backend, path, membersKey(states, req, path), { saved: savedAt(states, req, path), full: !contentOnly }).catch(() => null);
  return set ? sortedByName([...set.files.values()]) : calendarObjects(req, path);
}

/**
 * The calendar's files by path as they are now, where a set is kept current through sync (git, once
 * a query has read it); null otherwise. calendar-multiget takes its entries from here instead of a
 * stat per href: the set was brought up to the collection's current token just now, so an entry here
 * is what a stat would give (the same backend entry, kept by path until a change replaces it).
 */
export async function keptMembers(states: CalDavStates, req: DavRequest, path: string): Promise<Pick<ReadonlyMap<string, Entry>, 'get'> | null> {
  const set = await states.members.current(req.backend, path, membersKey(states, req, path), { onlyIfKept: true }).catch(() => null);
  if (!set) return null;
  // An entry from the saved list has no dates: not one here, so the caller stats it.
  const light = set.light;
  return light ? { get: (p) => (light.has(p) ? undefined : set.files.get(p)) } : set.files;
}

/** Where the calendar's member list is saved for this user (state/member-file.ts). */
function savedAt(states: CalDavStates, req: DavRequest, path: string): SavedAt {
  const { state } = states.stateOf(req.backend, path);
  const user = (req.ctx.state.user as string | undefined) ?? '';
  return { file: memberFile(state.stateDir, user, path), user };
}

/** The tree, the user and the path: another user's view of the same path may differ. */
function membersKey(states: CalDavStates, req: DavRequest, path: string): string {
  const { state } = states.stateOf(req.backend, path);
  const user = (req.ctx.state.user as string | undefined) ?? '';
  return `${state.stateDir}\0${user}\0${path}`;
}

/** A UTF-16 code unit whose order differs from its UTF-8 bytes' (surrogates sort below U+E000..U+FFFF). */
const WIDE = /[\uD800-\uFFFF]/;

/** By path in byte order of their UTF-8, as git orders a tree (and so as the calendar's listing did). */
export function sortedByName(entries: Entry[]): Entry[] {
  // Without surrogates or characters from U+E000 up, UTF-16 code units sort as UTF-8 bytes do:
  // compared as strings, without a Buffer per path (most calendars' paths are ASCII).
  if (!entries.some((e) => WIDE.test(e.path))) return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const keyed = entries.map((e) => ({ e, k: Buffer.from(e.path) }));
  keyed.sort((a, b) => Buffer.compare(a.k, b.k));
  return keyed.map((x) => x.e);
}

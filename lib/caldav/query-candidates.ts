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
import { membersMeeting } from './state/calendar-members.js';
import type { CalDavStates } from './state/states.js';
import { calendarObjects } from './objects.js';

export async function queryCandidates(states: CalDavStates, req: DavRequest, path: string, filter: CalendarFilter): Promise<Iterable<Entry> | AsyncIterable<Entry>> {
  const { state } = states.stateOf(req.backend, path);
  const user = (req.ctx.state.user as string | undefined) ?? '';
  const set = await states.members.current(req.backend, path, `${state.stateDir}\0${user}\0${path}`).catch(() => null);
  if (!set) return calendarObjects(req, path);
  const range = requiredRange(filter);
  if (!range) return sortedByName([...set.files.values()]);
  await state.index.ready();
  return sortedByName(membersMeeting(set, state.index, range.start, range.end));
}

/** By path in byte order of their UTF-8, as git orders a tree (and so as the calendar's listing did). */
function sortedByName(entries: Entry[]): Entry[] {
  const keyed = entries.map((e) => ({ e, k: Buffer.from(e.path) }));
  keyed.sort((a, b) => Buffer.compare(a.k, b.k));
  return keyed.map((x) => x.e);
}

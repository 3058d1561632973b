/**
 * A calendar's agenda for its page: the event occurrences of the next AGENDA_DAYS days, recurrences
 * expanded by CalDAV's own code (ical/recurrence.ts via instancesInRange: EXDATEs, overrides, time
 * zones), read-only. The members are found as a calendar-query for that range finds them
 * (query-candidates.ts: on git only those whose indexed bounds meet the range; objects parsed once
 * per ETag), so a page over a big calendar reads what a client's month view reads.
 *
 * Bounds: at most MAX_OBJECTS objects are looked at, at most MAX_OCCURRENCES occurrences kept (the
 * earliest), each object expanded up to MAX_EXPANSION occurrences from its start (CalDAV's default
 * maxInstances: a COUNT rule is generated from DTSTART, so a smaller cap would stop before today), all under the request's step budget
 * (limits.maxCalendarSteps); the loop pauses every few ms (time-slicer.ts). A cut says so on the page.
 */
import type { CalDavStates } from '../../caldav/state/states.js';
import { candidateObject, parsedObject } from '../../caldav/objects.js';
import { queryCandidates } from '../../caldav/query-candidates.js';
import { boundsPrefilter } from '../../caldav/ical/prefilter.js';
import type { CalendarFilter } from '../../caldav/ical/filter.js';
import { eventEnd, instancesInRange, type TimeRange } from '../../caldav/ical/timerange.js';
import { epochMs, isFloating, type IcalTime } from '../../caldav/ical/tz.js';
import type { Instance } from '../../caldav/ical/recurrence.js';
import { counted, StepBudgetExceeded, timeSlicer } from '../../caldav/steps.js';
import type { DavRequest } from '../../dav/context.js';
import { escapeText } from '../../dav/xml/write.js';
import { timeTag } from '../format.js';

export const AGENDA_DAYS = 30;
export const MAX_OCCURRENCES = 200;
export const MAX_OBJECTS = 20_000;
export const MAX_EXPANSION = 5000;

export interface Occurrence {
  /** Epoch ms (floating times and dates read as UTC, as CalDAV does without a time zone). */
  start: number;
  end: number | null;
  /** A DATE: an all-day event, shown as a date. */
  allDay: boolean;
  /** A time without zone: shown as written, not converted to the reader's zone. */
  floating: boolean;
  /** The DTSTART as written (dates and floating times are shown so). */
  wall: IcalTime;
  summary: string;
  location: string;
  recurring: boolean;
  cancelled: boolean;
}

export interface Agenda {
  items: Occurrence[];
  /** Why the list may be incomplete, or null. */
  cut: string | null;
}

export async function agenda(req: DavRequest, states: CalDavStates, path: string, from: number, days = AGENDA_DAYS): Promise<Agenda> {
  const range: TimeRange = { start: from, end: from + days * 86_400_000 };
  const filter: CalendarFilter = {
    name: 'VCALENDAR', isNotDefined: false, timeRange: null, propFilters: [],
    compFilters: [{ name: 'VEVENT', isNotDefined: false, timeRange: range, propFilters: [], compFilters: [] }],
  };
  const test = boundsPrefilter(filter);
  let items: Occurrence[] = [];
  let cut: string | null = null;
  let more = false; // some object had more occurrences than were kept
  const slice = timeSlicer();
  const byStart = (a: Occurrence, b: Occurrence) => a.start - b.start || a.summary.localeCompare(b.summary);
  try {
    let seen = 0;
    for await (const entry of await queryCandidates(states, req, path, filter, true)) {
      if (++seen > MAX_OBJECTS) {
        cut = `only the first ${MAX_OBJECTS.toLocaleString('en')} events of this calendar were looked at`;
        break;
      }
      await slice();
      const object = test ? await candidateObject(states, req, entry, test) : await parsedObject(states, req, entry);
      if (!object || object.componentType !== 'VEVENT') continue;
      const found = counted(req, () => instancesInRange(object, range, { maxInstances: MAX_EXPANSION }));
      for (const inst of found.instances) {
        const o = occurrence(inst, object.master !== null && (object.master.hasProperty('rrule') || object.master.hasProperty('rdate')));
        if (o) items.push(o);
      }
      if (items.length > 2 * MAX_OCCURRENCES) {
        items = items.sort(byStart).slice(0, MAX_OCCURRENCES);
        more = true;
      }
    }
  } catch (err) {
    if (!(err instanceof StepBudgetExceeded)) throw err;
    cut = 'the calendar holds more than this page may expand at once; a CalDAV client shows it all';
  }
  items.sort(byStart);
  if (items.length > MAX_OCCURRENCES) {
    items = items.slice(0, MAX_OCCURRENCES);
    more = true;
  }
  if (more && !cut) cut = `only the first ${MAX_OCCURRENCES} occurrences are shown`;
  return { items, cut };
}

function occurrence(inst: Instance, recurring: boolean): Occurrence | null {
  if (!inst.start) return null;
  const c = inst.component;
  const str = (name: string): string => {
    const v = c.getFirstPropertyValue(name);
    return typeof v === 'string' ? v : v == null ? '' : String(v);
  };
  return {
    start: epochMs(inst.start),
    end: eventEnd(inst),
    allDay: inst.start.isDate,
    floating: isFloating(inst.start),
    wall: inst.start,
    summary: str('summary'),
    location: str('location'),
    recurring: recurring || inst.kind !== 'single',
    cancelled: str('status').toUpperCase() === 'CANCELLED',
  };
}

const pad = (n: number) => String(n).padStart(2, '0');
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** A DATE (or a floating time) as written: `<time>` without `datetime`, so app.js leaves it as it is. */
function wallText(t: IcalTime, withTime: boolean): string {
  const date = `${t.year}-${pad(t.month)}-${pad(t.day)}`;
  const weekday = DAYS[new Date(Date.UTC(t.year, t.month - 1, t.day)).getUTCDay()];
  return `<time class="cal-date">${weekday} ${date}${withTime ? ` ${pad(t.hour)}:${pad(t.minute)}` : ''}</time>`;
}

/** The agenda as a table: when (timeTag: the reader's time zone), what, where. */
export function renderAgenda(a: Agenda, days = AGENDA_DAYS): string {
  const head = `<h2 id="agenda-title">Next ${days} days</h2>`;
  if (a.items.length === 0) return `<section class="cal-agenda" aria-labelledby="agenda-title">${head}<p class="cal-empty">No events in the next ${days} days.</p>${a.cut ? `<p class="cal-cut">${escapeText(a.cut)}</p>` : ''}</section>`;
  const rows = a.items.map((o) => {
    const when = o.allDay ? `${wallText(o.wall, false)} <span class="cal-allday">all day</span>` : o.floating ? wallText(o.wall, true) : timeTag(new Date(o.start), 'local');
    const tags = [o.recurring ? '<span class="cal-tag">repeats</span>' : '', o.cancelled ? '<span class="cal-tag cal-cancelled">cancelled</span>' : ''].join('');
    return `<tr class="cal-event" data-start="${new Date(o.start).toISOString()}"><td class="cal-when">${when}</td><td class="cal-summary">${escapeText(o.summary || '(no title)')}${tags}</td><td class="cal-where">${escapeText(o.location)}</td></tr>`;
  });
  return `<section class="cal-agenda" aria-labelledby="agenda-title">${head}
<table id="agenda"><thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Where</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>${a.cut ? `<p class="cal-cut">${escapeText(a.cut)}</p>` : ''}</section>`;
}

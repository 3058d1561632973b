/**
 * The one way tests load fixtures/: files are read from the source tree (fixtures/ is not compiled),
 * found relative to this module in dist/test/helpers/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES_DIR = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const CALENDARS_DIR = join(FIXTURES_DIR, 'calendars');

export interface CalendarFixture {
  /** Path below fixtures/calendars/, e.g. `google/weekly-standup.ics`. */
  readonly name: string;
  /** The exporting application the file imitates: its folder. */
  readonly source: string;
  readonly text: string;
}

export interface CalendarQueryFixture {
  readonly name: string;
  readonly note?: string;
  /** A CALDAV:filter element as XML text… */
  readonly filter?: string;
  /** …or a time-range on one component type (UTC date-times; either end may be missing). */
  readonly timeRange?: { readonly component: string; readonly start?: string; readonly end?: string };
  /** Matching fixture names, sorted. */
  readonly expected: readonly string[];
}

export interface ExpandedInstanceFixture {
  readonly recurrenceId: string;
  readonly start: string;
  readonly end: string;
}

export interface CalendarExpansionFixture {
  readonly file: string;
  readonly start: string;
  readonly end: string;
  readonly expected: readonly ExpandedInstanceFixture[];
}

export interface FreeBusyFixture {
  readonly start: string;
  readonly end: string;
  readonly note?: string;
  /** `<FBTYPE> <start>/<end>` in UTC, in order. */
  readonly expected: readonly string[];
}

export interface CalendarFixtures {
  readonly objects: readonly CalendarFixture[];
  readonly queries: readonly CalendarQueryFixture[];
  readonly expansions: readonly CalendarExpansionFixture[];
  readonly freeBusy: readonly FreeBusyFixture[];
}

/** Every .ics file under fixtures/calendars/<source>/, plus queries.json. */
export function loadCalendarFixtures(): CalendarFixtures {
  const objects: CalendarFixture[] = [];
  for (const source of readdirSync(CALENDARS_DIR, { withFileTypes: true })) {
    if (!source.isDirectory()) continue;
    for (const file of readdirSync(join(CALENDARS_DIR, source.name)).sort()) {
      if (!file.endsWith('.ics')) continue;
      objects.push({ name: `${source.name}/${file}`, source: source.name, text: readFileSync(join(CALENDARS_DIR, source.name, file), 'utf8') });
    }
  }
  objects.sort((a, b) => a.name.localeCompare(b.name));
  const data = JSON.parse(readFileSync(join(CALENDARS_DIR, 'queries.json'), 'utf8')) as Omit<CalendarFixtures, 'objects'>;
  return { objects, queries: data.queries, expansions: data.expansions, freeBusy: data.freeBusy };
}

/** One calendar fixture's text by name (`apple/dentist.ics`). */
export function calendarFixture(name: string): string {
  return readFileSync(join(CALENDARS_DIR, name), 'utf8');
}

/** VTIMEZONE blocks for inline test objects (the same rules as the fixture files use). */
export const VTIMEZONE_BERLIN = `BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE`;

export const VTIMEZONE_NEW_YORK = `BEGIN:VTIMEZONE
TZID:America/New_York
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE`;

/**
 * An inline calendar object: `ics('BEGIN:VEVENT', 'UID:x', …, 'END:VEVENT')` wrapped in a VCALENDAR
 * (CRLF, as on the wire). Multi-line blocks such as the VTIMEZONEs above may be passed as one line.
 */
export function ics(...lines: string[]): string {
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//gitdav//tests//EN', ...lines.flatMap((l) => l.split('\n')), 'END:VCALENDAR', '']
    .join('\r\n');
}

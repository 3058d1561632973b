import assert from 'node:assert/strict';
import ICAL from 'ical.js';
import { parseXml } from '../../lib/dav/xml/parse.js';
import { CALENDAR_COMPONENTS, parseCalendarObject, type CalendarObject } from '../../lib/caldav/ical/object.js';
import { validateCalendarObject } from '../../lib/caldav/ical/validate.js';
import { matches, parseFilter, type CalendarFilter } from '../../lib/caldav/ical/filter.js';
import { expand } from '../../lib/caldav/ical/expand.js';
import { busyPeriods, formatPeriod, freeBusyReport } from '../../lib/caldav/ical/freebusy.js';
import { parseUtcDateTime } from '../../lib/caldav/ical/tz.js';
import { loadCalendarFixtures, type CalendarQueryFixture } from '../helpers/fixtures.js';

const fixtures = loadCalendarFixtures();
const objects = new Map<string, CalendarObject>(fixtures.objects.map((f) => [f.name, parseCalendarObject(f.text)]));

function utc(value: string): Date {
  const ms = parseUtcDateTime(value);
  assert.ok(ms !== null, `bad UTC date-time in queries.json: ${value}`);
  return new Date(ms);
}

/** A query of queries.json as a CALDAV:filter, the shorthand time ranges too (so they pass the parser). */
function filterOf(q: CalendarQueryFixture): CalendarFilter {
  if (q.filter) return parseFilter(parseXml(q.filter));
  const { component, start, end } = q.timeRange!;
  const attrs = `${start ? ` start="${start}"` : ''}${end ? ` end="${end}"` : ''}`;
  return parseFilter(parseXml(`<C:filter xmlns:C="urn:ietf:params:xml:ns:caldav"><C:comp-filter name="VCALENDAR">`
    + `<C:comp-filter name="${component}"><C:time-range${attrs}/></C:comp-filter></C:comp-filter></C:filter>`));
}

describe('CalDAV fixtures: calendars shaped like Google, Apple and Outlook exports', () => {
  it('has objects from every source, and every expected name exists', () => {
    assert.deepEqual([...new Set(fixtures.objects.map((f) => f.source))].sort(), ['apple', 'google', 'outlook']);
    for (const q of fixtures.queries) for (const name of q.expected) assert.ok(objects.has(name), `${q.name}: no fixture ${name}`);
    for (const e of fixtures.expansions) assert.ok(objects.has(e.file), `no fixture ${e.file}`);
  });

  describe('RFC 4791 §4.1 / §5.3.2.1: each file is one valid calendar object resource', () => {
    for (const f of fixtures.objects) {
      it(f.name, () => {
        const { uid, componentType } = validateCalendarObject(f.text, { supportedComponents: CALENDAR_COMPONENTS, maxResourceSize: 1 << 20 });
        assert.ok(uid.length > 0);
        assert.equal(componentType, objects.get(f.name)!.componentType);
      });
    }
  });

  describe('RFC 4791 §7.8 calendar-query: queries.json', () => {
    for (const q of fixtures.queries) {
      it(q.name, () => {
        const filter = filterOf(q);
        const got = [...objects].filter(([, o]) => matches(o, filter)).map(([name]) => name).sort();
        assert.deepEqual(got, [...q.expected]);
      });
    }
  });

  describe('RFC 4791 §9.6.5 expand: instances in UTC across DST changes', () => {
    for (const e of fixtures.expansions) {
      it(`${e.file} ${e.start}–${e.end}`, () => {
        const text = expand(objects.get(e.file)!, utc(e.start), utc(e.end));
        const root = ICAL.Component.fromString(text);
        assert.equal(root.getAllSubcomponents('vtimezone').length, 0, 'no VTIMEZONE after expand');
        const got = root.getAllSubcomponents().map((c) => {
          for (const name of ['rrule', 'rdate', 'exdate']) assert.ok(!c.hasProperty(name), `${name} left in an instance`);
          const value = (name: string) => (c.getFirstPropertyValue(name) as ICAL.Time).toICALString();
          return { recurrenceId: value('recurrence-id'), start: value('dtstart'), end: value('dtend') };
        });
        assert.deepEqual(got, e.expected);
      });
    }
  });

  describe('RFC 4791 §7.10 free-busy-query over every file', () => {
    for (const fb of fixtures.freeBusy) {
      it(`${fb.start}–${fb.end}`, () => {
        const periods = busyPeriods(objects.values(), utc(fb.start), utc(fb.end));
        assert.deepEqual(periods.map((p) => `${p.type} ${formatPeriod(p)}`), [...fb.expected]);

        const report = ICAL.Component.fromString(freeBusyReport(objects.values(), utc(fb.start), utc(fb.end)));
        const lines = report.getFirstSubcomponent('vfreebusy')!.getAllProperties('freebusy').map((p) => {
          const period = p.getFirstValue() as ICAL.Period;
          return `${p.getFirstParameter('fbtype') ?? 'BUSY'} ${period.start.toICALString()}/${period.getEnd().toICALString()}`;
        });
        assert.deepEqual(lines, [...fb.expected]);
      });
    }
  });
});

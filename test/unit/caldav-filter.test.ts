import assert from 'node:assert/strict';
import { parseXml } from '../../lib/dav/xml/parse.js';
import { CalendarQueryError, matches, parseFilter, parseQueryFilter, parseTimeRange, type CalendarFilter } from '../../lib/caldav/ical/filter.js';
import { parseCalendarObject } from '../../lib/caldav/ical/object.js';
import type { CalendarQueryCondition } from '../../lib/caldav/ical/errors.js';
import { ics, VTIMEZONE_BERLIN } from '../helpers/fixtures.js';

const C = 'xmlns:C="urn:ietf:params:xml:ns:caldav"';
const filter = (inner: string): CalendarFilter => parseFilter(parseXml(`<C:filter ${C}><C:comp-filter name="VCALENDAR">${inner}</C:comp-filter></C:filter>`));

function refused(xml: string, status: 400 | 403, condition: CalendarQueryCondition, pattern?: RegExp): void {
  assert.throws(
    () => parseFilter(parseXml(xml)),
    (err: unknown) => err instanceof CalendarQueryError && err.status === status && err.condition === condition && (!pattern || pattern.test(err.message)),
    `expected ${status} ${condition}`,
  );
}
const wrapped = (inner: string) => `<C:filter ${C}><C:comp-filter name="VCALENDAR">${inner}</C:comp-filter></C:filter>`;

const MEETING = parseCalendarObject(ics(VTIMEZONE_BERLIN,
  'BEGIN:VEVENT', 'UID:m1', 'DTSTART;TZID=Europe/Berlin:20240408T100000', 'DTEND;TZID=Europe/Berlin:20240408T110000',
  'RRULE:FREQ=WEEKLY;COUNT=4', 'SUMMARY:Weekly review', 'CATEGORIES:Work,Planning', 'CATEGORIES:Q2',
  'ATTENDEE;PARTSTAT=ACCEPTED;CN=Anna:mailto:anna@example.com', 'ATTENDEE;PARTSTAT=DECLINED:mailto:bob@example.com',
  'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER:-PT30M', 'DESCRIPTION:soon', 'END:VALARM',
  'END:VEVENT',
  'BEGIN:VEVENT', 'UID:m1', 'RECURRENCE-ID;TZID=Europe/Berlin:20240415T100000', 'DTSTART;TZID=Europe/Berlin:20240415T140000',
  'DTEND;TZID=Europe/Berlin:20240415T150000', 'SUMMARY:Weekly review (afternoon)', 'END:VEVENT'));

const FLOATING = parseCalendarObject(ics('BEGIN:VEVENT', 'UID:f', 'DTSTART:20240408T090000', 'DURATION:PT1H', 'END:VEVENT'));

describe('CalDAV filters (RFC 4791 §9.7)', () => {
  describe('parseFilter: the model', () => {
    it('reads names (upper-cased), time ranges, text-matches and param-filters', () => {
      const f = filter(`<C:comp-filter name="vevent"><C:time-range start="20240101T000000Z"/>
        <C:prop-filter name="attendee"><C:text-match collation="i;octet" negate-condition="yes">bob</C:text-match>
          <C:param-filter name="partstat"><C:is-not-defined/></C:param-filter></C:prop-filter></C:comp-filter>`);
      assert.deepEqual(f, {
        name: 'VCALENDAR', isNotDefined: false, timeRange: null, propFilters: [],
        compFilters: [{
          name: 'VEVENT', isNotDefined: false, timeRange: { start: Date.UTC(2024, 0, 1), end: Infinity }, compFilters: [],
          propFilters: [{
            name: 'ATTENDEE', isNotDefined: false, timeRange: null,
            textMatch: { text: 'bob', collation: 'i;octet', negate: true },
            paramFilters: [{ name: 'PARTSTAT', isNotDefined: true, textMatch: null }],
          }],
        }],
      });
    });

    it('defaults to i;ascii-casemap and negate-condition="no" (§9.7.5)', () => {
      const f = filter('<C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match>x</C:text-match></C:prop-filter></C:comp-filter>');
      assert.deepEqual(f.compFilters[0]!.propFilters[0]!.textMatch, { text: 'x', collation: 'i;ascii-casemap', negate: false });
    });

    it('ignores elements of other namespaces (RFC 4918 §17)', () => {
      const f = parseFilter(parseXml(`<C:filter ${C} xmlns:X="urn:x"><X:hint/><C:comp-filter name="VCALENDAR"><X:extra/></C:comp-filter></C:filter>`));
      assert.equal(f.name, 'VCALENDAR');
    });

    it('parseQueryFilter finds the filter in a calendar-query body', () => {
      const q = parseXml(`<C:calendar-query xmlns:D="DAV:" ${C}><D:prop><D:getetag/></D:prop>${wrapped('<C:comp-filter name="VTODO"/>')}</C:calendar-query>`);
      assert.equal(parseQueryFilter(q).compFilters[0]!.name, 'VTODO');
    });
  });

  describe('parseFilter: refusals (§7.7 supported-filter / supported-collation, §9.7 valid-filter)', () => {
    it('an unknown CalDAV element → 403 supported-filter', () => {
      refused(wrapped('<C:comp-filter name="VEVENT"><C:fuzzy-match/></C:comp-filter>'), 403, 'supported-filter', /fuzzy-match/);
      refused(wrapped('<C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:regex>a.*</C:regex></C:prop-filter></C:comp-filter>'), 403, 'supported-filter');
    });

    it('a time-range on a component §9.9 has no test for → 403 supported-filter', () => {
      refused(wrapped('<C:comp-filter name="VTIMEZONE"><C:time-range start="20240101T000000Z"/></C:comp-filter>'), 403, 'supported-filter', /VTIMEZONE/);
      refused(`<C:filter ${C}><C:comp-filter name="VCALENDAR"><C:time-range start="20240101T000000Z"/></C:comp-filter></C:filter>`, 403, 'supported-filter');
    });

    it('an unknown collation → 403 supported-collation', () => {
      refused(wrapped('<C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match collation="i;basic">x</C:text-match></C:prop-filter></C:comp-filter>'),
        403, 'supported-collation', /i;basic/);
    });

    it('time-range: start after end, equal, neither, or not UTC → 400 valid-filter', () => {
      const tr = (attrs: string) => wrapped(`<C:comp-filter name="VEVENT"><C:time-range ${attrs}/></C:comp-filter>`);
      refused(tr('start="20240102T000000Z" end="20240101T000000Z"'), 400, 'valid-filter', /ends before it starts/);
      refused(tr('start="20240101T000000Z" end="20240101T000000Z"'), 400, 'valid-filter');
      refused(tr(''), 400, 'valid-filter', /start or end/);
      refused(tr('start="2024-01-01T00:00:00Z"'), 400, 'valid-filter', /not a UTC date-time/);
      refused(tr('start="20241301T000000Z"'), 400, 'valid-filter');
    });

    it('malformed structure → 400 valid-filter', () => {
      refused(`<C:filter ${C}/>`, 400, 'valid-filter', /exactly one/);
      refused(`<C:filter ${C}><C:comp-filter name="VEVENT"/></C:filter>`, 400, 'valid-filter', /VCALENDAR/);
      refused(wrapped('<C:comp-filter/>'), 400, 'valid-filter', /name/);
      refused(wrapped('<C:comp-filter name="VEVENT"><C:is-not-defined/><C:prop-filter name="X"/></C:comp-filter>'), 400, 'valid-filter', /stands alone/);
      refused(wrapped('<C:comp-filter name="VEVENT"><C:prop-filter name="DTSTART"><C:time-range start="20240101T000000Z"/><C:text-match>x</C:text-match></C:prop-filter></C:comp-filter>'),
        400, 'valid-filter');
      refused(wrapped('<C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match negate-condition="maybe">x</C:text-match></C:prop-filter></C:comp-filter>'),
        400, 'valid-filter', /negate-condition/);
      assert.throws(() => parseFilter(parseXml(`<C:calendar-query ${C}/>`)), CalendarQueryError);
    });

    it('parseTimeRange can insist on both ends (CALDAV:expand)', () => {
      assert.throws(() => parseTimeRange(parseXml(`<C:expand ${C} start="20240101T000000Z"/>`), { requireBoth: true }), /start and end/);
      assert.deepEqual(parseTimeRange(parseXml(`<C:expand ${C} start="20240101T000000Z" end="20240102T000000Z"/>`), { requireBoth: true }),
        { start: Date.UTC(2024, 0, 1), end: Date.UTC(2024, 0, 2) });
    });
  });

  describe('matches: §9.7.1 comp-filter', () => {
    it('an empty VCALENDAR filter matches every object', () => {
      assert.equal(matches(MEETING, filter('')), true);
    });

    it('is-not-defined matches when the component is absent', () => {
      assert.equal(matches(MEETING, filter('<C:comp-filter name="VTODO"><C:is-not-defined/></C:comp-filter>')), true);
      assert.equal(matches(MEETING, filter('<C:comp-filter name="VEVENT"><C:is-not-defined/></C:comp-filter>')), false);
    });

    it('nested comp-filter: a VALARM exists, and with a property', () => {
      assert.equal(matches(MEETING, filter('<C:comp-filter name="VEVENT"><C:comp-filter name="VALARM"/></C:comp-filter>')), true);
      assert.equal(matches(MEETING, filter(`<C:comp-filter name="VEVENT"><C:comp-filter name="VALARM"><C:prop-filter name="ACTION">
        <C:text-match>AUDIO</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter>`)), false);
    });

    it('a VALARM time-range is judged per instance, overrides included', () => {
      // the master's alarm is 30 minutes before each generated instance; the override has none
      const alarm = (start: string, end: string) => filter(`<C:comp-filter name="VEVENT"><C:comp-filter name="VALARM">
        <C:time-range start="${start}" end="${end}"/></C:comp-filter></C:comp-filter>`);
      assert.equal(matches(MEETING, alarm('20240422T073000Z', '20240422T073100Z')), true, 'third week, 10:00 CEST − 30 min');
      assert.equal(matches(MEETING, alarm('20240415T073000Z', '20240415T073100Z')), false, 'the overridden week has no alarm');
      assert.equal(matches(MEETING, alarm('20240429T073000Z', '20240429T073100Z')), true);
      assert.equal(matches(MEETING, alarm('20240506T073000Z', '20240506T073100Z')), false, 'after COUNT=4');
    });

    it('time-range and nested filters must hold for the same instance', () => {
      const f = (start: string, end: string) => filter(`<C:comp-filter name="VEVENT"><C:time-range start="${start}" end="${end}"/>
        <C:prop-filter name="SUMMARY"><C:text-match>afternoon</C:text-match></C:prop-filter></C:comp-filter>`);
      assert.equal(matches(MEETING, f('20240415T120000Z', '20240415T130000Z')), true);
      assert.equal(matches(MEETING, f('20240408T000000Z', '20240409T000000Z')), false);
    });
  });

  describe('matches: §9.7.2 prop-filter, §9.7.3 param-filter, §9.7.5 text-match', () => {
    const prop = (inner: string) => filter(`<C:comp-filter name="VEVENT"><C:prop-filter name="${inner}</C:prop-filter></C:comp-filter>`);

    it('an empty prop-filter tests presence; is-not-defined absence', () => {
      assert.equal(matches(MEETING, prop('SUMMARY">')), true);
      assert.equal(matches(MEETING, prop('LOCATION">')), false);
      assert.equal(matches(MEETING, prop('LOCATION"><C:is-not-defined/>')), true);
    });

    it('text-match looks at every value of a multi-valued property and every instance of it', () => {
      assert.equal(matches(MEETING, prop('CATEGORIES"><C:text-match>planning</C:text-match>')), true);
      assert.equal(matches(MEETING, prop('CATEGORIES"><C:text-match>q2</C:text-match>')), true);
      assert.equal(matches(MEETING, prop('CATEGORIES"><C:text-match>private</C:text-match>')), false);
    });

    it('negate-condition holds when the text does not occur', () => {
      assert.equal(matches(MEETING, prop('SUMMARY"><C:text-match negate-condition="yes">standup</C:text-match>')), true);
      assert.equal(matches(MEETING, prop('SUMMARY"><C:text-match negate-condition="yes">review</C:text-match>')), false);
    });

    it('text-match on a date-time reads its iCalendar text', () => {
      assert.equal(matches(MEETING, prop('DTSTART"><C:text-match>20240408T1000</C:text-match>')), true);
    });

    it('param-filters hold for the same property instance as the text-match', () => {
      const attendee = (text: string, partstat: string) =>
        prop(`ATTENDEE"><C:text-match>${text}</C:text-match><C:param-filter name="PARTSTAT"><C:text-match>${partstat}</C:text-match></C:param-filter>`);
      assert.equal(matches(MEETING, attendee('bob', 'DECLINED')), true);
      assert.equal(matches(MEETING, attendee('anna', 'DECLINED')), false);
      assert.equal(matches(MEETING, prop('ATTENDEE"><C:param-filter name="CN"><C:is-not-defined/></C:param-filter>')), true);
      assert.equal(matches(MEETING, prop('ATTENDEE"><C:param-filter name="RSVP"/>')), false);
    });

    it('a prop-filter on the VCALENDAR itself', () => {
      assert.equal(matches(MEETING, filter('<C:prop-filter name="VERSION"><C:text-match>2.0</C:text-match></C:prop-filter>')), true);
      assert.equal(matches(MEETING, filter('<C:prop-filter name="METHOD"/>')), false);
    });

    it('a time-range on DTSTART/DTEND reads the instance, on other date properties the value', () => {
      assert.equal(matches(MEETING, prop('DTEND"><C:time-range start="20240422T090000Z" end="20240422T090001Z"/>')), true);
      assert.equal(matches(MEETING, prop('DTSTART"><C:time-range start="20240415T080000Z" end="20240415T080100Z"/>')), false, 'moved to 14:00');
      assert.equal(matches(MEETING, prop('DTSTART"><C:time-range start="20240415T120000Z" end="20240415T120100Z"/>')), true);
      assert.equal(matches(MEETING, prop('SUMMARY"><C:time-range start="20240415T120000Z" end="20240415T120100Z"/>')), false);
    });
  });

  describe('floating times (§9.9: compared in the calendar’s zone when one is given)', () => {
    const range = filter('<C:comp-filter name="VEVENT"><C:time-range start="20240408T070000Z" end="20240408T071500Z"/></C:comp-filter>');
    it('as UTC by default', () => assert.equal(matches(FLOATING, range), false));
    it('in the zone passed as floatingTimezone', () => {
      const berlin = MEETING.timezones.get('Europe/Berlin')!;
      assert.equal(matches(FLOATING, range, { floatingTimezone: berlin }), true);
    });
  });

  describe('caps (docs/caldav.md, "Recurrence")', () => {
    it('an unbounded FREQ=SECONDLY series is answered quickly at either end of a long range', () => {
      const object = parseCalendarObject(ics('BEGIN:VEVENT', 'UID:s', 'DTSTART:20000101T000000Z', 'RRULE:FREQ=SECONDLY', 'SUMMARY:tick', 'END:VEVENT'));
      const t0 = Date.now();
      assert.equal(matches(object, filter('<C:comp-filter name="VEVENT"><C:time-range start="20240101T000000Z" end="20240101T000001Z"/></C:comp-filter>')), true);
      const tock = filter(`<C:comp-filter name="VEVENT"><C:time-range start="20240101T000000Z"/>
        <C:prop-filter name="SUMMARY"><C:text-match>tock</C:text-match></C:prop-filter></C:comp-filter>`);
      assert.equal(matches(object, tock, { maxInstances: 500 }), false);
      assert.ok(Date.now() - t0 < 2_000);
    });
  });
});

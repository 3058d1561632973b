import assert from 'node:assert/strict';
import { parseXml } from '../../lib/dav/xml/parse.js';
import { CalendarQueryError } from '../../lib/caldav/ical/errors.js';
import {
  expand,
  limitFreebusySet,
  limitRecurrenceSet,
  parseCalendarDataRequest,
  selectComponents,
  shapeCalendarData,
} from '../../lib/caldav/ical/expand.js';
import { parseCalendarObject } from '../../lib/caldav/ical/object.js';
import { ics, VTIMEZONE_BERLIN } from '../helpers/fixtures.js';

const C = 'xmlns:C="urn:ietf:params:xml:ns:caldav"';
const request = (inner: string, attrs = '') => parseCalendarDataRequest(parseXml(`<C:calendar-data ${C} ${attrs}>${inner}</C:calendar-data>`));
const lines = (text: string) => text.split('\r\n').filter(Boolean);
const d = (iso: string) => new Date(iso);

/** A weekly series in Berlin over the March DST change, with an EXDATE, an override and an alarm. */
const SERIES = parseCalendarObject(ics(VTIMEZONE_BERLIN,
  'BEGIN:VEVENT', 'UID:w1', 'DTSTAMP:20240301T000000Z', 'DTSTART;TZID=Europe/Berlin:20240321T100000', 'DTEND;TZID=Europe/Berlin:20240321T110000',
  'RRULE:FREQ=WEEKLY;COUNT=4', 'EXDATE;TZID=Europe/Berlin:20240328T100000', 'SUMMARY:Review', 'ATTENDEE;CN=Anna:mailto:anna@example.com',
  'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER:-PT10M', 'DESCRIPTION:Review', 'END:VALARM', 'END:VEVENT',
  'BEGIN:VEVENT', 'UID:w1', 'DTSTAMP:20240301T000000Z', 'RECURRENCE-ID;TZID=Europe/Berlin:20240404T100000',
  'DTSTART;TZID=Europe/Berlin:20240405T090000', 'DTEND;TZID=Europe/Berlin:20240405T100000', 'SUMMARY:Review (Friday)', 'END:VEVENT'));

describe('CalDAV calendar-data (RFC 4791 §9.6)', () => {
  describe('parseCalendarDataRequest', () => {
    it('reads the RFC 4791 §7.8.1 example', () => {
      const r = request(`<C:comp name="VCALENDAR"><C:prop name="VERSION"/>
        <C:comp name="VEVENT"><C:prop name="SUMMARY"/><C:prop name="UID"/><C:prop name="DTSTART"/><C:prop name="DTEND"/>
          <C:prop name="DURATION"/><C:prop name="RRULE"/><C:prop name="RDATE"/><C:prop name="EXRULE"/><C:prop name="EXDATE"/>
          <C:prop name="RECURRENCE-ID"/></C:comp>
        <C:comp name="VTIMEZONE"/></C:comp>`);
      assert.equal(r.expand, null);
      assert.equal(r.limitRecurrenceSet, null);
      const vcal = r.selection!;
      assert.equal(vcal.name, 'VCALENDAR');
      assert.deepEqual(vcal.props, [{ name: 'VERSION', novalue: false }]);
      const [vevent, vtimezone] = vcal.comps as NonNullable<typeof r.selection>[];
      assert.deepEqual((vevent!.props as readonly { name: string }[]).map((p) => p.name),
        ['SUMMARY', 'UID', 'DTSTART', 'DTEND', 'DURATION', 'RRULE', 'RDATE', 'EXRULE', 'EXDATE', 'RECURRENCE-ID']);
      assert.deepEqual(vtimezone, { name: 'VTIMEZONE', props: [], comps: [] });
    });

    it('reads allprop, allcomp, novalue, expand, limit-recurrence-set and limit-freebusy-set', () => {
      const r = request(`<C:comp name="vcalendar"><C:allprop/><C:comp name="vevent"><C:prop name="attendee" novalue="yes"/><C:allcomp/></C:comp></C:comp>
        <C:expand start="20240101T000000Z" end="20240201T000000Z"/><C:limit-freebusy-set start="20240101T000000Z" end="20240102T000000Z"/>`);
      assert.deepEqual(r.selection, { name: 'VCALENDAR', props: 'all', comps: [{ name: 'VEVENT', props: [{ name: 'ATTENDEE', novalue: true }], comps: 'all' }] });
      assert.deepEqual(r.expand, { start: Date.UTC(2024, 0, 1), end: Date.UTC(2024, 1, 1) });
      assert.deepEqual(r.limitFreebusySet, { start: Date.UTC(2024, 0, 1), end: Date.UTC(2024, 0, 2) });
      assert.deepEqual(request('<C:limit-recurrence-set start="20240101T000000Z" end="20240201T000000Z"/>').limitRecurrenceSet,
        { start: Date.UTC(2024, 0, 1), end: Date.UTC(2024, 1, 1) });
      assert.deepEqual(request(''), { selection: null, expand: null, limitRecurrenceSet: null, limitFreebusySet: null });
    });

    it('refuses what it cannot answer', () => {
      const refused = (f: () => unknown, status: number, condition: string | null) =>
        assert.throws(f, (e: unknown) => e instanceof CalendarQueryError && e.status === status && e.condition === condition);
      refused(() => request('', 'content-type="application/calendar+json"'), 403, 'supported-calendar-data');
      refused(() => request('', 'version="3.0"'), 403, 'supported-calendar-data');
      refused(() => request('<C:expand start="20240101T000000Z"/>'), 400, 'valid-filter');
      refused(() => request('<C:expand start="20240101T000000Z" end="20240102T000000Z"/><C:limit-recurrence-set start="20240101T000000Z" end="20240102T000000Z"/>'), 400, null);
      refused(() => request('<C:comp name="VEVENT"/>'), 400, null);
      refused(() => request('<C:comp name="VCALENDAR"><C:allprop/><C:prop name="VERSION"/></C:comp>'), 400, null);
      refused(() => request('<C:comp/>'), 400, null);
      refused(() => request('<C:everything/>'), 400, null);
    });
  });

  describe('§9.6.1 selectComponents', () => {
    it('keeps only the named properties and components (RFC 4791 §7.8.1)', () => {
      const r = request(`<C:comp name="VCALENDAR"><C:prop name="VERSION"/>
        <C:comp name="VEVENT"><C:prop name="SUMMARY"/><C:prop name="UID"/><C:prop name="RECURRENCE-ID"/></C:comp>
        <C:comp name="VTIMEZONE"/></C:comp>`);
      assert.deepEqual(lines(selectComponents(SERIES, r.selection!)), [
        'BEGIN:VCALENDAR', 'VERSION:2.0',
        'BEGIN:VTIMEZONE', 'END:VTIMEZONE',
        'BEGIN:VEVENT', 'UID:w1', 'SUMMARY:Review', 'END:VEVENT',
        'BEGIN:VEVENT', 'UID:w1', 'RECURRENCE-ID;TZID=Europe/Berlin:20240404T100000', 'SUMMARY:Review (Friday)', 'END:VEVENT',
        'END:VCALENDAR',
      ]);
    });

    it('novalue="yes" returns the property without its value; allcomp keeps subcomponents whole', () => {
      const r = request(`<C:comp name="VCALENDAR"><C:comp name="VEVENT"><C:prop name="ATTENDEE" novalue="yes"/><C:allcomp/></C:comp></C:comp>`);
      assert.deepEqual(lines(selectComponents(SERIES, r.selection!)), [
        'BEGIN:VCALENDAR',
        'BEGIN:VEVENT', 'ATTENDEE;CN=Anna:', 'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER:-PT10M', 'DESCRIPTION:Review', 'END:VALARM', 'END:VEVENT',
        'BEGIN:VEVENT', 'END:VEVENT',
        'END:VCALENDAR',
      ]);
    });

    it('never changes the parsed object', () => {
      const before = SERIES.vcalendar.toString();
      selectComponents(SERIES, { name: 'VCALENDAR', props: [], comps: [] });
      assert.equal(SERIES.vcalendar.toString(), before);
    });
  });

  describe('§9.6.5 expand', () => {
    it('every instance in range as its own component, in UTC, without recurrence properties or VTIMEZONE', () => {
      assert.deepEqual(lines(expand(SERIES, d('2024-03-01T00:00:00Z'), d('2024-05-01T00:00:00Z'))), [
        'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//gitdav//tests//EN',
        'BEGIN:VEVENT', 'UID:w1', 'DTSTAMP:20240301T000000Z', 'DTSTART:20240321T090000Z', 'DTEND:20240321T100000Z',
        'SUMMARY:Review', 'ATTENDEE;CN=Anna:mailto:anna@example.com', 'RECURRENCE-ID:20240321T090000Z',
        'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER:-PT10M', 'DESCRIPTION:Review', 'END:VALARM', 'END:VEVENT',
        'BEGIN:VEVENT', 'UID:w1', 'DTSTAMP:20240301T000000Z', 'RECURRENCE-ID:20240404T080000Z',
        'DTSTART:20240405T070000Z', 'DTEND:20240405T080000Z', 'SUMMARY:Review (Friday)', 'END:VEVENT',
        'BEGIN:VEVENT', 'UID:w1', 'DTSTAMP:20240301T000000Z', 'DTSTART:20240411T080000Z', 'DTEND:20240411T090000Z',
        'SUMMARY:Review', 'ATTENDEE;CN=Anna:mailto:anna@example.com', 'RECURRENCE-ID:20240411T080000Z',
        'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER:-PT10M', 'DESCRIPTION:Review', 'END:VALARM', 'END:VEVENT',
        'END:VCALENDAR',
      ]);
    });

    it('only the instances that overlap the range', () => {
      const text = expand(SERIES, d('2024-04-05T07:30:00Z'), d('2024-04-11T08:00:00Z'));
      assert.deepEqual(lines(text).filter((l) => l.startsWith('RECURRENCE-ID')), ['RECURRENCE-ID:20240404T080000Z']);
      assert.equal(lines(expand(SERIES, d('2025-01-01T00:00:00Z'), d('2025-02-01T00:00:00Z'))).join('|'), 'BEGIN:VCALENDAR|VERSION:2.0|PRODID:-//gitdav//tests//EN|END:VCALENDAR');
    });

    it('keeps DATE values as VALUE=DATE', () => {
      const birthday = parseCalendarObject(ics('BEGIN:VEVENT', 'UID:b', 'DTSTART;VALUE=DATE:19900315', 'DTEND;VALUE=DATE:19900316', 'RRULE:FREQ=YEARLY', 'END:VEVENT'));
      const got = lines(expand(birthday, d('2024-01-01T00:00:00Z'), d('2025-12-31T00:00:00Z'))).filter((l) => /^(DTSTART|DTEND|RECURRENCE-ID)/.test(l));
      assert.deepEqual(got, [
        'DTSTART;VALUE=DATE:20240315', 'DTEND;VALUE=DATE:20240316', 'RECURRENCE-ID;VALUE=DATE:20240315',
        'DTSTART;VALUE=DATE:20250315', 'DTEND;VALUE=DATE:20250316', 'RECURRENCE-ID;VALUE=DATE:20250315',
      ]);
    });

    it('a non-recurring object is returned without RECURRENCE-ID, its zoned times in UTC', () => {
      const one = parseCalendarObject(ics(VTIMEZONE_BERLIN, 'BEGIN:VTODO', 'UID:t', 'DTSTART;TZID=Europe/Berlin:20240701T090000',
        'DUE;TZID=Europe/Berlin:20240701T170000', 'X-REMIND-AT;TZID=Europe/Berlin:20240701T080000', 'END:VTODO'));
      assert.deepEqual(lines(expand(one, d('2024-07-01T00:00:00Z'), d('2024-07-02T00:00:00Z'))).slice(3, -1), [
        'BEGIN:VTODO', 'UID:t', 'DTSTART:20240701T070000Z', 'DUE:20240701T150000Z', 'X-REMIND-AT;VALUE=DATE-TIME:20240701T060000Z', 'END:VTODO',
      ]);
    });

    it('an RDATE period ends its instance; THISANDFUTURE instances carry a plain RECURRENCE-ID', () => {
      const o = parseCalendarObject(ics('BEGIN:VEVENT', 'UID:p', 'DTSTART:20240101T100000Z', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;COUNT=3',
        'RDATE;VALUE=PERIOD:20240110T100000Z/20240110T140000Z', 'END:VEVENT',
        'BEGIN:VEVENT', 'UID:p', 'RECURRENCE-ID;RANGE=THISANDFUTURE:20240102T100000Z', 'DTSTART:20240102T120000Z', 'DURATION:PT30M', 'SUMMARY:later', 'END:VEVENT'));
      const got = lines(expand(o, d('2024-01-01T00:00:00Z'), d('2024-02-01T00:00:00Z'))).filter((l) => /^(DTSTART|DTEND|DURATION|RECURRENCE-ID|SUMMARY)/.test(l));
      // the RDATE instance after the THISANDFUTURE override follows the override (+2 h, 30 minutes)
      assert.deepEqual(got, [
        'DTSTART:20240101T100000Z', 'DURATION:PT1H', 'RECURRENCE-ID:20240101T100000Z',
        'RECURRENCE-ID:20240102T100000Z', 'DTSTART:20240102T120000Z', 'DURATION:PT30M', 'SUMMARY:later',
        'RECURRENCE-ID:20240103T100000Z', 'DTSTART:20240103T120000Z', 'DURATION:PT30M', 'SUMMARY:later',
        'RECURRENCE-ID:20240110T100000Z', 'DTSTART:20240110T120000Z', 'DURATION:PT30M', 'SUMMARY:later',
      ]);
      const plain = parseCalendarObject(ics('BEGIN:VEVENT', 'UID:p', 'DTSTART:20240101T100000Z', 'DURATION:PT1H',
        'RDATE;VALUE=PERIOD:20240110T100000Z/20240110T140000Z', 'END:VEVENT'));
      assert.deepEqual(lines(expand(plain, d('2024-01-05T00:00:00Z'), d('2024-02-01T00:00:00Z'))).filter((l) => /^(DTSTART|DTEND|DURATION|RECURRENCE-ID)/.test(l)),
        ['DTSTART:20240110T100000Z', 'RECURRENCE-ID:20240110T100000Z', 'DTEND:20240110T140000Z']);
    });
  });

  describe('§9.6.6 limitRecurrenceSet', () => {
    const o = parseCalendarObject(ics('BEGIN:VEVENT', 'UID:l', 'DTSTART:20240101T100000Z', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;COUNT=10', 'END:VEVENT',
      'BEGIN:VEVENT', 'UID:l', 'RECURRENCE-ID:20240102T100000Z', 'DTSTART:20240102T100000Z', 'DURATION:PT1H', 'SUMMARY:same time', 'END:VEVENT',
      'BEGIN:VEVENT', 'UID:l', 'RECURRENCE-ID:20240105T100000Z', 'DTSTART:20240108T150000Z', 'DURATION:PT1H', 'SUMMARY:moved later', 'END:VEVENT',
      'BEGIN:VEVENT', 'UID:l', 'RECURRENCE-ID;RANGE=THISANDFUTURE:20240109T100000Z', 'DTSTART:20240109T110000Z', 'DURATION:PT1H', 'SUMMARY:future', 'END:VEVENT'));
    const summaries = (text: string) => lines(text).filter((l) => l.startsWith('SUMMARY') || l.startsWith('RRULE'));

    it('keeps the master and the overrides whose new or original time touches the range', () => {
      assert.deepEqual(summaries(limitRecurrenceSet(o, d('2024-01-05T00:00:00Z'), d('2024-01-06T00:00:00Z'))), ['RRULE:FREQ=DAILY;COUNT=10', 'SUMMARY:moved later']);
      assert.deepEqual(summaries(limitRecurrenceSet(o, d('2024-01-08T15:00:00Z'), d('2024-01-08T15:30:00Z'))), ['RRULE:FREQ=DAILY;COUNT=10', 'SUMMARY:moved later']);
      assert.deepEqual(summaries(limitRecurrenceSet(o, d('2024-01-02T00:00:00Z'), d('2024-01-03T00:00:00Z'))), ['RRULE:FREQ=DAILY;COUNT=10', 'SUMMARY:same time']);
      assert.deepEqual(summaries(limitRecurrenceSet(o, d('2024-01-03T00:00:00Z'), d('2024-01-04T00:00:00Z'))), ['RRULE:FREQ=DAILY;COUNT=10']);
    });

    it('a THISANDFUTURE override touches every range that ends after it', () => {
      assert.deepEqual(summaries(limitRecurrenceSet(o, d('2024-03-01T00:00:00Z'), d('2024-03-02T00:00:00Z'))), ['RRULE:FREQ=DAILY;COUNT=10', 'SUMMARY:future']);
      assert.deepEqual(summaries(limitRecurrenceSet(o, d('2023-12-01T00:00:00Z'), d('2023-12-02T00:00:00Z'))), ['RRULE:FREQ=DAILY;COUNT=10']);
    });

    it('keeps the VTIMEZONEs', () => {
      const text = limitRecurrenceSet(SERIES, d('2024-03-01T00:00:00Z'), d('2024-03-02T00:00:00Z'));
      assert.ok(text.includes('BEGIN:VTIMEZONE'));
      assert.ok(!text.includes('Review (Friday)'));
    });
  });

  describe('§9.6.7 limitFreebusySet', () => {
    it('keeps only the FREEBUSY periods that overlap', () => {
      const fb = parseCalendarObject(ics('BEGIN:VFREEBUSY', 'UID:fb', 'DTSTAMP:20240101T000000Z',
        'FREEBUSY:20240101T100000Z/PT1H,20240102T100000Z/PT1H', 'FREEBUSY;FBTYPE=BUSY-TENTATIVE:20240105T100000Z/PT1H', 'END:VFREEBUSY'));
      const got = lines(limitFreebusySet(fb, d('2024-01-02T10:30:00Z'), d('2024-01-03T00:00:00Z'))).filter((l) => l.startsWith('FREEBUSY'));
      assert.deepEqual(got, ['FREEBUSY:20240102T100000Z/PT1H']);
    });
  });

  describe('shapeCalendarData: expand, then select', () => {
    it('combines the two', () => {
      const r = request(`<C:comp name="VCALENDAR"><C:comp name="VEVENT"><C:prop name="RECURRENCE-ID"/><C:prop name="DTSTART"/></C:comp></C:comp>
        <C:expand start="20240301T000000Z" end="20240401T000000Z"/>`);
      assert.deepEqual(lines(shapeCalendarData(SERIES, r)), [
        'BEGIN:VCALENDAR', 'BEGIN:VEVENT', 'DTSTART:20240321T090000Z', 'RECURRENCE-ID:20240321T090000Z', 'END:VEVENT', 'END:VCALENDAR',
      ]);
    });
  });
});

import assert from 'node:assert/strict';
import ICAL from 'ical.js';
import { CalendarPreconditionError, parseCalendarObject, type CalendarPrecondition } from '../../lib/caldav/ical/object.js';
import { epochMs } from '../../lib/caldav/ical/tz.js';
import { ics, VTIMEZONE_BERLIN } from '../helpers/fixtures.js';

function fails(text: string, precondition: CalendarPrecondition, pattern?: RegExp): void {
  assert.throws(
    () => parseCalendarObject(text),
    (err: unknown) =>
      err instanceof CalendarPreconditionError && err.precondition === precondition && (!pattern || pattern.test(err.message)),
    `expected ${precondition}${pattern ? ` matching ${pattern}` : ''}`,
  );
}

const iso = (t: unknown) => new Date(epochMs(t as ICAL.Time)).toISOString();

const EVENT = ['BEGIN:VEVENT', 'UID:e1', 'DTSTAMP:20240101T000000Z', 'DTSTART:20240101T100000Z', 'END:VEVENT'];

describe('CalDAV objects: parseCalendarObject', () => {
  describe('RFC 4791 §4.1: one UID, master and overridden instances', () => {
    it('finds the component type, UID, master and overrides', () => {
      const o = parseCalendarObject(ics(
        'BEGIN:VEVENT', 'UID:s1', 'DTSTART:20240101T100000Z', 'RRULE:FREQ=DAILY', 'END:VEVENT',
        'BEGIN:VEVENT', 'UID:s1', 'RECURRENCE-ID:20240102T100000Z', 'DTSTART:20240102T120000Z', 'END:VEVENT',
        'BEGIN:VEVENT', 'UID:s1', 'RECURRENCE-ID:20240103T100000Z', 'DTSTART:20240103T120000Z', 'END:VEVENT',
      ));
      assert.equal(o.componentType, 'VEVENT');
      assert.equal(o.uid, 's1');
      assert.ok(o.master);
      assert.equal(o.master.getFirstPropertyValue('rrule')?.toString(), 'FREQ=DAILY');
      assert.deepEqual(o.overrides.map((c) => iso(c.getFirstPropertyValue('recurrence-id'))), ['2024-01-02T10:00:00.000Z', '2024-01-03T10:00:00.000Z']);
    });

    it('accepts a VTODO, a VJOURNAL and a VFREEBUSY', () => {
      for (const type of ['VTODO', 'VJOURNAL', 'VFREEBUSY']) {
        assert.equal(parseCalendarObject(ics(`BEGIN:${type}`, 'UID:x', 'DTSTAMP:20240101T000000Z', `END:${type}`)).componentType, type);
      }
    });

    it('accepts overridden instances without a master (RFC 6638 §3.2.6)', () => {
      const o = parseCalendarObject(ics('BEGIN:VEVENT', 'UID:s', 'RECURRENCE-ID:20240102T100000Z', 'DTSTART:20240102T100000Z', 'END:VEVENT'));
      assert.equal(o.master, null);
      assert.equal(o.overrides.length, 1);
    });

    it('leaves a missing UID to validation', () => {
      assert.equal(parseCalendarObject(ics('BEGIN:VEVENT', 'DTSTART:20240101T100000Z', 'END:VEVENT')).uid, null);
    });

    it('refuses two UIDs, two component types, two masters and two overrides of one instance', () => {
      fails(ics(...EVENT, 'BEGIN:VEVENT', 'UID:e2', 'DTSTART:20240101T100000Z', 'END:VEVENT'), 'valid-calendar-object-resource', /more than one UID/);
      fails(ics(...EVENT, 'BEGIN:VTODO', 'UID:e1', 'END:VTODO'), 'valid-calendar-object-resource', /mixes VEVENT and VTODO/);
      fails(ics(...EVENT, ...EVENT), 'valid-calendar-object-resource', /without RECURRENCE-ID/);
      const override = ['BEGIN:VEVENT', 'UID:e1', 'RECURRENCE-ID;TZID=Europe/Berlin:20240102T110000', 'DTSTART:20240102T100000Z', 'END:VEVENT'];
      const sameInUtc = ['BEGIN:VEVENT', 'UID:e1', 'RECURRENCE-ID:20240102T100000Z', 'DTSTART:20240102T100000Z', 'END:VEVENT'];
      fails(ics(VTIMEZONE_BERLIN, ...EVENT, ...override, ...sameInUtc), 'valid-calendar-object-resource', /two overrides/);
    });

    it('refuses a calendar without a calendar component', () => {
      fails(ics(VTIMEZONE_BERLIN), 'valid-calendar-object-resource', /no VEVENT/);
    });

    it('refuses components that cannot stand at the top (a VCARD, a VALARM)', () => {
      fails(ics('BEGIN:VCARD', 'VERSION:4.0', 'FN:Anna', 'END:VCARD'), 'valid-calendar-object-resource', /VCARD/);
      fails(ics('BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER:-PT5M', 'END:VALARM'), 'valid-calendar-object-resource', /VALARM/);
    });

    it('refuses other calendar components as unsupported (RFC 4791 §5.3.2.1)', () => {
      fails(ics('BEGIN:VAVAILABILITY', 'UID:a', 'DTSTAMP:20240101T000000Z', 'END:VAVAILABILITY'), 'supported-calendar-component', /VAVAILABILITY/);
    });

    it('ignores X- components', () => {
      assert.equal(parseCalendarObject(ics('BEGIN:X-THING', 'X-A:b', 'END:X-THING', ...EVENT)).componentType, 'VEVENT');
    });
  });

  describe('RFC 4791 §5.3.2.1 (CALDAV:valid-calendar-data): what is not iCalendar', () => {
    it('refuses text that is not iCalendar', () => {
      fails('', 'valid-calendar-data');
      fails('hello world', 'valid-calendar-data', /not iCalendar/);
      fails('{"jcal": true}', 'valid-calendar-data');
    });

    it('refuses a vCard', () => {
      fails('BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Anna\r\nEND:VCARD\r\n', 'valid-calendar-data', /VCARD/);
    });

    it('refuses two VCALENDARs in one resource', () => {
      fails(ics(...EVENT) + ics(...EVENT), 'valid-calendar-data', /2 components/);
    });

    it('refuses a malformed line and a bad value', () => {
      fails(ics('BEGIN:VEVENT', 'UID:x', 'this line has no colon', 'END:VEVENT'), 'valid-calendar-data');
      fails(ics('BEGIN:VEVENT', 'UID:x', 'DTSTART:20240101T100000Z', 'RRULE:FREQ=DAILY;BYHOUR=25', 'END:VEVENT'), 'valid-calendar-data', /BYHOUR/);
    });
  });

  describe('tolerance (docs/caldav.md, "Client quirks")', () => {
    it('reads LF line endings, a byte order mark and blank lines', () => {
      const text = `\uFEFFBEGIN:VCALENDAR\nVERSION:2.0\n\nBEGIN:VEVENT\nUID:lf\n\nDTSTART:20240101T100000Z\nEND:VEVENT\nEND:VCALENDAR\n`;
      assert.equal(parseCalendarObject(text).uid, 'lf');
    });

    it('reads a DATE written without VALUE=DATE', () => {
      const o = parseCalendarObject(ics('BEGIN:VEVENT', 'UID:d', 'DTSTART:20240701', 'DTEND:20240702', 'END:VEVENT'));
      const start = o.master!.getFirstPropertyValue('dtstart') as ICAL.Time;
      assert.equal(start.isDate, true);
      assert.equal(start.toICALString(), '20240701');
    });

    it('matches a TZID with a trailing space to its VTIMEZONE (Microsoft)', () => {
      const o = parseCalendarObject(ics(
        'BEGIN:VTIMEZONE', 'TZID:W. Europe Standard Time ', 'BEGIN:STANDARD', 'DTSTART:16011028T030000', 'RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10',
        'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100', 'END:STANDARD', 'BEGIN:DAYLIGHT', 'DTSTART:16010325T020000', 'RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3',
        'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0200', 'END:DAYLIGHT', 'END:VTIMEZONE',
        'BEGIN:VEVENT', 'UID:ms', 'DTSTART;TZID=W. Europe Standard Time:20240701T120000', 'DTEND;TZID="W. Europe Standard Time ":20240115T120000', 'END:VEVENT',
      ));
      assert.ok(o.timezones.has('W. Europe Standard Time'));
      assert.equal(iso(o.master!.getFirstPropertyValue('dtstart')), '2024-07-01T10:00:00.000Z');
      assert.equal(iso(o.master!.getFirstPropertyValue('dtend')), '2024-01-15T11:00:00.000Z');
    });

    it('resolves an IANA TZID without a VTIMEZONE from the system database', () => {
      const o = parseCalendarObject(ics(
        'BEGIN:VEVENT', 'UID:x', 'DTSTART;TZID=America/New_York:20240315T090000', 'DTEND;TZID=Asia/Kolkata:20240101T090000', 'END:VEVENT',
      ));
      assert.equal(iso(o.master!.getFirstPropertyValue('dtstart')), '2024-03-15T13:00:00.000Z'); // EDT since 10 March
      assert.equal(iso(o.master!.getFirstPropertyValue('dtend')), '2024-01-01T03:30:00.000Z');
      assert.equal(o.timezones.size, 0, 'not counted as the object’s own zones');
    });

    it('prefers the object’s own VTIMEZONE over the system one', () => {
      const fake = ['BEGIN:VTIMEZONE', 'TZID:Europe/Berlin', 'BEGIN:STANDARD', 'DTSTART:19700101T000000', 'TZOFFSETFROM:+0300', 'TZOFFSETTO:+0300', 'END:STANDARD', 'END:VTIMEZONE'];
      const o = parseCalendarObject(ics(...fake, 'BEGIN:VEVENT', 'UID:x', 'DTSTART;TZID=Europe/Berlin:20240701T120000', 'END:VEVENT'));
      assert.equal(iso(o.master!.getFirstPropertyValue('dtstart')), '2024-07-01T09:00:00.000Z');
      // and another object with the real zone is not affected by this one
      const real = parseCalendarObject(ics(VTIMEZONE_BERLIN, 'BEGIN:VEVENT', 'UID:y', 'DTSTART;TZID=Europe/Berlin:20240701T120000', 'END:VEVENT'));
      assert.equal(iso(real.master!.getFirstPropertyValue('dtstart')), '2024-07-01T10:00:00.000Z');
    });

    it('treats an unknown TZID without VTIMEZONE as floating', () => {
      const o = parseCalendarObject(ics('BEGIN:VEVENT', 'UID:x', 'DTSTART;TZID=Mars/Olympus_Mons:20240701T120000', 'END:VEVENT'));
      const start = o.master!.getFirstPropertyValue('dtstart') as ICAL.Time;
      assert.equal(start.zone?.tzid, 'floating');
    });

    it('keeps floating times floating', () => {
      const o = parseCalendarObject(ics('BEGIN:VEVENT', 'UID:x', 'DTSTART:20240701T120000', 'END:VEVENT'));
      const start = o.master!.getFirstPropertyValue('dtstart') as ICAL.Time;
      assert.equal(start.zone, ICAL.Timezone.localTimezone);
      assert.equal(start.toICALString(), '20240701T120000');
    });

    it('shares one expansion of identical VTIMEZONEs between objects', () => {
      const a = parseCalendarObject(ics(VTIMEZONE_BERLIN, 'BEGIN:VEVENT', 'UID:a', 'DTSTART;TZID=Europe/Berlin:20240701T120000', 'END:VEVENT'));
      const b = parseCalendarObject(ics(VTIMEZONE_BERLIN, 'BEGIN:VEVENT', 'UID:b', 'DTSTART;TZID=Europe/Berlin:20241201T120000', 'END:VEVENT'));
      assert.equal(a.timezones.get('Europe/Berlin'), b.timezones.get('Europe/Berlin'));
      assert.equal(iso(b.master!.getFirstPropertyValue('dtstart')), '2024-12-01T11:00:00.000Z');
    });
  });
});

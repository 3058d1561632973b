import assert from 'node:assert/strict';
import { CalendarPreconditionError, type CalendarPrecondition } from '../../lib/caldav/ical/errors.js';
import { validateCalendarObject, type ValidationLimits } from '../../lib/caldav/ical/validate.js';
import { ics, VTIMEZONE_BERLIN } from '../helpers/fixtures.js';

const LIMITS: ValidationLimits = { supportedComponents: ['VEVENT', 'VTODO'], maxResourceSize: 10_000 };

function fails(text: string, precondition: CalendarPrecondition, limits: Partial<ValidationLimits> = {}, pattern?: RegExp): void {
  assert.throws(
    () => validateCalendarObject(text, { ...LIMITS, ...limits }),
    (err: unknown) => err instanceof CalendarPreconditionError && err.precondition === precondition && (!pattern || pattern.test(err.message)),
    `expected ${precondition}`,
  );
}

const event = (...props: string[]) => ics('BEGIN:VEVENT', 'UID:v1', 'DTSTAMP:20240101T000000Z', ...props, 'END:VEVENT');

describe('CalDAV validation: validateCalendarObject', () => {
  describe('RFC 4791 §5.3.2.1 PUT preconditions', () => {
    it('returns the UID and component type of a valid object', () => {
      const v = validateCalendarObject(event('DTSTART:20240101T100000Z'), LIMITS);
      assert.equal(v.uid, 'v1');
      assert.equal(v.componentType, 'VEVENT');
      assert.equal(v.object.uid, 'v1');
    });

    it('CALDAV:valid-calendar-data: not iCalendar, or no VCALENDAR', () => {
      fails('not a calendar', 'valid-calendar-data');
      fails('BEGIN:VCARD\r\nVERSION:3.0\r\nFN:X\r\nEND:VCARD\r\n', 'valid-calendar-data');
    });

    it('CALDAV:valid-calendar-object-resource: a METHOD property (§4.1)', () => {
      const text = event('DTSTART:20240101T100000Z').replace('VERSION:2.0', 'VERSION:2.0\r\nMETHOD:REQUEST');
      fails(text, 'valid-calendar-object-resource', {}, /METHOD/);
    });

    it('CALDAV:valid-calendar-object-resource: missing UID, two UIDs, mixed types', () => {
      fails(ics('BEGIN:VEVENT', 'DTSTART:20240101T100000Z', 'END:VEVENT'), 'valid-calendar-object-resource', {}, /without UID/);
      fails(ics('BEGIN:VEVENT', 'UID:a', 'DTSTART:20240101T100000Z', 'END:VEVENT', 'BEGIN:VEVENT', 'UID:b', 'DTSTART:20240101T100000Z', 'END:VEVENT'),
        'valid-calendar-object-resource', {}, /more than one UID/);
      fails(ics('BEGIN:VEVENT', 'UID:a', 'DTSTART:20240101T100000Z', 'END:VEVENT', 'BEGIN:VTODO', 'UID:a', 'END:VTODO'), 'valid-calendar-object-resource');
    });

    it('CALDAV:supported-calendar-component: a type outside the collection’s set', () => {
      fails(ics('BEGIN:VJOURNAL', 'UID:j', 'DTSTART;VALUE=DATE:20240101', 'END:VJOURNAL'), 'supported-calendar-component', {}, /VJOURNAL/);
      fails(event('DTSTART:20240101T100000Z'), 'supported-calendar-component', { supportedComponents: ['VTODO'] });
      assert.equal(validateCalendarObject(event('DTSTART:20240101T100000Z'), { ...LIMITS, supportedComponents: ['vevent'] }).uid, 'v1');
    });

    it('CALDAV:max-resource-size counts octets, not characters', () => {
      const text = event('DTSTART:20240101T100000Z', `SUMMARY:${'ü'.repeat(300)}`);
      const octets = Buffer.byteLength(text);
      assert.ok(octets > text.length);
      assert.equal(validateCalendarObject(text, { ...LIMITS, maxResourceSize: octets }).uid, 'v1');
      fails(text, 'max-resource-size', { maxResourceSize: octets - 1 }, new RegExp(`${octets} octets`));
    });

    it('CALDAV:min-date-time and max-date-time (§5.2.6, §5.2.7)', () => {
      const limits = { minDateTime: new Date('2000-01-01T00:00:00Z'), maxDateTime: new Date('2030-01-01T00:00:00Z') };
      assert.equal(validateCalendarObject(event('DTSTART:20240101T100000Z', 'DTEND:20240101T110000Z'), { ...LIMITS, ...limits }).uid, 'v1');
      fails(event('DTSTART:19991231T230000Z'), 'min-date-time', limits, /19991231T230000Z/);
      fails(event('DTSTART:20240101T100000Z', 'DTEND:20300101T000001Z'), 'max-date-time', limits, /DTEND/);
      fails(event('DTSTART:20240101T100000Z', 'RRULE:FREQ=DAILY;UNTIL=20300102T000000Z'), 'max-date-time', limits, /UNTIL/);
      // zones count: 00:30 in Berlin on 1 January 2000 is still 1999 in UTC
      fails(ics(VTIMEZONE_BERLIN, 'BEGIN:VEVENT', 'UID:z', 'DTSTART;TZID=Europe/Berlin:20000101T003000', 'END:VEVENT'), 'min-date-time', limits);
    });

    it('CALDAV:max-date-time: the last instance of a COUNT rule', () => {
      const limits = { maxDateTime: new Date('2024-01-10T00:00:00Z') };
      assert.equal(validateCalendarObject(event('DTSTART:20240101T100000Z', 'RRULE:FREQ=DAILY;COUNT=9'), { ...LIMITS, ...limits }).uid, 'v1');
      fails(event('DTSTART:20240101T100000Z', 'RRULE:FREQ=DAILY;COUNT=10'), 'max-date-time', limits, /last instance 20240110T100000Z/);
    });
  });

  describe('RFC 5545 §3.6.1 rules a time-range answer depends on (valid-calendar-data)', () => {
    it('a VEVENT needs DTSTART', () => fails(event('SUMMARY:x'), 'valid-calendar-data', {}, /DTSTART/));
    it('a recurring VTODO needs DTSTART', () => {
      fails(ics('BEGIN:VTODO', 'UID:t', 'DUE:20240101T100000Z', 'RRULE:FREQ=DAILY', 'END:VTODO'), 'valid-calendar-data', {}, /recurs/);
    });
    it('DURATION excludes DTEND and DUE', () => {
      fails(event('DTSTART:20240101T100000Z', 'DTEND:20240101T110000Z', 'DURATION:PT1H'), 'valid-calendar-data', {}, /DURATION and DTEND/);
      fails(ics('BEGIN:VTODO', 'UID:t', 'DTSTART:20240101T100000Z', 'DUE:20240101T110000Z', 'DURATION:PT1H', 'END:VTODO'), 'valid-calendar-data');
    });
  });
});

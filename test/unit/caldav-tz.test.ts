import assert from 'node:assert/strict';
import ICAL from 'ical.js';
import {
  addDays,
  addDuration,
  epochMs,
  formatUtcDateTime,
  parseTimezone,
  parseUtcDateTime,
  systemTimezone,
  toUtc,
} from '../../lib/caldav/ical/tz.js';
import { ics, VTIMEZONE_BERLIN } from '../helpers/fixtures.js';

const wall = (y: number, mo: number, d: number, h: number, mi: number, zone: ICAL.Timezone) =>
  ICAL.Time.fromData({ year: y, month: mo, day: d, hour: h, minute: mi, second: 0 }, zone);
const utc = (t: ICAL.Time) => formatUtcDateTime(epochMs(t));

describe('CalDAV time zones and instants', () => {
  describe('systemTimezone: a TZID without VTIMEZONE, from the IANA database', () => {
    it('knows DST rules (Europe/Berlin, America/New_York) and half-hour offsets (Asia/Kolkata)', () => {
      const berlin = systemTimezone('Europe/Berlin')!;
      assert.equal(utc(wall(2024, 3, 31, 1, 59, berlin)), '20240331T005900Z');
      assert.equal(utc(wall(2024, 3, 31, 3, 0, berlin)), '20240331T010000Z');
      assert.equal(utc(wall(2024, 10, 27, 3, 0, berlin)), '20241027T020000Z');
      assert.equal(utc(wall(2090, 7, 1, 12, 0, berlin)), '20900701T100000Z', 'rules carry on for decades');
      const ny = systemTimezone('America/New_York')!;
      assert.equal(utc(wall(2024, 11, 3, 12, 0, ny)), '20241103T170000Z');
      assert.equal(utc(wall(2024, 11, 2, 12, 0, ny)), '20241102T160000Z');
      assert.equal(utc(wall(2024, 6, 1, 12, 0, systemTimezone('Asia/Kolkata')!)), '20240601T063000Z');
    });

    it('maps UTC aliases to UTC, caches zones, and knows no Windows names', () => {
      assert.equal(systemTimezone('Etc/UTC'), ICAL.Timezone.utcTimezone);
      assert.equal(systemTimezone('Europe/Berlin'), systemTimezone('Europe/Berlin'));
      assert.equal(systemTimezone('W. Europe Standard Time'), null);
      assert.equal(systemTimezone('Not/A_Zone'), null);
    });
  });

  describe('parseTimezone: CALDAV:timezone / calendar-timezone values (RFC 4791 §5.2.2)', () => {
    it('reads the VTIMEZONE of a VCALENDAR', () => {
      const zone = parseTimezone(ics(VTIMEZONE_BERLIN))!;
      assert.equal(zone.tzid, 'Europe/Berlin');
      assert.equal(utc(wall(2024, 7, 1, 12, 0, zone)), '20240701T100000Z');
    });
    it('returns null for text without one', () => {
      assert.equal(parseTimezone('garbage'), null);
      assert.equal(parseTimezone(ics('BEGIN:VEVENT', 'UID:x', 'END:VEVENT')), null);
    });
  });

  describe('RFC 5545 §3.3.6 durations: days are nominal, hours exact', () => {
    const berlin = parseTimezone(ics(VTIMEZONE_BERLIN))!;
    it('P1D across the March change keeps the wall clock (23 real hours)', () => {
      const t = addDuration(wall(2024, 3, 30, 12, 0, berlin), ICAL.Duration.fromString('P1D'));
      assert.equal(t.toICALString(), '20240331T120000');
      assert.equal(utc(t), '20240331T100000Z');
    });
    it('PT24H across the March change moves the wall clock by 25 hours', () => {
      const t = addDuration(wall(2024, 3, 30, 12, 0, berlin), ICAL.Duration.fromString('PT24H'));
      assert.equal(t.toICALString(), '20240331T130000');
      assert.equal(utc(t), '20240331T110000Z');
    });
    it('negative durations', () => {
      assert.equal(addDuration(wall(2024, 3, 1, 0, 10, berlin), ICAL.Duration.fromString('-PT15M')).toICALString(), '20240229T235500');
    });
    it('addDays crosses months, leap days and centuries without walking them', () => {
      const date = ICAL.Time.fromDateString('2024-02-28');
      assert.equal(addDays(date, 1).toICALString(), '20240229');
      assert.equal(addDays(date, 365_242).toICALString(), '30240228');
      const early = addDays(ICAL.Time.fromDateString('0099-12-31'), 1);
      assert.deepEqual([early.year, early.month, early.day], [100, 1, 1], 'no 19xx for two-digit years');
    });
  });

  describe('instants', () => {
    it('parseUtcDateTime reads RFC 4791 §9.9 "date with UTC time"', () => {
      assert.equal(parseUtcDateTime('20240101T120000Z'), Date.UTC(2024, 0, 1, 12));
      assert.equal(parseUtcDateTime('20240101T120000'), Date.UTC(2024, 0, 1, 12), 'a missing Z is tolerated');
      assert.equal(parseUtcDateTime('2024-01-01T12:00:00Z'), null);
      assert.equal(parseUtcDateTime('20241301T000000Z'), null);
    });

    it('toUtc converts zoned times, keeps dates, and places floating times only when asked', () => {
      const berlin = parseTimezone(ics(VTIMEZONE_BERLIN))!;
      assert.equal(toUtc(wall(2024, 7, 1, 12, 0, berlin)).toICALString(), '20240701T100000Z');
      assert.equal(toUtc(ICAL.Time.fromDateString('2024-07-01')).toICALString(), '20240701');
      const floating = ICAL.Time.fromDateTimeString('2024-07-01T12:00:00');
      assert.equal(toUtc(floating).toICALString(), '20240701T120000');
      assert.equal(toUtc(floating, berlin).toICALString(), '20240701T100000Z');
    });
  });
});

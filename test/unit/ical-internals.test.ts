/**
 * The ical.js internals gitdav patches or depends on at run time, checked against the installed
 * ical.js. ical.js is pinned to one exact version in package.json; when it is upgraded and one of
 * these fails, the code named in the test must be revisited before the upgrade lands:
 * - lib/caldav/ical/counted-iterator.ts subclasses RecurIterator to count (and cap) every step a
 *   rule takes (its overridden internals are checked in caldav-recur-steps.test.ts), and
 *   recurrence.ts recognises ical.js giving up on a rule by the text of its error;
 * - lib/caldav/ical/tz.ts subclasses Timezone, overriding utcOffset and _ensureCoverage, and reads
 *   the private expandedUntilYear and rebuilds `changes`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ICAL from 'ical.js';
import { parseCalendarObject } from '../../lib/caldav/ical/object.js';
import { expandInstances, ICAL_SAME_OCCURRENCE } from '../../lib/caldav/ical/recurrence.js';
import { epochMs, formatUtcDateTime } from '../../lib/caldav/ical/tz.js';
import { ics, VTIMEZONE_BERLIN } from '../helpers/fixtures.js';

const PACKAGE_ROOT = join(dirname(createRequire(import.meta.url).resolve('ical.js')), '..');

describe('ical.js internals that gitdav depends on (ical.js is pinned: see package.json)', () => {
  it('the installed ical.js is exactly the version package.json pins', () => {
    const pinned = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')).dependencies['ical.js'] as string;
    const installed = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version as string;
    assert.match(pinned, /^\d+\.\d+\.\d+$/, 'ical.js must be pinned to one exact version (npm install --save-exact)');
    assert.equal(installed, pinned);
  });

  describe('RecurIterator (lib/caldav/ical/recurrence.ts)', () => {
    it('a rule that never occurs is stopped by the iterator cap, not searched forever', () => {
      const expansion = expandInstances(parseCalendarObject(ics('BEGIN:VEVENT', 'UID:never', 'DTSTART:20240101T090000Z', 'RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30', 'END:VEVENT')));
      assert.equal(expansion.truncated, true);
    });

    it('gives up on a rule that yields one occurrence twice with the text ICAL_SAME_OCCURRENCE matches', () => {
      for (const rule of ['FREQ=SECONDLY', 'FREQ=MINUTELY', 'FREQ=HOURLY']) {
        const iterator = ICAL.Recur.fromString(rule).iterator(ICAL.Time.fromString('2024-01-31', null));
        assert.throws(() => {
          for (let i = 0; i < 3; i++) iterator.next();
        }, (err: unknown) => err instanceof Error && ICAL_SAME_OCCURRENCE.test(err.message), rule);
      }
      // and through gitdav: the expansion ends there, cut short, instead of failing
      const expansion = expandInstances(parseCalendarObject(ics('BEGIN:VEVENT', 'UID:hourly', 'DTSTART;VALUE=DATE:20240131', 'RRULE:FREQ=HOURLY', 'END:VEVENT')));
      assert.equal(expansion.truncated, true);
    });
  });

  describe('Timezone (lib/caldav/ical/tz.ts, BoundedTimezone)', () => {
    const berlin = () => {
      const calendar = new ICAL.Component(ICAL.parse(ics(VTIMEZONE_BERLIN)));
      return calendar.getFirstSubcomponent('vtimezone')!;
    };

    it('has utcOffset(time) and _ensureCoverage(year), and utcOffset covers the year through `this`', () => {
      const proto = ICAL.Timezone.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
      assert.equal(proto.utcOffset!.length, 1);
      assert.equal(proto._ensureCoverage!.length, 1);
      const years: number[] = [];
      class Watched extends ICAL.Timezone {
        override _ensureCoverage(year: number): void {
          years.push(year);
          super._ensureCoverage(year);
        }
      }
      const zone = new Watched({ component: berlin(), tzid: 'Europe/Berlin' });
      const summer = ICAL.Time.fromData({ year: 2031, month: 7, day: 1, hour: 12, minute: 0, second: 0 }, zone);
      assert.equal(zone.utcOffset(summer), 7200);
      assert.ok(years.includes(2031), `utcOffset asked for 2031's coverage (asked: ${years.join(', ')})`);
      assert.equal(formatUtcDateTime(epochMs(summer)), '20310701T100000Z');
    });

    it('_ensureCoverage fills `changes` and records the year reached in expandedUntilYear; emptied, it rebuilds them', () => {
      const zone = new ICAL.Timezone({ component: berlin(), tzid: 'Europe/Berlin' });
      zone._ensureCoverage(2040);
      const reached = (zone as unknown as { expandedUntilYear: unknown }).expandedUntilYear;
      assert.equal(typeof reached, 'number');
      assert.ok((reached as number) >= 2040, `expandedUntilYear ${String(reached)} reaches 2040`);
      const count = zone.changes.length;
      assert.ok(count > 0);
      zone.changes = [];
      zone._ensureCoverage(2040);
      assert.equal(zone.changes.length, count, 'rebuilt whole, not appended to');
    });
  });
});

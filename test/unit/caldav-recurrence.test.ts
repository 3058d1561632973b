import assert from 'node:assert/strict';
import ICAL from 'ical.js';
import { parseCalendarObject } from '../../lib/caldav/ical/object.js';
import { expandInstances, instances, type ExpansionOptions, type Instance } from '../../lib/caldav/ical/recurrence.js';
import { epochMs, formatUtcDateTime } from '../../lib/caldav/ical/tz.js';
import { ics, VTIMEZONE_BERLIN, VTIMEZONE_NEW_YORK } from '../helpers/fixtures.js';

const at = (t: ICAL.Time | null) => (t ? formatUtcDateTime(epochMs(t)) : null);

/** Instance starts (UTC) of an inline object. */
function starts(lines: string[], options: ExpansionOptions = {}): string[] {
  return expandInstances(parseCalendarObject(ics(...lines)), options).instances.map((i) => at(i.start)!);
}

function expansion(lines: string[], options: ExpansionOptions = {}) {
  return expandInstances(parseCalendarObject(ics(...lines)), options);
}

const utc = (s: string) => Date.parse(s);

describe('CalDAV recurrence: expandInstances (RFC 4791 §9.9 "every recurrence instance", RFC 5545 §3.8.5)', () => {
  describe('RRULE across DST changes keeps the wall-clock time of the TZID', () => {
    it('Europe/Berlin, daily over the March and October changes', () => {
      const got = starts([VTIMEZONE_BERLIN, 'BEGIN:VEVENT', 'UID:d', 'DTSTART;TZID=Europe/Berlin:20240330T090000', 'RRULE:FREQ=DAILY;COUNT=2', 'END:VEVENT']);
      assert.deepEqual(got, ['20240330T080000Z', '20240331T070000Z']);
      const oct = starts([VTIMEZONE_BERLIN, 'BEGIN:VEVENT', 'UID:d', 'DTSTART;TZID=Europe/Berlin:20241026T090000', 'RRULE:FREQ=DAILY;COUNT=2', 'END:VEVENT']);
      assert.deepEqual(oct, ['20241026T070000Z', '20241027T080000Z']);
    });

    it('America/New_York, weekly over the US changes (a different date than Europe)', () => {
      const got = starts([VTIMEZONE_NEW_YORK, 'BEGIN:VEVENT', 'UID:n', 'DTSTART;TZID=America/New_York:20240303T120000', 'RRULE:FREQ=WEEKLY;COUNT=2', 'END:VEVENT']);
      assert.deepEqual(got, ['20240303T170000Z', '20240310T160000Z']);
    });

    it('DTEND keeps its length on the instances after the change', () => {
      const { instances: list } = expansion([VTIMEZONE_BERLIN, 'BEGIN:VEVENT', 'UID:d', 'DTSTART;TZID=Europe/Berlin:20240330T233000',
        'DTEND;TZID=Europe/Berlin:20240331T010000', 'RRULE:FREQ=DAILY;COUNT=2', 'END:VEVENT']);
      assert.deepEqual(list.map((i) => `${at(i.start)}/${at(i.end)}`), ['20240330T223000Z/20240331T000000Z', '20240331T213000Z/20240331T230000Z']);
    });
  });

  describe('EXDATE', () => {
    it('matches by instant, whatever zone it is written in, several values per line', () => {
      const got = starts([VTIMEZONE_BERLIN, VTIMEZONE_NEW_YORK, 'BEGIN:VEVENT', 'UID:x', 'DTSTART;TZID=Europe/Berlin:20240401T100000', 'RRULE:FREQ=DAILY;COUNT=5',
        'EXDATE:20240402T080000Z,20240405T080000Z', 'EXDATE;TZID=America/New_York:20240403T040000', 'END:VEVENT']);
      assert.deepEqual(got, ['20240401T080000Z', '20240404T080000Z']);
    });

    it('a DATE EXDATE removes that day of a DATE-TIME series', () => {
      const got = starts(['BEGIN:VEVENT', 'UID:x', 'DTSTART:20240401T100000Z', 'RRULE:FREQ=DAILY;COUNT=3', 'EXDATE;VALUE=DATE:20240402', 'END:VEVENT']);
      assert.deepEqual(got, ['20240401T100000Z', '20240403T100000Z']);
    });
  });

  describe('RDATE', () => {
    it('adds instances to DTSTART (an RDATE-only set)', () => {
      const got = starts(['BEGIN:VEVENT', 'UID:x', 'DTSTART:20240401T100000Z', 'DURATION:PT1H', 'RDATE:20240405T100000Z,20240403T090000Z', 'END:VEVENT']);
      assert.deepEqual(got, ['20240401T100000Z', '20240403T090000Z', '20240405T100000Z']);
    });

    it('an RDATE the RRULE also yields counts once', () => {
      const got = starts(['BEGIN:VEVENT', 'UID:x', 'DTSTART:20240401T100000Z', 'RRULE:FREQ=DAILY;COUNT=2', 'RDATE:20240402T100000Z', 'END:VEVENT']);
      assert.deepEqual(got, ['20240401T100000Z', '20240402T100000Z']);
    });

    it('RDATE;VALUE=PERIOD gives its instance its own end', () => {
      const { instances: list } = expansion(['BEGIN:VEVENT', 'UID:x', 'DTSTART:20240401T100000Z', 'DURATION:PT1H',
        'RDATE;VALUE=PERIOD:20240402T100000Z/20240402T130000Z,20240403T100000Z/PT30M', 'END:VEVENT']);
      assert.deepEqual(list.map((i) => [at(i.start), at(i.end), i.duration?.toString() ?? null]), [
        ['20240401T100000Z', null, 'PT1H'],
        ['20240402T100000Z', '20240402T130000Z', null],
        ['20240403T100000Z', '20240403T103000Z', null],
      ]);
    });
  });

  describe('overridden instances (RECURRENCE-ID)', () => {
    const series = [VTIMEZONE_BERLIN, 'BEGIN:VEVENT', 'UID:o', 'DTSTART;TZID=Europe/Berlin:20240325T100000', 'DTEND;TZID=Europe/Berlin:20240325T110000',
      'RRULE:FREQ=DAILY;COUNT=4', 'SUMMARY:series', 'END:VEVENT'];

    it('replace the generated instance, matched by instant (RECURRENCE-ID in UTC, DTSTART with TZID)', () => {
      const { instances: list } = expansion([...series,
        'BEGIN:VEVENT', 'UID:o', 'RECURRENCE-ID:20240326T090000Z', 'DTSTART:20240326T150000Z', 'DTEND:20240326T153000Z', 'SUMMARY:moved', 'END:VEVENT']);
      assert.deepEqual(list.map((i) => [i.kind, at(i.recurrenceId), at(i.start), at(i.end), i.component.getFirstPropertyValue('summary')]), [
        ['generated', '20240325T090000Z', '20240325T090000Z', '20240325T100000Z', 'series'],
        ['override', '20240326T090000Z', '20240326T150000Z', '20240326T153000Z', 'moved'],
        ['generated', '20240327T090000Z', '20240327T090000Z', '20240327T100000Z', 'series'],
        ['generated', '20240328T090000Z', '20240328T090000Z', '20240328T100000Z', 'series'],
      ]);
    });

    it('an override moved far away still counts where it is now', () => {
      const { instances: list } = expansion([...series,
        'BEGIN:VEVENT', 'UID:o', 'RECURRENCE-ID;TZID=Europe/Berlin:20240328T100000', 'DTSTART:20250101T100000Z', 'END:VEVENT'], { until: utc('2024-03-29T00:00:00Z') });
      assert.deepEqual(list.map((i) => at(i.start)), ['20240325T090000Z', '20240326T090000Z', '20240327T090000Z', '20250101T100000Z']);
    });

    it('RANGE=THISANDFUTURE moves the instances after it (wall-clock shift across DST)', () => {
      const { instances: list } = expansion([...series,
        'BEGIN:VEVENT', 'UID:o', 'RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=Europe/Berlin:20240330T100000',
        'DTSTART;TZID=Europe/Berlin:20240330T120000', 'DTEND;TZID=Europe/Berlin:20240330T123000', 'SUMMARY:later', 'END:VEVENT']
        .map((l) => l === 'RRULE:FREQ=DAILY;COUNT=4' ? 'RRULE:FREQ=DAILY;COUNT=7' : l));
      assert.deepEqual(list.map((i) => [i.kind, at(i.recurrenceId), at(i.start), at(i.end), i.component.getFirstPropertyValue('summary')]), [
        ['generated', '20240325T090000Z', '20240325T090000Z', '20240325T100000Z', 'series'],
        ['generated', '20240326T090000Z', '20240326T090000Z', '20240326T100000Z', 'series'],
        ['generated', '20240327T090000Z', '20240327T090000Z', '20240327T100000Z', 'series'],
        ['generated', '20240328T090000Z', '20240328T090000Z', '20240328T100000Z', 'series'],
        ['generated', '20240329T090000Z', '20240329T090000Z', '20240329T100000Z', 'series'],
        ['override', '20240330T090000Z', '20240330T110000Z', '20240330T113000Z', 'later'],
        ['range', '20240331T080000Z', '20240331T100000Z', '20240331T103000Z', 'later'],
      ]);
    });

    it('an object of overrides only has just those instances', () => {
      assert.deepEqual(starts(['BEGIN:VEVENT', 'UID:o', 'RECURRENCE-ID:20240402T100000Z', 'DTSTART:20240402T110000Z', 'END:VEVENT']), ['20240402T110000Z']);
    });

    it('an override of a non-recurring event replaces it', () => {
      assert.deepEqual(starts(['BEGIN:VEVENT', 'UID:o', 'DTSTART:20240402T100000Z', 'END:VEVENT',
        'BEGIN:VEVENT', 'UID:o', 'RECURRENCE-ID:20240402T100000Z', 'DTSTART:20240402T110000Z', 'END:VEVENT']), ['20240402T110000Z']);
    });
  });

  describe('all-day and floating series', () => {
    it('DATE instances stay dates; DTEND moves by whole days', () => {
      const { instances: list } = expansion(['BEGIN:VEVENT', 'UID:a', 'DTSTART;VALUE=DATE:20240229', 'DTEND;VALUE=DATE:20240302', 'RRULE:FREQ=MONTHLY;COUNT=2', 'END:VEVENT']);
      assert.deepEqual(list.map((i) => [i.start!.toICALString(), i.end!.toICALString()]), [['20240229', '20240302'], ['20240329', '20240331']]);
    });

    it('floating instances stay floating, and are placed in the calendar’s zone when one is given', () => {
      const lines = ['BEGIN:VEVENT', 'UID:f', 'DTSTART:20240309T090000', 'RRULE:FREQ=DAILY;COUNT=2', 'END:VEVENT'];
      const { instances: list } = expansion(lines);
      assert.deepEqual(list.map((i) => i.start!.toICALString()), ['20240309T090000', '20240310T090000']);
      const ny = parseCalendarObject(ics(VTIMEZONE_NEW_YORK, 'BEGIN:VEVENT', 'UID:z', 'DTSTART:20240101T000000Z', 'END:VEVENT')).timezones.get('America/New_York')!;
      const placed = expandInstances(parseCalendarObject(ics(...lines)), { floatingTimezone: ny }).instances;
      assert.deepEqual(placed.map((i) => formatUtcDateTime(epochMs(i.start!, ny))), ['20240309T140000Z', '20240310T130000Z']);
    });
  });

  describe('ical.js pitfalls handled here', () => {
    it('FREQ=YEARLY on 29 February recurs in leap years only (ical.js yields 1 March)', () => {
      assert.deepEqual(starts(['BEGIN:VEVENT', 'UID:l', 'DTSTART;VALUE=DATE:20240229', 'RRULE:FREQ=YEARLY;UNTIL=20290101', 'END:VEVENT']),
        ['20240229T000000Z', '20280229T000000Z']);
    });

    it('BYMONTH=2;BYMONTHDAY=30 never occurs, and the search for it stops', () => {
      const t0 = Date.now();
      const got = expansion(['BEGIN:VEVENT', 'UID:i', 'DTSTART:20240101T100000Z', 'RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30', 'END:VEVENT']);
      assert.deepEqual(got.instances.map((i) => at(i.start)), []);
      assert.equal(got.truncated, true);
      assert.ok(Date.now() - t0 < 5_000);
      assert.deepEqual(starts(['BEGIN:VEVENT', 'UID:i', 'DTSTART:20240101T100000Z', 'RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;COUNT=3', 'END:VEVENT']), []);
    });

    it('a DATE UNTIL with a DATE-TIME DTSTART includes that day', () => {
      assert.deepEqual(starts(['BEGIN:VEVENT', 'UID:u', 'DTSTART:20240401T100000Z', 'RRULE:FREQ=DAILY;UNTIL=20240403', 'END:VEVENT']),
        ['20240401T100000Z', '20240402T100000Z', '20240403T100000Z']);
    });
  });

  describe('caps on unbounded rules (docs/caldav.md, "Recurrence")', () => {
    const secondly = ['BEGIN:VEVENT', 'UID:s', 'DTSTART:20010101T000000Z', 'RRULE:FREQ=SECONDLY', 'END:VEVENT'];

    it('FREQ=SECONDLY since 2001: a window in 2024 is found quickly', () => {
      const t0 = Date.now();
      const got = expansion(secondly, { from: utc('2024-06-01T12:00:00Z'), until: utc('2024-06-01T12:00:02Z') });
      const inWindow = got.instances.filter((i) => epochMs(i.start!) >= utc('2024-06-01T12:00:00Z')).map((i) => at(i.start));
      assert.deepEqual(inWindow, ['20240601T120000Z', '20240601T120001Z', '20240601T120002Z']);
      assert.ok(got.instances.length <= 10, `skipped ahead (${got.instances.length} instances)`);
      assert.equal(got.truncated, false);
      assert.ok(Date.now() - t0 < 1_000);
    });

    it('without an end, stops at maxInstances and says so', () => {
      const got = expansion(secondly, { maxInstances: 50 });
      assert.equal(got.instances.length, 50);
      assert.equal(got.truncated, true);
      assert.equal(at(got.instances[49]!.start), '20010101T000049Z');
    });

    it('stops at the range end before the cap', () => {
      const got = expansion(secondly, { maxInstances: 50, until: utc('2001-01-01T00:00:09Z') });
      assert.equal(got.instances.length, 10);
      assert.equal(got.truncated, false);
    });

    it('the lazy stream stops when the caller does', () => {
      const stream = instances(parseCalendarObject(ics(...secondly)));
      const first: Instance[] = [];
      for (const i of stream) if (first.push(i) === 3) break;
      assert.deepEqual(first.map((i) => at(i.start)), ['20010101T000000Z', '20010101T000001Z', '20010101T000002Z']);
    });

    describe('skipping ahead yields exactly the instances a full expansion does', () => {
      const from = utc('2024-02-20T00:00:00Z');
      const rules = [
        'FREQ=DAILY;INTERVAL=3',
        'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR',
        'FREQ=WEEKLY;BYDAY=TU',
        'FREQ=MONTHLY;BYDAY=2TU',
        'FREQ=MONTHLY;BYMONTHDAY=15,-1',
        'FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU',
        'FREQ=HOURLY;INTERVAL=7',
        'FREQ=MINUTELY;INTERVAL=45;BYHOUR=9,10',
      ];
      for (const rule of rules) {
        it(rule, () => {
          const lines = [VTIMEZONE_BERLIN, 'BEGIN:VEVENT', 'UID:r', 'DTSTART;TZID=Europe/Berlin:20200113T093000', `RRULE:${rule}`, 'END:VEVENT'];
          const until = utc('2024-04-10T00:00:00Z');
          const full = starts(lines, { until, maxInstances: 100_000 }).filter((s) => s >= '20240220T000000Z');
          const fast = starts(lines, { from, until }).filter((s) => s >= '20240220T000000Z');
          assert.ok(full.length > 0);
          assert.deepEqual(fast, full);
        });
      }
    });
  });
});

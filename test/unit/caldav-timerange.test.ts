import assert from 'node:assert/strict';
import ICAL from 'ical.js';
import { parseCalendarObject } from '../../lib/caldav/ical/object.js';
import { componentInstance, expandInstances } from '../../lib/caldav/ical/recurrence.js';
import {
  alarmTriggers,
  freeBusyOverlaps,
  instancesInRange,
  objectOverlaps,
  timeRange,
  valueOverlaps,
  type TimeRange,
} from '../../lib/caldav/ical/timerange.js';
import { formatUtcDateTime } from '../../lib/caldav/ical/tz.js';
import { ics, VTIMEZONE_BERLIN, VTIMEZONE_NEW_YORK } from '../helpers/fixtures.js';

const T = (s: string) => Date.parse(s.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
const range = (start?: string, end?: string): TimeRange => timeRange(start ? T(start) : null, end ? T(end) : null);

function overlaps(type: string, props: string[], start?: string, end?: string, extra: string[] = []): boolean {
  const object = parseCalendarObject(ics(...extra, `BEGIN:${type}`, 'UID:t', 'DTSTAMP:20240101T000000Z', ...props, `END:${type}`));
  return objectOverlaps(object, range(start, end));
}

/** [start, end, expected] rows against one component. */
function table(type: string, props: string[], rows: Array<[string | undefined, string | undefined, boolean]>, extra: string[] = []): void {
  for (const [start, end, expected] of rows) {
    assert.equal(overlaps(type, props, start, end, extra), expected, `${props.join(' ')} vs [${start ?? '-∞'}, ${end ?? '+∞'})`);
  }
}

describe('CalDAV time ranges (RFC 4791 §9.9)', () => {
  describe('§9.9 VEVENT table', () => {
    it('DTEND: (start < DTEND AND end > DTSTART)', () => {
      table('VEVENT', ['DTSTART:20240101T100000Z', 'DTEND:20240101T110000Z'], [
        ['20240101T090000Z', '20240101T100000Z', false], // ends where the event starts
        ['20240101T090000Z', '20240101T100001Z', true],
        ['20240101T105959Z', '20240101T120000Z', true],
        ['20240101T110000Z', '20240101T120000Z', false], // starts where the event ends
        [undefined, '20240101T100001Z', true],
        ['20240101T105959Z', undefined, true],
        ['20240101T110000Z', undefined, false],
      ]);
    });

    it('DURATION > 0: (start < DTSTART+DURATION AND end > DTSTART)', () => {
      table('VEVENT', ['DTSTART:20240101T100000Z', 'DURATION:PT90M'], [
        ['20240101T112959Z', '20240101T120000Z', true],
        ['20240101T113000Z', '20240101T120000Z', false],
        ['20240101T090000Z', '20240101T100000Z', false],
      ]);
    });

    it('DURATION = 0: (start <= DTSTART AND end > DTSTART)', () => {
      table('VEVENT', ['DTSTART:20240101T100000Z', 'DURATION:PT0S'], [
        ['20240101T100000Z', '20240101T100001Z', true],
        ['20240101T090000Z', '20240101T100000Z', false],
        ['20240101T100001Z', '20240101T110000Z', false],
      ]);
    });

    it('DATE-TIME DTSTART alone: (start <= DTSTART AND end > DTSTART)', () => {
      table('VEVENT', ['DTSTART:20240101T100000Z'], [
        ['20240101T100000Z', '20240101T100001Z', true],
        ['20240101T090000Z', '20240101T100000Z', false],
      ]);
    });

    it('DATE DTSTART alone: (start < DTSTART+P1D AND end > DTSTART)', () => {
      table('VEVENT', ['DTSTART;VALUE=DATE:20240101'], [
        ['20240101T235959Z', '20240102T120000Z', true],
        ['20240102T000000Z', '20240102T120000Z', false],
        ['20231231T000000Z', '20240101T000000Z', false],
        ['20231231T000000Z', '20240101T000001Z', true],
      ]);
    });

    it('DTEND equal to DTSTART is judged like DURATION:PT0S', () => {
      table('VEVENT', ['DTSTART:20240101T100000Z', 'DTEND:20240101T100000Z'], [
        ['20240101T100000Z', '20240101T110000Z', true],
        ['20240101T090000Z', '20240101T100000Z', false],
      ]);
    });

    it('all-day dates are floating: with a calendar zone they start at local midnight', () => {
      const object = parseCalendarObject(ics('BEGIN:VEVENT', 'UID:a', 'DTSTART;VALUE=DATE:20240101', 'DTEND;VALUE=DATE:20240102', 'END:VEVENT'));
      const berlin = parseCalendarObject(ics(VTIMEZONE_BERLIN, 'BEGIN:VEVENT', 'UID:z', 'DTSTART:20240101T000000Z', 'END:VEVENT')).timezones.get('Europe/Berlin')!;
      const lastHourUtc = range('20240101T230000Z', '20240102T000000Z');
      assert.equal(objectOverlaps(object, lastHourUtc), true);
      assert.equal(objectOverlaps(object, lastHourUtc, { floatingTimezone: berlin }), false, 'in Berlin the day ended at 23:00Z');
      assert.equal(objectOverlaps(object, range('20231231T230000Z', '20231231T230001Z'), { floatingTimezone: berlin }), true);
    });

    it('a zoned DTSTART is compared in UTC', () => {
      table('VEVENT', ['DTSTART;TZID=America/New_York:20240701T090000', 'DURATION:PT1H'], [
        ['20240701T130000Z', '20240701T130001Z', true],
        ['20240701T090000Z', '20240701T100000Z', false],
      ], [VTIMEZONE_NEW_YORK]);
    });
  });

  describe('§9.9 VTODO table', () => {
    it('DTSTART+DURATION: (start <= DTSTART+DURATION) AND ((end > DTSTART) OR (end >= DTSTART+DURATION))', () => {
      table('VTODO', ['DTSTART:20240101T100000Z', 'DURATION:PT1H'], [
        ['20240101T110000Z', '20240101T120000Z', true], // start == DTSTART+DURATION
        ['20240101T110001Z', '20240101T120000Z', false],
        ['20240101T090000Z', '20240101T100000Z', false], // end == DTSTART
        ['20240101T090000Z', '20240101T100001Z', true],
      ]);
    });

    it('DTSTART+DUE: ((start < DUE) OR (start <= DTSTART)) AND ((end > DTSTART) OR (end >= DUE))', () => {
      table('VTODO', ['DTSTART:20240101T100000Z', 'DUE:20240101T120000Z'], [
        ['20240101T115959Z', '20240101T130000Z', true],
        ['20240101T120000Z', '20240101T130000Z', false], // start == DUE
        ['20240101T090000Z', '20240101T100000Z', false], // end == DTSTART
        ['20240101T090000Z', '20240101T100001Z', true],
      ]);
      // a zero-length task (DUE == DTSTART) at the range start
      table('VTODO', ['DTSTART:20240101T100000Z', 'DUE:20240101T100000Z'], [['20240101T100000Z', '20240101T110000Z', true]]);
    });

    it('DTSTART only: (start <= DTSTART) AND (end > DTSTART)', () => {
      table('VTODO', ['DTSTART:20240101T100000Z'], [
        ['20240101T100000Z', '20240101T100001Z', true],
        ['20240101T090000Z', '20240101T100000Z', false],
        ['20240101T100001Z', undefined, false],
      ]);
    });

    it('DUE only: (start < DUE) AND (end >= DUE)', () => {
      table('VTODO', ['DUE:20240101T120000Z'], [
        ['20240101T110000Z', '20240101T120000Z', true], // end == DUE counts
        ['20240101T120000Z', '20240101T130000Z', false], // start == DUE does not
        ['20240101T110000Z', '20240101T115959Z', false],
      ]);
    });

    it('COMPLETED and CREATED: ((start <= CREATED) OR (start <= COMPLETED)) AND ((end >= CREATED) OR (end >= COMPLETED))', () => {
      table('VTODO', ['CREATED:20240101T100000Z', 'COMPLETED:20240105T100000Z'], [
        ['20240105T100000Z', '20240106T000000Z', true],
        ['20240105T100001Z', '20240106T000000Z', false],
        ['20231231T000000Z', '20240101T100000Z', true],
        ['20231231T000000Z', '20240101T095959Z', false],
        ['20240102T000000Z', '20240103T000000Z', true], // between the two
      ]);
    });

    it('COMPLETED only: (start <= COMPLETED) AND (end >= COMPLETED)', () => {
      table('VTODO', ['COMPLETED:20240105T100000Z'], [
        ['20240105T090000Z', '20240105T100000Z', true],
        ['20240105T100000Z', '20240105T110000Z', true],
        ['20240105T100001Z', '20240105T110000Z', false],
        ['20240105T080000Z', '20240105T095959Z', false],
      ]);
    });

    it('CREATED only: (end > CREATED)', () => {
      table('VTODO', ['CREATED:20240101T100000Z'], [
        ['20240101T090000Z', '20240101T100000Z', false],
        ['20240101T090000Z', '20240101T100001Z', true],
        ['20300101T000000Z', '20300102T000000Z', true],
      ]);
    });

    it('none of them: TRUE', () => {
      table('VTODO', ['SUMMARY:someday'], [['19700101T000000Z', '19700102T000000Z', true]]);
    });

    it('a recurring VTODO moves DUE with DTSTART', () => {
      const props = ['DTSTART:20240101T090000Z', 'DUE:20240101T170000Z', 'RRULE:FREQ=WEEKLY;COUNT=3'];
      table('VTODO', props, [
        ['20240115T165959Z', '20240115T170000Z', true],
        ['20240115T170000Z', '20240115T180000Z', false],
        ['20240122T090000Z', '20240122T180000Z', false],
      ]);
    });
  });

  describe('§9.9 VJOURNAL table', () => {
    it('DATE-TIME: (start <= DTSTART) AND (end > DTSTART)', () => {
      table('VJOURNAL', ['DTSTART:20240101T100000Z'], [
        ['20240101T100000Z', '20240101T100001Z', true],
        ['20240101T000000Z', '20240101T100000Z', false],
      ]);
    });
    it('DATE: (start < DTSTART+P1D) AND (end > DTSTART)', () => {
      table('VJOURNAL', ['DTSTART;VALUE=DATE:20240101'], [
        ['20240101T235959Z', '20240102T000000Z', true],
        ['20240102T000000Z', '20240103T000000Z', false],
      ]);
    });
    it('no DTSTART: FALSE', () => table('VJOURNAL', ['SUMMARY:x'], [[undefined, undefined, false]]));
  });

  describe('§9.9 VFREEBUSY table', () => {
    it('DTSTART and DTEND: (start <= DTEND) AND (end > DTSTART)', () => {
      table('VFREEBUSY', ['DTSTART:20240101T000000Z', 'DTEND:20240102T000000Z', 'FREEBUSY:20240301T100000Z/PT1H'], [
        ['20240102T000000Z', '20240103T000000Z', true], // start == DTEND counts here
        ['20240102T000001Z', '20240103T000000Z', false],
        ['20240301T100000Z', '20240301T110000Z', false], // FREEBUSY is ignored when DTSTART/DTEND are there
      ]);
    });
    it('FREEBUSY only: (start < period-end) AND (end > period-start), any period, any type', () => {
      table('VFREEBUSY', ['FREEBUSY;FBTYPE=FREE:20240101T100000Z/PT1H', 'FREEBUSY:20240102T100000Z/20240102T110000Z,20240103T100000Z/PT1H'], [
        ['20240101T103000Z', '20240101T103001Z', true],
        ['20240103T105959Z', '20240103T120000Z', true],
        ['20240103T110000Z', '20240103T120000Z', false],
        ['20240102T110000Z', '20240103T100000Z', false],
      ]);
    });
    it('neither: FALSE', () => {
      const c = new ICAL.Component(['vfreebusy', [], []]);
      assert.equal(freeBusyOverlaps(c, range()), false);
    });
  });

  describe('§9.9 VALARM: (start <= trigger-time) AND (end > trigger-time)', () => {
    const alarmsOf = (lines: string[], extra: string[] = []) => {
      const object = parseCalendarObject(ics(...extra, ...lines));
      const inst = expandInstances(object).instances[0]!;
      return inst.component.getAllSubcomponents('valarm').map((a) => alarmTriggers(a, inst).map(formatUtcDateTime));
    };

    it('relative to the start, to the end (DTEND, DURATION), and absolute', () => {
      const got = alarmsOf(['BEGIN:VEVENT', 'UID:a', 'DTSTART:20240101T100000Z', 'DTEND:20240101T120000Z',
        'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER:-PT15M', 'END:VALARM',
        'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER;RELATED=END:PT5M', 'END:VALARM',
        'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER;VALUE=DATE-TIME:20231231T180000Z', 'END:VALARM',
        'END:VEVENT']);
      assert.deepEqual(got, [['20240101T094500Z'], ['20240101T120500Z'], ['20231231T180000Z']]);
      const byDuration = alarmsOf(['BEGIN:VEVENT', 'UID:a', 'DTSTART:20240101T100000Z', 'DURATION:PT30M',
        'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER;RELATED=END:-PT1M', 'END:VALARM', 'END:VEVENT']);
      assert.deepEqual(byDuration, [['20240101T102900Z']]);
    });

    it('RELATED=END of a VTODO is its DUE', () => {
      const got = alarmsOf(['BEGIN:VTODO', 'UID:t', 'DUE:20240105T170000Z', 'DTSTART:20240105T090000Z',
        'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER;RELATED=END:-PT1H', 'END:VALARM', 'END:VTODO']);
      assert.deepEqual(got, [['20240105T160000Z']]);
    });

    it('REPEAT with DURATION adds repetitions', () => {
      const got = alarmsOf(['BEGIN:VEVENT', 'UID:a', 'DTSTART:20240101T100000Z',
        'BEGIN:VALARM', 'ACTION:AUDIO', 'TRIGGER:-PT30M', 'REPEAT:2', 'DURATION:PT10M', 'END:VALARM', 'END:VEVENT']);
      assert.deepEqual(got, [['20240101T093000Z', '20240101T094000Z', '20240101T095000Z']]);
    });

    it('an alarm of a day-long event (DATE) is relative to local midnight', () => {
      const got = alarmsOf(['BEGIN:VEVENT', 'UID:a', 'DTSTART;VALUE=DATE:20240101',
        'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER:-PT15H', 'END:VALARM', 'END:VEVENT']);
      assert.deepEqual(got, [['20231231T090000Z']]);
    });
  });

  describe('§9.9 time-range on a property value (prop-filter)', () => {
    const floatingDate = ICAL.Time.fromDateString('2024-01-01');
    it('DATE-TIME: start <= value < end', () => {
      const v = ICAL.Time.fromDateTimeString('2024-01-01T10:00:00Z');
      assert.equal(valueOverlaps(v, range('20240101T100000Z', '20240101T100001Z')), true);
      assert.equal(valueOverlaps(v, range('20240101T090000Z', '20240101T100000Z')), false);
    });
    it('DATE covers its day', () => {
      assert.equal(valueOverlaps(floatingDate, range('20240101T235959Z', '20240102T100000Z')), true);
      assert.equal(valueOverlaps(floatingDate, range('20240102T000000Z', '20240102T100000Z')), false);
    });
    it('PERIOD overlaps like an event; text never does', () => {
      const p = ICAL.Period.fromData({ start: ICAL.Time.fromDateTimeString('2024-01-01T10:00:00Z'), duration: ICAL.Duration.fromString('PT1H') });
      assert.equal(valueOverlaps(p, range('20240101T105959Z', '20240101T120000Z')), true);
      assert.equal(valueOverlaps(p, range('20240101T110000Z', '20240101T120000Z')), false);
      assert.equal(valueOverlaps('20240101T100000Z', range()), false);
    });
  });

  describe('recurrence in time-range tests', () => {
    it('instancesInRange lists only the overlapping instances, overrides judged by their own times', () => {
      const object = parseCalendarObject(ics(VTIMEZONE_BERLIN,
        'BEGIN:VEVENT', 'UID:r', 'DTSTART;TZID=Europe/Berlin:20240325T100000', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;COUNT=10', 'EXDATE;TZID=Europe/Berlin:20240329T100000', 'END:VEVENT',
        'BEGIN:VEVENT', 'UID:r', 'RECURRENCE-ID;TZID=Europe/Berlin:20240402T100000', 'DTSTART;TZID=Europe/Berlin:20240328T180000', 'DURATION:PT1H', 'END:VEVENT'));
      const got = instancesInRange(object, range('20240328T000000Z', '20240401T000000Z')).instances.map((i) => formatUtcDateTime(i.start!.toUnixTime() * 1000));
      assert.deepEqual(got, ['20240328T090000Z', '20240328T170000Z', '20240330T090000Z', '20240331T080000Z']);
    });

    it('componentInstance reads one component on its own', () => {
      const object = parseCalendarObject(ics('BEGIN:VEVENT', 'UID:c', 'DTSTART:20240101T100000Z', 'DTEND:20240101T110000Z', 'RRULE:FREQ=DAILY', 'END:VEVENT'));
      const inst = componentInstance(object.master!);
      assert.equal(inst.kind, 'single');
      assert.equal(inst.end!.toICALString(), '20240101T110000Z');
    });
  });
});

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

/** A range [start, end) (either end open), whether the component overlaps it, and why where it is an edge. */
type Row = [start: string | undefined, end: string | undefined, expected: boolean, note?: string];

/** One of §9.9's conditions, and the rows that probe it against one component. */
interface OverlapTable {
  rule: string;
  component: string;
  props: string[];
  /** Lines before the component (its VTIMEZONE). */
  extra?: string[];
  rows: Row[];
}

/** One `it` per row, under a describe named by the rule it probes (the table holds the component). */
function overlapTables(tables: OverlapTable[]): void {
  for (const t of tables) {
    describe(t.rule, () => {
      for (const [start, end, expected, note] of t.rows) {
        it(`[${start ?? '-∞'}, ${end ?? '+∞'}) → ${expected}${note ? `: ${note}` : ''}`, () => {
          assert.equal(overlaps(t.component, t.props, start, end, t.extra), expected);
        });
      }
    });
  }
}

const VEVENT_TABLES: OverlapTable[] = [
  {
    rule: 'DTEND: (start < DTEND AND end > DTSTART)',
    component: 'VEVENT',
    props: ['DTSTART:20240101T100000Z', 'DTEND:20240101T110000Z'],
    rows: [
      ['20240101T090000Z', '20240101T100000Z', false, 'ends where the event starts'],
      ['20240101T090000Z', '20240101T100001Z', true],
      ['20240101T105959Z', '20240101T120000Z', true],
      ['20240101T110000Z', '20240101T120000Z', false, 'starts where the event ends'],
      [undefined, '20240101T100001Z', true],
      ['20240101T105959Z', undefined, true],
      ['20240101T110000Z', undefined, false],
    ],
  },
  {
    rule: 'DURATION > 0: (start < DTSTART+DURATION AND end > DTSTART)',
    component: 'VEVENT',
    props: ['DTSTART:20240101T100000Z', 'DURATION:PT90M'],
    rows: [
      ['20240101T112959Z', '20240101T120000Z', true],
      ['20240101T113000Z', '20240101T120000Z', false],
      ['20240101T090000Z', '20240101T100000Z', false],
    ],
  },
  {
    rule: 'DURATION = 0: (start <= DTSTART AND end > DTSTART)',
    component: 'VEVENT',
    props: ['DTSTART:20240101T100000Z', 'DURATION:PT0S'],
    rows: [
      ['20240101T100000Z', '20240101T100001Z', true],
      ['20240101T090000Z', '20240101T100000Z', false],
      ['20240101T100001Z', '20240101T110000Z', false],
    ],
  },
  {
    rule: 'DATE-TIME DTSTART alone: (start <= DTSTART AND end > DTSTART)',
    component: 'VEVENT',
    props: ['DTSTART:20240101T100000Z'],
    rows: [
      ['20240101T100000Z', '20240101T100001Z', true],
      ['20240101T090000Z', '20240101T100000Z', false],
    ],
  },
  {
    rule: 'DATE DTSTART alone: (start < DTSTART+P1D AND end > DTSTART)',
    component: 'VEVENT',
    props: ['DTSTART;VALUE=DATE:20240101'],
    rows: [
      ['20240101T235959Z', '20240102T120000Z', true],
      ['20240102T000000Z', '20240102T120000Z', false],
      ['20231231T000000Z', '20240101T000000Z', false],
      ['20231231T000000Z', '20240101T000001Z', true],
    ],
  },
  {
    rule: 'DTEND equal to DTSTART is judged like DURATION:PT0S',
    component: 'VEVENT',
    props: ['DTSTART:20240101T100000Z', 'DTEND:20240101T100000Z'],
    rows: [
      ['20240101T100000Z', '20240101T110000Z', true],
      ['20240101T090000Z', '20240101T100000Z', false],
    ],
  },
  {
    rule: 'a zoned DTSTART is compared in UTC',
    component: 'VEVENT',
    props: ['DTSTART;TZID=America/New_York:20240701T090000', 'DURATION:PT1H'],
    extra: [VTIMEZONE_NEW_YORK],
    rows: [
      ['20240701T130000Z', '20240701T130001Z', true],
      ['20240701T090000Z', '20240701T100000Z', false],
    ],
  },
];

const VTODO_TABLES: OverlapTable[] = [
  {
    rule: 'DTSTART+DURATION: (start <= DTSTART+DURATION) AND ((end > DTSTART) OR (end >= DTSTART+DURATION))',
    component: 'VTODO',
    props: ['DTSTART:20240101T100000Z', 'DURATION:PT1H'],
    rows: [
      ['20240101T110000Z', '20240101T120000Z', true, 'start == DTSTART+DURATION'],
      ['20240101T110001Z', '20240101T120000Z', false],
      ['20240101T090000Z', '20240101T100000Z', false, 'end == DTSTART'],
      ['20240101T090000Z', '20240101T100001Z', true],
    ],
  },
  {
    rule: 'DTSTART+DUE: ((start < DUE) OR (start <= DTSTART)) AND ((end > DTSTART) OR (end >= DUE))',
    component: 'VTODO',
    props: ['DTSTART:20240101T100000Z', 'DUE:20240101T120000Z'],
    rows: [
      ['20240101T115959Z', '20240101T130000Z', true],
      ['20240101T120000Z', '20240101T130000Z', false, 'start == DUE'],
      ['20240101T090000Z', '20240101T100000Z', false, 'end == DTSTART'],
      ['20240101T090000Z', '20240101T100001Z', true],
    ],
  },
  {
    rule: 'DTSTART+DUE with DUE == DTSTART (a zero-length task)',
    component: 'VTODO',
    props: ['DTSTART:20240101T100000Z', 'DUE:20240101T100000Z'],
    rows: [['20240101T100000Z', '20240101T110000Z', true, 'at the range start']],
  },
  {
    rule: 'DTSTART only: (start <= DTSTART) AND (end > DTSTART)',
    component: 'VTODO',
    props: ['DTSTART:20240101T100000Z'],
    rows: [
      ['20240101T100000Z', '20240101T100001Z', true],
      ['20240101T090000Z', '20240101T100000Z', false],
      ['20240101T100001Z', undefined, false],
    ],
  },
  {
    rule: 'DUE only: (start < DUE) AND (end >= DUE)',
    component: 'VTODO',
    props: ['DUE:20240101T120000Z'],
    rows: [
      ['20240101T110000Z', '20240101T120000Z', true, 'end == DUE counts'],
      ['20240101T120000Z', '20240101T130000Z', false, 'start == DUE does not'],
      ['20240101T110000Z', '20240101T115959Z', false],
    ],
  },
  {
    rule: 'COMPLETED and CREATED: ((start <= CREATED) OR (start <= COMPLETED)) AND ((end >= CREATED) OR (end >= COMPLETED))',
    component: 'VTODO',
    props: ['CREATED:20240101T100000Z', 'COMPLETED:20240105T100000Z'],
    rows: [
      ['20240105T100000Z', '20240106T000000Z', true],
      ['20240105T100001Z', '20240106T000000Z', false],
      ['20231231T000000Z', '20240101T100000Z', true],
      ['20231231T000000Z', '20240101T095959Z', false],
      ['20240102T000000Z', '20240103T000000Z', true, 'between the two'],
    ],
  },
  {
    rule: 'COMPLETED only: (start <= COMPLETED) AND (end >= COMPLETED)',
    component: 'VTODO',
    props: ['COMPLETED:20240105T100000Z'],
    rows: [
      ['20240105T090000Z', '20240105T100000Z', true],
      ['20240105T100000Z', '20240105T110000Z', true],
      ['20240105T100001Z', '20240105T110000Z', false],
      ['20240105T080000Z', '20240105T095959Z', false],
    ],
  },
  {
    rule: 'CREATED only: (end > CREATED)',
    component: 'VTODO',
    props: ['CREATED:20240101T100000Z'],
    rows: [
      ['20240101T090000Z', '20240101T100000Z', false],
      ['20240101T090000Z', '20240101T100001Z', true],
      ['20300101T000000Z', '20300102T000000Z', true],
    ],
  },
  {
    rule: 'none of them: TRUE',
    component: 'VTODO',
    props: ['SUMMARY:someday'],
    rows: [['19700101T000000Z', '19700102T000000Z', true]],
  },
  {
    rule: 'a recurring VTODO moves DUE with DTSTART',
    component: 'VTODO',
    props: ['DTSTART:20240101T090000Z', 'DUE:20240101T170000Z', 'RRULE:FREQ=WEEKLY;COUNT=3'],
    rows: [
      ['20240115T165959Z', '20240115T170000Z', true],
      ['20240115T170000Z', '20240115T180000Z', false],
      ['20240122T090000Z', '20240122T180000Z', false],
    ],
  },
];

const VJOURNAL_TABLES: OverlapTable[] = [
  {
    rule: 'DATE-TIME: (start <= DTSTART) AND (end > DTSTART)',
    component: 'VJOURNAL',
    props: ['DTSTART:20240101T100000Z'],
    rows: [
      ['20240101T100000Z', '20240101T100001Z', true],
      ['20240101T000000Z', '20240101T100000Z', false],
    ],
  },
  {
    rule: 'DATE: (start < DTSTART+P1D) AND (end > DTSTART)',
    component: 'VJOURNAL',
    props: ['DTSTART;VALUE=DATE:20240101'],
    rows: [
      ['20240101T235959Z', '20240102T000000Z', true],
      ['20240102T000000Z', '20240103T000000Z', false],
    ],
  },
  { rule: 'no DTSTART: FALSE', component: 'VJOURNAL', props: ['SUMMARY:x'], rows: [[undefined, undefined, false]] },
];

const VFREEBUSY_TABLES: OverlapTable[] = [
  {
    rule: 'DTSTART and DTEND: (start <= DTEND) AND (end > DTSTART)',
    component: 'VFREEBUSY',
    props: ['DTSTART:20240101T000000Z', 'DTEND:20240102T000000Z', 'FREEBUSY:20240301T100000Z/PT1H'],
    rows: [
      ['20240102T000000Z', '20240103T000000Z', true, 'start == DTEND counts here'],
      ['20240102T000001Z', '20240103T000000Z', false],
      ['20240301T100000Z', '20240301T110000Z', false, 'FREEBUSY is ignored when DTSTART/DTEND are there'],
    ],
  },
  {
    rule: 'FREEBUSY only: (start < period-end) AND (end > period-start), any period, any type',
    component: 'VFREEBUSY',
    props: ['FREEBUSY;FBTYPE=FREE:20240101T100000Z/PT1H', 'FREEBUSY:20240102T100000Z/20240102T110000Z,20240103T100000Z/PT1H'],
    rows: [
      ['20240101T103000Z', '20240101T103001Z', true],
      ['20240103T105959Z', '20240103T120000Z', true],
      ['20240103T110000Z', '20240103T120000Z', false],
      ['20240102T110000Z', '20240103T100000Z', false],
    ],
  },
];

describe('CalDAV time ranges (RFC 4791 §9.9)', () => {
  describe('§9.9 VEVENT table', () => {
    overlapTables(VEVENT_TABLES);

    it('all-day dates are floating: with a calendar zone they start at local midnight', () => {
      const object = parseCalendarObject(ics('BEGIN:VEVENT', 'UID:a', 'DTSTART;VALUE=DATE:20240101', 'DTEND;VALUE=DATE:20240102', 'END:VEVENT'));
      const berlin = parseCalendarObject(ics(VTIMEZONE_BERLIN, 'BEGIN:VEVENT', 'UID:z', 'DTSTART:20240101T000000Z', 'END:VEVENT')).timezones.get('Europe/Berlin')!;
      const lastHourUtc = range('20240101T230000Z', '20240102T000000Z');
      assert.equal(objectOverlaps(object, lastHourUtc), true);
      assert.equal(objectOverlaps(object, lastHourUtc, { floatingTimezone: berlin }), false, 'in Berlin the day ended at 23:00Z');
      assert.equal(objectOverlaps(object, range('20231231T230000Z', '20231231T230001Z'), { floatingTimezone: berlin }), true);
    });
  });

  describe('§9.9 VTODO table', () => overlapTables(VTODO_TABLES));

  describe('§9.9 VJOURNAL table', () => overlapTables(VJOURNAL_TABLES));

  describe('§9.9 VFREEBUSY table', () => {
    overlapTables(VFREEBUSY_TABLES);
    it('neither: FALSE', () => {
      const c = new ICAL.Component(['vfreebusy', [], []]);
      assert.equal(freeBusyOverlaps(c, range()), false);
    });
  });

  describe('§9.9 VALARM: (start <= trigger-time) AND (end > trigger-time)', () => {
    const alarmsOf = (lines: string[]) => {
      const object = parseCalendarObject(ics(...lines));
      const inst = expandInstances(object).instances[0]!;
      return inst.component.getAllSubcomponents('valarm').map((a) => alarmTriggers(a, inst).map(formatUtcDateTime));
    };
    const alarm = (...lines: string[]) => ['BEGIN:VALARM', ...lines, 'END:VALARM'];
    /** [what it shows, the component's lines, each alarm's trigger times in UTC]. */
    const cases: Array<[string, string[], string[][]]> = [
      [
        'relative to the start, to the end (DTEND), and absolute',
        ['BEGIN:VEVENT', 'UID:a', 'DTSTART:20240101T100000Z', 'DTEND:20240101T120000Z',
          ...alarm('ACTION:DISPLAY', 'TRIGGER:-PT15M'),
          ...alarm('ACTION:DISPLAY', 'TRIGGER;RELATED=END:PT5M'),
          ...alarm('ACTION:DISPLAY', 'TRIGGER;VALUE=DATE-TIME:20231231T180000Z'),
          'END:VEVENT'],
        [['20240101T094500Z'], ['20240101T120500Z'], ['20231231T180000Z']],
      ],
      [
        'relative to the end of a DURATION',
        ['BEGIN:VEVENT', 'UID:a', 'DTSTART:20240101T100000Z', 'DURATION:PT30M', ...alarm('ACTION:DISPLAY', 'TRIGGER;RELATED=END:-PT1M'), 'END:VEVENT'],
        [['20240101T102900Z']],
      ],
      [
        'RELATED=END of a VTODO is its DUE',
        ['BEGIN:VTODO', 'UID:t', 'DUE:20240105T170000Z', 'DTSTART:20240105T090000Z', ...alarm('ACTION:DISPLAY', 'TRIGGER;RELATED=END:-PT1H'), 'END:VTODO'],
        [['20240105T160000Z']],
      ],
      [
        'REPEAT with DURATION adds repetitions',
        ['BEGIN:VEVENT', 'UID:a', 'DTSTART:20240101T100000Z', ...alarm('ACTION:AUDIO', 'TRIGGER:-PT30M', 'REPEAT:2', 'DURATION:PT10M'), 'END:VEVENT'],
        [['20240101T093000Z', '20240101T094000Z', '20240101T095000Z']],
      ],
      [
        'an alarm of a day-long event (DATE) is relative to local midnight',
        ['BEGIN:VEVENT', 'UID:a', 'DTSTART;VALUE=DATE:20240101', ...alarm('ACTION:DISPLAY', 'TRIGGER:-PT15H'), 'END:VEVENT'],
        [['20231231T090000Z']],
      ],
    ];
    for (const [title, lines, expected] of cases) it(title, () => assert.deepEqual(alarmsOf(lines), expected));
  });

  describe('§9.9 time-range on a property value (prop-filter)', () => {
    const dateTime = ICAL.Time.fromDateTimeString('2024-01-01T10:00:00Z');
    const floatingDate = ICAL.Time.fromDateString('2024-01-01');
    const period = ICAL.Period.fromData({ start: ICAL.Time.fromDateTimeString('2024-01-01T10:00:00Z'), duration: ICAL.Duration.fromString('PT1H') });
    /** [what it shows, the value, the range, whether it overlaps]. */
    const cases: Array<[string, Parameters<typeof valueOverlaps>[0], TimeRange, boolean]> = [
      ['DATE-TIME: start <= value', dateTime, range('20240101T100000Z', '20240101T100001Z'), true],
      ['DATE-TIME: value < end', dateTime, range('20240101T090000Z', '20240101T100000Z'), false],
      ['DATE covers its day', floatingDate, range('20240101T235959Z', '20240102T100000Z'), true],
      ['DATE: not the next day', floatingDate, range('20240102T000000Z', '20240102T100000Z'), false],
      ['PERIOD overlaps like an event', period, range('20240101T105959Z', '20240101T120000Z'), true],
      ['PERIOD: a range from its end misses it', period, range('20240101T110000Z', '20240101T120000Z'), false],
      ['text never does', '20240101T100000Z', range(), false],
    ];
    for (const [title, value, r, expected] of cases) it(title, () => assert.equal(valueOverlaps(value, r), expected));
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

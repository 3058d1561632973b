import assert from 'node:assert/strict';
import { busyPeriods, formatPeriod, freeBusyReport } from '../../lib/caldav/ical/freebusy.js';
import { parseCalendarObject } from '../../lib/caldav/ical/object.js';
import { ics, VTIMEZONE_BERLIN } from '../helpers/fixtures.js';

const event = (...props: string[]) => parseCalendarObject(ics(VTIMEZONE_BERLIN, 'BEGIN:VEVENT', `UID:${props.join('|')}`, ...props, 'END:VEVENT'));
const d = (iso: string) => new Date(iso);
const busy = (objects: ReturnType<typeof event>[], start: string, end: string) =>
  busyPeriods(objects, d(start), d(end)).map((p) => `${p.type} ${formatPeriod(p)}`);

describe('CalDAV free-busy-query (RFC 4791 §7.10)', () => {
  it('busy time of opaque events, in UTC', () => {
    const objects = [event('DTSTART;TZID=Europe/Berlin:20240402T090000', 'DTEND;TZID=Europe/Berlin:20240402T100000')];
    assert.deepEqual(busy(objects, '2024-04-01T00:00:00Z', '2024-04-08T00:00:00Z'), ['BUSY 20240402T070000Z/20240402T080000Z']);
  });

  it('skips TRANSP:TRANSPARENT and STATUS:CANCELLED; STATUS:TENTATIVE is BUSY-TENTATIVE', () => {
    const objects = [
      event('DTSTART:20240402T080000Z', 'DURATION:PT1H', 'TRANSP:TRANSPARENT'),
      event('DTSTART:20240402T100000Z', 'DURATION:PT1H', 'STATUS:CANCELLED'),
      event('DTSTART:20240402T120000Z', 'DURATION:PT1H', 'STATUS:TENTATIVE'),
      event('DTSTART:20240402T140000Z', 'DURATION:PT1H', 'STATUS:CONFIRMED', 'TRANSP:OPAQUE'),
    ];
    assert.deepEqual(busy(objects, '2024-04-01T00:00:00Z', '2024-04-08T00:00:00Z'), [
      'BUSY-TENTATIVE 20240402T120000Z/20240402T130000Z',
      'BUSY 20240402T140000Z/20240402T150000Z',
    ]);
  });

  it('expands recurrences, judging overrides by their own STATUS and TRANSP', () => {
    const series = parseCalendarObject(ics(VTIMEZONE_BERLIN,
      'BEGIN:VEVENT', 'UID:s', 'DTSTART;TZID=Europe/Berlin:20240329T090000', 'DURATION:PT30M', 'RRULE:FREQ=DAILY;COUNT=5', 'EXDATE;TZID=Europe/Berlin:20240330T090000', 'END:VEVENT',
      'BEGIN:VEVENT', 'UID:s', 'RECURRENCE-ID;TZID=Europe/Berlin:20240401T090000', 'DTSTART;TZID=Europe/Berlin:20240401T090000', 'DURATION:PT30M', 'STATUS:CANCELLED', 'END:VEVENT',
      'BEGIN:VEVENT', 'UID:s', 'RECURRENCE-ID;TZID=Europe/Berlin:20240402T090000', 'DTSTART;TZID=Europe/Berlin:20240402T150000', 'DURATION:PT30M', 'STATUS:TENTATIVE', 'END:VEVENT'));
    assert.deepEqual(busy([series], '2024-03-01T00:00:00Z', '2024-05-01T00:00:00Z'), [
      'BUSY 20240329T080000Z/20240329T083000Z',
      'BUSY 20240331T070000Z/20240331T073000Z',
      'BUSY-TENTATIVE 20240402T130000Z/20240402T133000Z',
    ]);
  });

  it('clips to the range and merges overlapping periods of one type', () => {
    const objects = [
      event('DTSTART:20240402T080000Z', 'DTEND:20240402T100000Z'),
      event('DTSTART:20240402T093000Z', 'DTEND:20240402T110000Z'),
      event('DTSTART:20240402T110000Z', 'DTEND:20240402T113000Z'),
      event('DTSTART:20240402T120000Z', 'DTEND:20240402T140000Z'),
      event('DTSTART:20240402T123000Z', 'DTEND:20240402T130000Z', 'STATUS:TENTATIVE'),
    ];
    assert.deepEqual(busy(objects, '2024-04-02T09:00:00Z', '2024-04-02T13:30:00Z'), [
      'BUSY 20240402T090000Z/20240402T113000Z',
      'BUSY 20240402T120000Z/20240402T133000Z',
      'BUSY-TENTATIVE 20240402T123000Z/20240402T130000Z',
    ]);
  });

  it('an all-day event is busy for its day; a zero-length event is not busy', () => {
    const objects = [event('DTSTART;VALUE=DATE:20240403'), event('DTSTART:20240402T100000Z')];
    assert.deepEqual(busy(objects, '2024-04-01T00:00:00Z', '2024-04-08T00:00:00Z'), ['BUSY 20240403T000000Z/20240404T000000Z']);
  });

  it('takes FREEBUSY periods of VFREEBUSY objects, but not FREE ones', () => {
    const fb = parseCalendarObject(ics('BEGIN:VFREEBUSY', 'UID:fb', 'DTSTAMP:20240101T000000Z',
      'FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20240402T060000Z/PT2H', 'FREEBUSY;FBTYPE=FREE:20240402T120000Z/PT2H', 'END:VFREEBUSY'));
    assert.deepEqual(busy([fb], '2024-04-01T00:00:00Z', '2024-04-08T00:00:00Z'), ['BUSY-UNAVAILABLE 20240402T060000Z/20240402T080000Z']);
  });

  it('ignores VTODO and VJOURNAL', () => {
    const todo = parseCalendarObject(ics('BEGIN:VTODO', 'UID:t', 'DTSTART:20240402T080000Z', 'DUE:20240402T100000Z', 'END:VTODO'));
    assert.deepEqual(busy([todo], '2024-04-01T00:00:00Z', '2024-04-08T00:00:00Z'), []);
  });

  it('answers with one VFREEBUSY: DTSTAMP, DTSTART, DTEND and FREEBUSY in UTC', () => {
    const objects = [
      event('DTSTART:20240402T080000Z', 'DURATION:PT1H'),
      event('DTSTART:20240402T120000Z', 'DURATION:PT1H', 'STATUS:TENTATIVE'),
    ];
    const text = freeBusyReport(objects, d('2024-04-01T00:00:00Z'), d('2024-04-08T00:00:00Z'), { now: d('2024-03-31T12:00:00Z') });
    assert.equal(text, [
      'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//gitdav//CalDAV//EN',
      'BEGIN:VFREEBUSY', 'DTSTAMP:20240331T120000Z', 'DTSTART:20240401T000000Z', 'DTEND:20240408T000000Z',
      'FREEBUSY:20240402T080000Z/20240402T090000Z', 'FREEBUSY;FBTYPE=BUSY-TENTATIVE:20240402T120000Z/20240402T130000Z',
      'END:VFREEBUSY', 'END:VCALENDAR', '',
    ].join('\r\n'));
  });
});

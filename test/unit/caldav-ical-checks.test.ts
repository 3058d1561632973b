/**
 * The checks made on iCalendar text before ical.js sees it (structure.ts, rrule-check.ts), the
 * request step budget (budget.ts) and the bounded time-zone expansion (tz.ts): issue 10 #1 and #7.
 */
import assert from 'node:assert/strict';
import { checkRecurrenceRule } from '../../lib/caldav/ical/rrule-check.js';
import { checkStructure, MAX_COMPONENT_DEPTH, MAX_ZONE_CHANGES } from '../../lib/caldav/ical/structure.js';
import { spend, StepBudget, StepBudgetExceeded, withBudget } from '../../lib/caldav/ical/budget.js';
import { CalendarPreconditionError, parseCalendarObject } from '../../lib/caldav/ical/index.js';
import { epochMs, zoneCacheBytes } from '../../lib/caldav/ical/tz.js';
import { loadCalendarFixtures } from '../helpers/fixtures.js';
import ICAL from 'ical.js';

const vcalendar = (...lines: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', ...lines, 'END:VCALENDAR', ''].join('\r\n');
const zone = (...observance: string[]) => ['BEGIN:VTIMEZONE', 'TZID:Test/Zone', 'BEGIN:STANDARD', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0000', ...observance, 'END:STANDARD',
  'BEGIN:DAYLIGHT', 'TZOFFSETFROM:+0000', 'TZOFFSETTO:+0100', 'DTSTART:19700329T020000', 'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU', 'END:DAYLIGHT', 'END:VTIMEZONE'];
const zonedEvent = (...observance: string[]) => vcalendar(...zone(...observance), 'BEGIN:VEVENT', 'UID:z', 'DTSTAMP:20240101T000000Z',
  'DTSTART;TZID=Test/Zone:20240701T090000', 'DTEND;TZID=Test/Zone:20240701T100000', 'END:VEVENT');
const refused = (text: string, why: RegExp) => assert.throws(() => checkStructure(text), (e: unknown) => e instanceof CalendarPreconditionError && e.precondition === 'valid-calendar-data' && why.test(e.message));

describe('RFC 5545 §3.3.10 recurrence rule checks', () => {
  const good = [
    'FREQ=DAILY', 'FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20250101T000000Z', 'FREQ=MONTHLY;BYDAY=-1FR', 'FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=10',
    'FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU', 'FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO', 'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1', 'FREQ=YEARLY;BYYEARDAY=1,-1',
    'FREQ=HOURLY;INTERVAL=2;BYHOUR=9,11', 'FREQ=WEEKLY;WKST=SU;BYDAY=TU,TH;', 'freq=daily;until=20250101', 'FREQ=DAILY;X-NAME=1',
  ];
  for (const rule of good) it(`accepts ${rule}`, () => assert.equal(typeof checkRecurrenceRule(rule), 'object'));
  const bad: Array<[string, RegExp]> = [
    ['COUNT=3', /FREQ is required/], ['FREQ=DAILY;FREQ=WEEKLY', /more than once/], ['FREQ=FORTNIGHTLY', /not a frequency/],
    ['FREQ=DAILY;COUNT=2;UNTIL=20250101', /exclude/], ['FREQ=DAILY;COUNT=0', /positive/], ['FREQ=DAILY;INTERVAL=-1', /positive/],
    ['FREQ=MONTHLY;BYYEARDAY=1', /BYYEARDAY/], ['FREQ=DAILY;BYYEARDAY=1', /BYYEARDAY/], ['FREQ=WEEKLY;BYMONTHDAY=1', /BYMONTHDAY/],
    ['FREQ=MONTHLY;BYWEEKNO=1', /BYWEEKNO/], ['FREQ=DAILY;BYSETPOS=1', /BYSETPOS/], ['FREQ=DAILY;BYDAY=2MO', /BYDAY/],
    ['FREQ=YEARLY;BYWEEKNO=1;BYDAY=1MO', /BYWEEKNO/], ['FREQ=DAILY;BYHOUR=24', /BYHOUR/], ['FREQ=DAILY;BYMINUTE=60', /BYMINUTE/],
    ['FREQ=DAILY;BYSECOND=61', /BYSECOND/], ['FREQ=MONTHLY;BYMONTHDAY=0', /BYMONTHDAY/], ['FREQ=MONTHLY;BYMONTHDAY=32', /BYMONTHDAY/],
    ['FREQ=YEARLY;BYYEARDAY=367', /BYYEARDAY/], ['FREQ=YEARLY;BYMONTH=13', /BYMONTH/], ['FREQ=DAILY;BYHOUR=-1', /BYHOUR/],
    ['FREQ=DAILY;BYDAY=XX', /weekday/], ['FREQ=DAILY;WKST=XX', /WKST/], ['FREQ=DAILY;UNTIL=2025', /UNTIL/], ['FREQ=DAILY;FOO=1', /unknown/],
    ['FREQ=DAILY;BYDAY=', /no value/], ['FREQ', /NAME=VALUE/],
  ];
  for (const [rule, why] of bad) {
    it(`refuses ${rule}`, () => {
      const r = checkRecurrenceRule(rule);
      assert.equal(typeof r, 'string');
      assert.match(r as string, why);
    });
  }
});

describe('iCalendar structure checks before parsing', () => {
  it('accepts every fixture object (Google, Apple, Outlook shapes)', () => {
    for (const f of loadCalendarFixtures().objects) assert.doesNotThrow(() => checkStructure(f.text), f.name);
  });

  it(`refuses components nested deeper than ${MAX_COMPONENT_DEPTH} (without recursing: 100,000 levels)`, () => {
    const nest = (n: number) => vcalendar('BEGIN:VEVENT', 'UID:d', [...Array(n).fill('BEGIN:X-D'), ...Array(n).fill('END:X-D')].join('\r\n'), 'END:VEVENT');
    assert.doesNotThrow(() => checkStructure(nest(MAX_COMPONENT_DEPTH - 2)));
    refused(nest(MAX_COMPONENT_DEPTH - 1), /nest deeper/);
    refused(nest(100_000), /nest deeper/);
  });

  it('a VTIMEZONE ended before its observance is left to the parser (no TypeError here)', () => {
    assert.doesNotThrow(() => checkStructure(vcalendar('BEGIN:VTIMEZONE', 'TZID:X', 'BEGIN:STANDARD', 'END:VTIMEZONE', 'RRULE:FREQ=YEARLY', 'END:STANDARD')));
  });

  it('refuses a bad RRULE anywhere, folded or not, naming the component', () => {
    refused(vcalendar('BEGIN:VTODO', 'UID:t', 'RRULE:FREQ=MONTHLY;', ' BYYEARDAY=1', 'END:VTODO'), /RRULE of VTODO: BYYEARDAY/);
    refused(vcalendar('BEGIN:VEVENT', 'UID:t', 'EXRULE:COUNT=1', 'END:VEVENT'), /EXRULE of VEVENT: FREQ is required/);
  });

  it('refuses time-zone observances finer than monthly, or that change more than once a day', () => {
    for (const freq of ['SECONDLY', 'MINUTELY', 'HOURLY', 'DAILY', 'WEEKLY']) refused(zonedEvent('DTSTART:16010101T000000', `RRULE:FREQ=${freq}`), new RegExp(`recurs ${freq}`));
    refused(zonedEvent('DTSTART:19701025T030000', 'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;BYHOUR=1,2'), /more than once a day/);
  });

  it(`refuses a zone that would expand to more than ${MAX_ZONE_CHANGES} changes; accepts real ones`, () => {
    refused(zonedEvent('DTSTART:16010101T000000', 'RRULE:FREQ=MONTHLY;BYMONTHDAY=1,2,3,4,5,6,7'), /more than 10000 changes/);
    refused(zonedEvent('DTSTART:00010101T000000', 'RRULE:FREQ=YEARLY;BYDAY=SU'), /more than 10000 changes/);
    // Outlook writes its zones from 1601; old US rules as seven month days with a weekday
    assert.doesNotThrow(() => checkStructure(zonedEvent('DTSTART:16011104T020000', 'RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11')));
    assert.doesNotThrow(() => checkStructure(zonedEvent('DTSTART:19671029T020000', 'RRULE:FREQ=YEARLY;BYMONTH=10;BYMONTHDAY=25,26,27,28,29,30,31;BYDAY=SU')));
  });
});

describe('the step budget', () => {
  it('counts nothing outside a budget, and throws StepBudgetExceeded past the limit inside one', () => {
    spend(1e12);
    const budget = new StepBudget(1000);
    assert.throws(() => withBudget(budget, () => { for (;;) spend(); }), StepBudgetExceeded);
    assert.ok(budget.spent > 1000);
  });

  it('bounds parsing and expansion of one object, whatever it holds', () => {
    const text = vcalendar(...Array.from({ length: 2000 }, (_, i) => [`BEGIN:VEVENT`, 'UID:x', `RECURRENCE-ID:2024010${1 + (i % 9)}T${String(i % 24).padStart(2, '0')}0000Z`, 'DTSTART:20240101T000000Z', 'END:VEVENT']).flat());
    assert.throws(() => withBudget(new StepBudget(5000), () => parseCalendarObject(text)), StepBudgetExceeded);
  });
});

describe('bounded time-zone expansion (tz.ts)', () => {
  const outlook = zonedEvent('DTSTART:16011104T020000', 'RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11');
  const at = (year: number) => ICAL.Time.fromData({ year, month: 7, day: 1, hour: 9 });

  it('stops at the horizon and rebuilds rather than appends its changes (no copy per later year)', () => {
    const z = parseCalendarObject(outlook).timezones.get('Test/Zone')!;
    const sizes: number[] = [];
    for (const year of [2024, 2050, 2100, 2150, 9000, 9999]) {
      const t = at(year);
      t.zone = z;
      epochMs(t);
      sizes.push(z.changes.length);
    }
    assert.ok(sizes.at(-1)! <= 2 * (2206 - 1601) + 2, `changes: ${sizes.join(', ')}`);
    assert.equal(sizes.at(-1), sizes.at(-2), `nothing more past the horizon: ${sizes.join(', ')}`);
    // a change count that only grows by the years added (ical.js alone appends a full copy each time)
    for (let i = 1; i < sizes.length; i++) assert.ok(sizes[i]! - sizes[i - 1]! <= 2 * 160, `changes: ${sizes.join(', ')}`);
  });

  it('the zone cache is bounded by bytes, also as zones grow after they are cached', function () {
    this.timeout(120_000);
    // 40 distinct zones, each expanding to over 7,000 changes (monthly since 1800, two observances)
    for (let i = 0; i < 40; i++) {
      const text = vcalendar('BEGIN:VTIMEZONE', `TZID:Big/${i}`, 'BEGIN:STANDARD', 'DTSTART:18000101T020000', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0000',
        'RRULE:FREQ=MONTHLY;BYMONTHDAY=1', 'END:STANDARD', 'BEGIN:DAYLIGHT', 'DTSTART:18000115T020000', 'TZOFFSETFROM:+0000', 'TZOFFSETTO:+0100',
        'RRULE:FREQ=MONTHLY;BYMONTHDAY=15', 'END:DAYLIGHT', 'END:VTIMEZONE', 'BEGIN:VEVENT', 'UID:z', 'DTSTAMP:20240101T000000Z',
        `DTSTART;TZID=Big/${i}:20240101T090000`, 'END:VEVENT');
      const z = parseCalendarObject(text).timezones.get(`Big/${i}`)!;
      const t = at(2100);
      t.zone = z;
      epochMs(t);
      assert.ok(z.changes.length > 7_000, `zone ${i} expanded to ${z.changes.length} changes`);
      const { held, limit } = zoneCacheBytes();
      assert.ok(held <= limit, `zone cache holds ~${held} bytes, over its ${limit}`);
    }
    // 40 zones of over 7,000 changes at 160 bytes each would be over 44 MB: some were evicted
    assert.ok(zoneCacheBytes().held > zoneCacheBytes().limit / 2, 'the estimate counts the expanded changes');
  });

  it('property: random observance rules are refused, or expand within MAX_ZONE_CHANGES and a small budget', function () {
    this.timeout(60_000);
    let seed = 42;
    const rand = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed % n);
    const pick = <T>(xs: T[]) => xs[rand(xs.length)]!;
    const list = (n: number, lo: number, hi: number, signed = false) => Array.from({ length: 1 + rand(n) }, () => (signed && rand(2) ? '-' : '') + String(lo + rand(hi - lo + 1))).join(',');
    let accepted = 0;
    for (let i = 0; i < 300; i++) {
      const parts = [`FREQ=${pick(['SECONDLY', 'MINUTELY', 'HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY', 'YEARLY', 'MONTHLY'])}`];
      if (rand(3) === 0) parts.push(`BYMONTH=${list(12, 1, 12)}`);
      if (rand(3) === 0) parts.push(`BYMONTHDAY=${list(10, 1, 31, true)}`);
      if (rand(3) === 0) parts.push(`BYDAY=${Array.from({ length: 1 + rand(7) }, () => (rand(2) ? String(rand(5) + 1) : '') + pick(['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'])).join(',')}`);
      if (rand(5) === 0) parts.push(`BYYEARDAY=${list(20, 1, 366, true)}`);
      if (rand(5) === 0) parts.push(`BYWEEKNO=${list(20, 1, 53, true)}`);
      if (rand(5) === 0) parts.push(`BYHOUR=${list(3, 0, 23)}`);
      if (rand(6) === 0) parts.push(`BYSETPOS=${list(3, 1, 10, true)}`);
      if (rand(4) === 0) parts.push(`INTERVAL=${1 + rand(3)}`);
      if (rand(4) === 0) parts.push(rand(2) ? `COUNT=${1 + rand(100_000)}` : `UNTIL=${String(1700 + rand(500)).padStart(4, '0')}0101T000000Z`);
      const year = String(1 + rand(2100)).padStart(4, '0');
      const text = zonedEvent(`DTSTART:${year}0301T020000`, `RRULE:${parts.join(';')}`);
      try {
        checkStructure(text);
      } catch (err) {
        assert.ok(err instanceof CalendarPreconditionError, String(err));
        continue;
      }
      accepted++;
      const budget = new StepBudget(2_000_000);
      withBudget(budget, () => {
        const object = parseCalendarObject(text);
        const z = object.timezones.get('Test/Zone')!;
        for (const y of [1900, 2024, 2100, 9999]) {
          const t = at(y);
          t.zone = z;
          epochMs(t);
        }
        assert.ok(z.changes.length <= MAX_ZONE_CHANGES, `${parts.join(';')} from ${year}: ${z.changes.length} changes`);
      });
    }
    assert.ok(accepted > 20, `only ${accepted} of 300 random rules were accepted`);
  });
});

/**
 * Every advance of ical.js's RecurIterator costs budget steps (counted-iterator.ts), including the
 * year and month loops of rules that never yield (review finding 1): before, a BYSETPOS rule spent a
 * second of CPU counting a couple of steps, and such rules were accepted at PUT.
 */
import assert from 'node:assert/strict';
import ICAL from 'ical.js';
import { StepBudget, StepBudgetExceeded, withBudget } from '../../lib/caldav/ical/budget.js';
import { countedIterator } from '../../lib/caldav/ical/counted-iterator.js';
import { CalendarPreconditionError, expandInstances, parseCalendarObject, validateCalendarObject } from '../../lib/caldav/ical/index.js';
import { firstInstanceWithin } from '../../lib/caldav/ical/recurrence.js';

const BYSETPOS_NEVER = 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;BYDAY=MO;BYSETPOS=1';
const FEB_30 = 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30';
const event = (rule: string, start = '20240105T090000Z') => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VEVENT', 'UID:r', 'DTSTAMP:20240101T000000Z',
  `DTSTART:${start}`, 'DURATION:PT1H', `RRULE:${rule}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
const LIMITS = { supportedComponents: ['VEVENT'], maxResourceSize: 1 << 20 };
const start = () => ICAL.Time.fromJSDate(new Date(Date.UTC(2024, 0, 5, 9)), true);

describe('recurrence iterator steps (every advance counted)', () => {
  it('the budget counts iterator steps for a BYSETPOS rule: steps grow with the candidate years tried', () => {
    // ical.js searches year after year for a February 30th; each year expanded costs several steps
    const object = parseCalendarObject(event(BYSETPOS_NEVER));
    const budget = new StepBudget(1e9);
    const expansion = withBudget(budget, () => expandInstances(object, { from: Date.UTC(2024, 0, 1), until: Date.UTC(2025, 0, 1) }));
    assert.equal(expansion.instances.length, 0);
    assert.equal(expansion.truncated, true, 'the per-rule cap stopped the search');
    assert.ok(budget.spent >= 20_000, `spent ${budget.spent} steps (before: 2)`);

    // proportional: a cap of N steps tries about N / 8 years, and the budget sees all of them
    for (const cap of [1_000, 4_000]) {
      const b = new StepBudget(1e9);
      assert.equal(withBudget(b, () => firstInstanceWithin(ICAL.Recur.fromString(BYSETPOS_NEVER), start(), cap)), 'cap');
      assert.ok(b.spent > cap && b.spent <= cap + 20, `cap ${cap}: spent ${b.spent}`);
    }
  });

  it('a small budget ends the search of a rule that never yields, before ical.js walks to the year 20000', () => {
    for (const rule of [BYSETPOS_NEVER, FEB_30, 'FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30']) {
      const b = new StepBudget(500);
      assert.throws(() => withBudget(b, () => firstInstanceWithin(ICAL.Recur.fromString(rule), start(), Infinity)), StepBudgetExceeded, rule);
      assert.ok(b.spent <= 520, `${rule}: ${b.spent}`);
    }
  });

  it('a huge INTERVAL costs steps by the days ical.js walks, counted before it walks them', () => {
    const b = new StepBudget(10_000);
    const iterator = withBudget(b, () => countedIterator(ICAL.Recur.fromString('FREQ=HOURLY;INTERVAL=999999999'), start()));
    withBudget(b, () => iterator.next()); // DTSTART itself
    assert.throws(() => withBudget(b, () => iterator.next()), StepBudgetExceeded);
    assert.ok(b.spent > 41_000, `41 million days: ${b.spent} steps`);
  });

  it('finds the first instance of rare but real rules within the PUT bound', () => {
    for (const rule of ['FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO', 'FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13', 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29',
      'FREQ=MONTHLY;BYMONTHDAY=31', 'FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=-1', 'FREQ=YEARLY;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8;INTERVAL=4']) {
      assert.equal(firstInstanceWithin(ICAL.Recur.fromString(rule), start(), 2_000), 'instance', rule);
      assert.doesNotThrow(() => validateCalendarObject(event(rule), LIMITS), rule);
    }
    assert.equal(firstInstanceWithin(ICAL.Recur.fromString('FREQ=DAILY;UNTIL=20200101T000000Z'), start(), 2_000), 'none');
    // a daily leap day from a March walks ~1,100 days to the next one (~2,200 steps): still accepted
    assert.doesNotThrow(() => validateCalendarObject(event('FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29', '20250301T090000Z'), LIMITS));
  });

  it('refuses at PUT a rule whose first instance is not found: valid-calendar-data "yields no instance"', () => {
    for (const rule of [BYSETPOS_NEVER, FEB_30, 'FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30']) {
      const budget = new StepBudget(1e9);
      assert.throws(() => withBudget(budget, () => validateCalendarObject(event(rule), LIMITS)),
        (e: unknown) => e instanceof CalendarPreconditionError && e.precondition === 'valid-calendar-data' && /yields no instance/.test(e.message), rule);
      assert.ok(budget.spent < 60_000, `${rule}: ${budget.spent} steps`);
    }
  });
});

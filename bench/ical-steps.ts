/**
 * Calibrates limits.maxCalendarSteps: steps and CPU time of the iCalendar work of realistic and
 * hostile requests, computed in-process (no HTTP), so µs per step can be read off. The default should
 * leave realistic requests a wide margin and bound the worst µs/step × budget to a few seconds.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/ical-steps.js
 */
import { generateCalendar, QUERY_RANGE } from './caldav-data.js';
import { busyPeriods, matches, parseCalendarObject, parseQueryFilter, validateCalendarObject, type CalendarObject } from '../lib/caldav/ical/index.js';
import { StepBudget, StepBudgetExceeded, withBudget } from '../lib/caldav/ical/budget.js';
import { parseXml } from '../lib/dav/xml/parse.js';

interface Row {
  name: string;
  steps: number;
  ms: number;
  spent: boolean;
}

function measure(name: string, limit: number, work: () => void): Row {
  const budget = new StepBudget(limit);
  const t0 = process.cpuUsage();
  let spent = false;
  try {
    withBudget(budget, work);
  } catch (err) {
    if (!(err instanceof StepBudgetExceeded)) throw err;
    spent = true;
  }
  const used = process.cpuUsage(t0);
  const ms = (used.user + used.system) / 1000; // CPU time: the VM is shared, wall time would count others' work
  return { name, steps: budget.spent, ms, spent };
}

const ics = (uid: string, rrule: string, start = '20240105T090000Z') =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20240101T000000Z', `DTSTART:${start}`, 'DURATION:PT1H', `RRULE:${rrule}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');

const parseAll = (texts: string[]) => texts.map((t) => parseCalendarObject(t));
const rows: Row[] = [];
const BIG = 1e12;
const LIMIT = Number(process.env.LIMIT ?? 1_000_000);
const year = (y: number) => [new Date(Date.UTC(y, 0, 1)), new Date(Date.UTC(y + 1, 0, 1))] as const;

// realistic: the bench's 10,000 events
const events = generateCalendar(10_000).map((e) => e.ics);
let objects: CalendarObject[] = [];
rows.push(measure('realistic: parse 10,000', BIG, () => (objects = parseAll(events))));
const filterXml = (s: string, e: string) =>
  parseXml(`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="${s}" end="${e}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`);
const month = parseQueryFilter(filterXml('20260301T000000Z', '20260401T000000Z'));
rows.push(measure('realistic: query a month', BIG, () => objects.filter((o) => matches(o, month))));
rows.push(measure('realistic: free-busy a month', BIG, () => busyPeriods(objects, new Date(QUERY_RANGE.start), new Date(QUERY_RANGE.end))));
rows.push(measure('realistic: free-busy 2025-2026', BIG, () => busyPeriods(objects, new Date(Date.UTC(2025, 0, 1)), new Date(Date.UTC(2027, 0, 1)))));
// rows.push(measure('realistic: validate 10,000 (PUT)', BIG, () => events.forEach((t) => validateCalendarObject(t, { supportedComponents: ['VEVENT'], maxResourceSize: 1 << 20 }))));

// hostile: 50 stored objects of each rule, free-busy over a year, until the budget (5 M) is spent
const hostile: Record<string, string> = {
  'YEARLY BYMONTH=2;BYMONTHDAY=30': 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30',
  'YEARLY ...;BYDAY=MO;BYSETPOS=1': 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;BYDAY=MO;BYSETPOS=1',
  'YEARLY all BYxxx lists': `FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYMONTHDAY=${Array.from({ length: 31 }, (_, i) => i + 1).join(',')};BYDAY=MO,TU,WE,TH,FR,SA,SU;BYSETPOS=-1`,
  'DAILY BYMONTH=2;BYMONTHDAY=30': 'FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30',
  'HOURLY INTERVAL=999999999': 'FREQ=HOURLY;INTERVAL=999999999',
  'SECONDLY': 'FREQ=SECONDLY',
  'MONTHLY BYDAY=FR;BYMONTHDAY=13': 'FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13',
};
for (const [name, rule] of Object.entries(hostile)) {
  let stored: CalendarObject[] = [];
  withBudget(new StepBudget(BIG), () => (stored = Array.from({ length: 50 }, (_, i) => parseCalendarObject(ics(`h${i}`, rule)))));
  const [s, e] = year(2024);
  rows.push(measure(`hostile x50 free-busy: ${name}`, LIMIT, () => busyPeriods(stored, s, e)));
  const q = parseQueryFilter(filterXml('20240101T000000Z', '20250101T000000Z'));
  rows.push(measure(`hostile x50 query: ${name}`, LIMIT, () => stored.filter((o) => matches(o, q))));
  rows.push(measure(`hostile PUT: ${name}`, LIMIT, () => {
    try {
      validateCalendarObject(ics('p', rule), { supportedComponents: ['VEVENT'], maxResourceSize: 1 << 20 });
    } catch (err) {
      if (err instanceof StepBudgetExceeded) throw err;
    }
  }));
}

for (const r of rows) {
  const us = r.steps ? ((r.ms * 1000) / r.steps).toFixed(2) : '-';
  console.log(`${r.name.padEnd(52)} ${String(r.steps).padStart(10)} steps ${r.ms.toFixed(0).padStart(7)} ms CPU ${us.padStart(7)} µs/step${r.spent ? '  (budget spent)' : ''}`);
}

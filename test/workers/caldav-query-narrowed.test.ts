/**
 * calendar-query narrowed by the interval index (git: lib/caldav/state/calendar-members.ts) answers
 * as a full scan does, on events whose bounds are tricky: an endless rule, overridden instances (one
 * moved far away), floating times, all-day, zero length touching a range's end, a VTODO without
 * DTSTART or DUE, one with DUE only, a VJOURNAL. The scan is the folder backend's path, which lists
 * every member and tests each (the path before the index). Each query is asked twice on git: the
 * first fills the kept members and bounds, the second answers from them.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { http, serveWorkers, stopAfterEach, type Served } from './helpers.js';

const oneEach = new Agent({ keepAlive: false });
const CAL = '/calendars/user/calendar/';

const cal = (...lines: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', ...lines, 'END:VCALENDAR', ''].join('\r\n');
const EVENTS: Record<string, string> = {
  'endless.ics': cal('BEGIN:VEVENT', 'UID:endless', 'DTSTAMP:20240101T000000Z', 'DTSTART:20240101T090000Z', 'DURATION:PT1H', 'RRULE:FREQ=WEEKLY', 'END:VEVENT'),
  'override.ics': cal(
    'BEGIN:VEVENT', 'UID:override', 'DTSTAMP:20240101T000000Z', 'DTSTART:20240201T100000Z', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;COUNT=5', 'END:VEVENT',
    'BEGIN:VEVENT', 'UID:override', 'DTSTAMP:20240101T000000Z', 'RECURRENCE-ID:20240203T100000Z', 'DTSTART:20240615T100000Z', 'DURATION:PT1H', 'END:VEVENT',
  ),
  'endless-override.ics': cal(
    'BEGIN:VEVENT', 'UID:endless-override', 'DTSTAMP:20240101T000000Z', 'DTSTART:20200101T080000Z', 'DURATION:PT30M', 'RRULE:FREQ=YEARLY', 'END:VEVENT',
    'BEGIN:VEVENT', 'UID:endless-override', 'DTSTAMP:20240101T000000Z', 'RECURRENCE-ID:20240101T080000Z', 'DTSTART:20240310T080000Z', 'DURATION:PT30M', 'END:VEVENT',
  ),
  'floating.ics': cal('BEGIN:VEVENT', 'UID:floating', 'DTSTAMP:20240101T000000Z', 'DTSTART:20240331T233000', 'DTEND:20240401T003000', 'END:VEVENT'),
  'allday.ics': cal('BEGIN:VEVENT', 'UID:allday', 'DTSTAMP:20240101T000000Z', 'DTSTART;VALUE=DATE:20240401', 'END:VEVENT'),
  'zero.ics': cal('BEGIN:VEVENT', 'UID:zero', 'DTSTAMP:20240101T000000Z', 'DTSTART:20240401T000000Z', 'DTEND:20240401T000000Z', 'END:VEVENT'),
  'march.ics': cal('BEGIN:VEVENT', 'UID:march', 'DTSTAMP:20240101T000000Z', 'DTSTART:20240315T100000Z', 'DURATION:PT1H', 'END:VEVENT'),
  'todo-open.ics': cal('BEGIN:VTODO', 'UID:todo-open', 'DTSTAMP:20240101T000000Z', 'SUMMARY:no dates', 'END:VTODO'),
  'todo-due.ics': cal('BEGIN:VTODO', 'UID:todo-due', 'DTSTAMP:20240101T000000Z', 'DUE:20240320T120000Z', 'END:VTODO'),
  'journal.ics': cal('BEGIN:VJOURNAL', 'UID:journal', 'DTSTAMP:20240101T000000Z', 'DTSTART;VALUE=DATE:20240305', 'END:VJOURNAL'),
};

const query = (comp: string, start: string, end: string) =>
  `<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="${comp}"><C:time-range start="${start}" end="${end}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`;
const RANGES: [string, string, string][] = [
  ['VEVENT', '20240301T000000Z', '20240401T000000Z'],
  ['VEVENT', '20240331T000000Z', '20240401T000000Z'],
  ['VEVENT', '20240401T000000Z', '20240401T000001Z'],
  ['VEVENT', '20240401T003000Z', '20240402T000000Z'],
  ['VEVENT', '20240203T000000Z', '20240204T000000Z'],
  ['VEVENT', '20240615T000000Z', '20240616T000000Z'],
  ['VEVENT', '20300101T000000Z', '20300108T000000Z'],
  ['VEVENT', '20191201T000000Z', '20191231T000000Z'],
  ['VTODO', '20240301T000000Z', '20240401T000000Z'],
  ['VTODO', '20250101T000000Z', '20250102T000000Z'],
  ['VJOURNAL', '20240305T000000Z', '20240306T000000Z'],
  ['VJOURNAL', '20240306T000000Z', '20240307T000000Z'],
];

describe('calendar-query narrowed by the interval index answers as a full scan (git against folders)', function () {
  this.timeout(180_000);
  let git: Served | undefined;
  let fs: Served | undefined;
  stopAfterEach(() => git, () => (git = undefined));
  stopAfterEach(() => fs, () => (fs = undefined));

  it('on endless rules, overrides, floating, all-day, zero-length, VTODO and VJOURNAL', async () => {
    const base = await mkdtemp(join(tmpdir(), 'gitdav-narrow-'));
    git = await serveWorkers(['--root', join(base, 'git'), '--backend', 'git', '--workers', '1']);
    fs = await serveWorkers(['--root', join(base, 'fs'), '--backend', 'fs', '--workers', '1']);
    for (const s of [git, fs]) {
      for (const [name, body] of Object.entries(EVENTS)) {
        const r = await http(s.url, CAL + name, { method: 'PUT', body, headers: { 'Content-Type': 'text/calendar; charset=utf-8' }, agent: oneEach });
        assert.ok(r.status === 201 || r.status === 204, `PUT ${name}: ${r.status} ${r.body.toString()}`);
      }
    }
    const names = async (s: Served, body: string) => {
      const r = await http(s.url, CAL, { method: 'REPORT', body, headers: { Depth: '1', 'Content-Type': 'application/xml' }, agent: oneEach });
      assert.equal(r.status, 207, r.body.toString());
      return [...r.body.toString().matchAll(/<D:href>[^<]*\/([^/<]+\.ics)<\/D:href>/g)].map((m) => m[1]!).sort();
    };
    let nonEmpty = 0;
    for (const [comp, start, end] of RANGES) {
      const body = query(comp, start, end);
      const scan = await names(fs, body);
      if (scan.length) nonEmpty++;
      if (process.env.NARROW_DEBUG) console.log(comp, start, end, scan.join(" "));
      assert.deepEqual(await names(git, body), scan, `${comp} ${start}/${end} (first)`);
      assert.deepEqual(await names(git, body), scan, `${comp} ${start}/${end} (again)`);
    }
    // Empty by design: the instance moved away (20240203), before the first (2019), the journal's next day.
    assert.equal(nonEmpty, RANGES.length - 3, 'the other ranges do find events');
  });
});

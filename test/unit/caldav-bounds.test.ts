/**
 * Object bounds (lib/caldav/ical/bounds.ts) and the calendar-query prefilter built on them
 * (prefilter.ts): the bounds of each kind of object, and the one property that matters — whenever
 * `matches` says yes, the prefilter says yes too (fixtures × fixture queries × many ranges × zones).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseCalendarObject } from '../../lib/caldav/ical/object.js';
import { objectBounds, mayOverlap, FLOATING_MARGIN, UNTIL_MAX_INSTANCES, type Span } from '../../lib/caldav/ical/bounds.js';
import { boundsPrefilter, exactFilter } from '../../lib/caldav/ical/prefilter.js';
import { matches, parseFilter, type CalendarFilter } from '../../lib/caldav/ical/filter.js';
import { parseTimezone } from '../../lib/caldav/ical/tz.js';
import { StepBudget, withBudget } from '../../lib/caldav/ical/budget.js';
import { parseXml } from '../../lib/dav/xml/parse.js';
import { ics, loadCalendarFixtures, VTIMEZONE_BERLIN, VTIMEZONE_NEW_YORK } from '../helpers/fixtures.js';

const T = (s: string) => Date.parse(s.replace(/^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2}))?Z?$/, (_, y, mo, d, h = '00', mi = '00', se = '00') => `${y}-${mo}-${d}T${h}:${mi}:${se}Z`));
const H = 3_600_000;
const DAY = 24 * H;

function bounds(...lines: string[]) {
  return objectBounds(parseCalendarObject(ics(...lines)));
}
const event = (...props: string[]) => ['BEGIN:VEVENT', 'UID:b', 'DTSTAMP:20240101T000000Z', ...props, 'END:VEVENT'];
const todo = (...props: string[]) => ['BEGIN:VTODO', 'UID:b', 'DTSTAMP:20240101T000000Z', ...props, 'END:VTODO'];
const span = (lo: number, hi: number): Span => ({ lo, hi });

const C = 'xmlns:C="urn:ietf:params:xml:ns:caldav"';
const filterXml = (inner: string) => parseFilter(parseXml(`<C:filter ${C}><C:comp-filter name="VCALENDAR">${inner}</C:comp-filter></C:filter>`));
const rangeXml = (start: number, end: number) => `<C:time-range start="${utc(start)}" end="${utc(end)}"/>`;
const utc = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

describe('CalDAV object bounds (the persisted index\'s prefilter)', () => {
  describe('bounds of one object', () => {
    it('a zoned event: DTSTART..DTEND in UTC, no margin', () => {
      const b = bounds(VTIMEZONE_BERLIN, ...event('DTSTART;TZID=Europe/Berlin:20240301T100000', 'DTEND;TZID=Europe/Berlin:20240301T113000'));
      assert.deepEqual(b.span, span(T('20240301T090000Z'), T('20240301T103000Z')));
      assert.equal(b.uid, 'b');
      assert.equal(b.type, 'VEVENT');
    });

    it('DURATION and no end at all (an instant)', () => {
      assert.deepEqual(bounds(...event('DTSTART:20240301T100000Z', 'DURATION:PT2H')).span, span(T('20240301T100000Z'), T('20240301T120000Z')));
      assert.deepEqual(bounds(...event('DTSTART:20240301T100000Z')).span, span(T('20240301T100000Z'), T('20240301T100000Z')));
    });

    it('all-day and floating events widen by the floating margin (the request picks their zone)', () => {
      const allDay = bounds(...event('DTSTART;VALUE=DATE:20240301', 'DTEND;VALUE=DATE:20240303'));
      assert.deepEqual(allDay.span, span(T('20240301') - FLOATING_MARGIN, T('20240303') + FLOATING_MARGIN));
      const floating = bounds(...event('DTSTART:20240301T100000', 'DTEND:20240301T110000'));
      assert.deepEqual(floating.span, span(T('20240301T100000Z') - FLOATING_MARGIN, T('20240301T110000Z') + FLOATING_MARGIN));
    });

    it('RRULE with COUNT: first start to last end, in the zone across DST', () => {
      const b = bounds(VTIMEZONE_NEW_YORK, ...event('DTSTART;TZID=America/New_York:20240301T090000', 'DTEND;TZID=America/New_York:20240301T100000', 'RRULE:FREQ=WEEKLY;COUNT=3'));
      // 1 Mar is EST (14:00Z), 15 Mar EDT (13:00Z)
      assert.deepEqual(b.span, span(T('20240301T140000Z'), T('20240315T140000Z')));
    });

    it('RRULE with COUNT is expanded: EXDATE removing the last instance moves the end', () => {
      const rule = ['DTSTART:20240301T100000Z', 'DTEND:20240301T110000Z', 'RRULE:FREQ=DAILY;COUNT=5'];
      assert.deepEqual(bounds(...event(...rule)).span, span(T('20240301T100000Z'), T('20240305T110000Z')));
      assert.deepEqual(bounds(...event(...rule, 'EXDATE:20240305T100000Z')).span, span(T('20240301T100000Z'), T('20240304T110000Z')));
    });

    it('RRULE with UNTIL is expanded: first start to last end (a DATE UNTIL: through that day), with its gaps', () => {
      for (const until of ['20240305T100000Z', '20240305']) {
        const b = bounds(...event('DTSTART:20240301T100000Z', 'DTEND:20240301T110000Z', `RRULE:FREQ=DAILY;UNTIL=${until}`));
        assert.deepEqual(b.span, span(T('20240301T100000Z'), T('20240305T110000Z')), until);
        assert.equal(b.gaps, 23 * H);
      }
    });

    it(`RRULE with UNTIL and more than ${UNTIL_MAX_INSTANCES} instances is bounded without expansion: DTSTART to UNTIL, plus slack`, () => {
      for (const until of ['20260305T100000Z', '20260305']) {
        const b = bounds(...event('DTSTART:20240301T100000Z', 'DTEND:20240301T110000Z', `RRULE:FREQ=DAILY;UNTIL=${until}`));
        assert.ok(b.span.lo <= T('20240301T100000Z') && b.span.lo >= T('20240301T100000Z') - 3 * DAY, `lo ${new Date(b.span.lo).toISOString()}`);
        assert.ok(b.span.hi >= T('20260305T235959Z') && b.span.hi <= T('20260305') + 6 * DAY, `hi ${new Date(b.span.hi).toISOString()}`);
        assert.equal(b.gaps, undefined);
      }
    });

    it('an UNTIL far beyond DTSTART (in periods) is not expanded: a rule that never yields costs no iterator walk', () => {
      const steps = (rrule: string) => {
        const budget = new StepBudget(1e9);
        const b = withBudget(budget, () => bounds(...event('DTSTART:20240301T100000Z', 'DTEND:20240301T110000Z', `RRULE:${rrule}`)));
        return { steps: budget.spent, b };
      };
      const far = steps('FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;UNTIL=99991231T000000Z');
      assert.ok(far.steps < 100, `${far.steps} steps`);
      assert.equal(far.b.span.hi >= T('99991231T000000Z'), true, 'bounded from UNTIL');
      // Within UNTIL_MAX_INSTANCES periods it is expanded (and found empty), at a bounded cost.
      const near = steps(`FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;UNTIL=${2024 + UNTIL_MAX_INSTANCES - 2}1231T000000Z`);
      assert.ok(near.b.span.lo > near.b.span.hi, 'no instance: empty');
      assert.ok(near.steps < 20 * UNTIL_MAX_INSTANCES, `${near.steps} steps`);
      // A daily rule one period past the cap: bounded without expansion.
      const days = steps(`FREQ=DAILY;UNTIL=${utc(T('20240301T100000Z') + (UNTIL_MAX_INSTANCES + 1) * DAY)}`);
      assert.equal(days.b.gaps, undefined);
      assert.ok(days.steps < 100, `${days.steps} steps`);
    });

    it('an endless RRULE: open at the end, DTSTART (less slack) at the start; alarms follow it', () => {
      const b = bounds(...event('DTSTART:20240301T100000Z', 'DTEND:20240301T110000Z', 'RRULE:FREQ=WEEKLY', 'BEGIN:VALARM', 'ACTION:DISPLAY', 'DESCRIPTION:x', 'TRIGGER:-PT15M', 'END:VALARM'));
      assert.equal(b.span.hi, Infinity);
      assert.ok(b.span.lo <= T('20240301T100000Z') && b.span.lo > T('20240201T000000Z'), `lo ${new Date(b.span.lo).toISOString()}`);
      assert.ok(b.alarms.lo <= T('20240301T094500Z') && b.alarms.hi === Infinity);
      const cut = bounds(...event('DTSTART:20240301T100000Z', 'RRULE:FREQ=DAILY;COUNT=5000'));
      assert.equal(cut.span.hi, Infinity, 'COUNT beyond the expansion cap');
    });

    it('an RDATE before DTSTART, and an RDATE period longer than the event', () => {
      const b = bounds(...event('DTSTART:20240301T100000Z', 'DTEND:20240301T110000Z', 'RDATE:20240201T100000Z', 'RDATE;VALUE=PERIOD:20240401T100000Z/20240403T000000Z'));
      assert.deepEqual(b.span, span(T('20240201T100000Z'), T('20240403T000000Z')));
    });

    it('an override moving an instance outside the master\'s span counts where it went', () => {
      const b = bounds(
        ...event('DTSTART:20240301T100000Z', 'DTEND:20240301T110000Z', 'RRULE:FREQ=DAILY;COUNT=3'),
        ...event('RECURRENCE-ID:20240303T100000Z', 'DTSTART:20240610T100000Z', 'DTEND:20240610T110000Z'),
      );
      assert.deepEqual(b.span, span(T('20240301T100000Z'), T('20240610T110000Z')));
      const earlier = bounds(
        ...event('DTSTART:20240301T100000Z', 'DTEND:20240301T110000Z', 'RRULE:FREQ=DAILY;COUNT=3'),
        ...event('RECURRENCE-ID:20240301T100000Z', 'DTSTART:20231225T100000Z', 'DTEND:20231225T110000Z'),
      );
      assert.deepEqual(earlier.span, span(T('20231225T100000Z'), T('20240303T110000Z')));
    });

    it('an object of overrides only (an invitation to some instances)', () => {
      const b = bounds(...event('RECURRENCE-ID:20240303T100000Z', 'DTSTART:20240303T120000Z', 'DTEND:20240303T130000Z'));
      assert.deepEqual(b.span, span(T('20240303T120000Z'), T('20240303T130000Z')));
    });

    it('VTODO: DTSTART+DUE, DUE only, CREATED only (open end), no dates (open)', () => {
      assert.deepEqual(bounds(...todo('DTSTART:20240301T100000Z', 'DUE:20240305T100000Z')).span, span(T('20240301T100000Z'), T('20240305T100000Z')));
      assert.deepEqual(bounds(...todo('DUE:20240305T100000Z')).span, span(T('20240305T100000Z'), T('20240305T100000Z')));
      assert.deepEqual(bounds(...todo('CREATED:20240101T000000Z')).span, span(T('20240101T000000Z'), Infinity));
      assert.deepEqual(bounds(...todo('CREATED:20240101T000000Z', 'COMPLETED:20240110T000000Z')).span, span(T('20240101T000000Z'), T('20240110T000000Z')));
      assert.deepEqual(bounds(...todo('SUMMARY:someday')).span, span(-Infinity, Infinity));
    });

    it('VJOURNAL: a DATE covers its day; without DTSTART it can never match a time-range', () => {
      const day = bounds('BEGIN:VJOURNAL', 'UID:j', 'DTSTAMP:20240101T000000Z', 'DTSTART;VALUE=DATE:20240301', 'END:VJOURNAL');
      assert.deepEqual(day.span, span(T('20240301') - FLOATING_MARGIN, T('20240302') + FLOATING_MARGIN));
      const none = bounds('BEGIN:VJOURNAL', 'UID:j', 'DTSTAMP:20240101T000000Z', 'SUMMARY:note', 'END:VJOURNAL');
      assert.equal(mayOverlap(none.span, { start: -Infinity, end: Infinity }), false);
    });

    it('VALARM: relative triggers (with REPEAT) and absolute ones, per instance', () => {
      const b = bounds(
        ...event('DTSTART:20240301T100000Z', 'DTEND:20240301T110000Z', 'RRULE:FREQ=DAILY;COUNT=2',
          'BEGIN:VALARM', 'ACTION:DISPLAY', 'DESCRIPTION:x', 'TRIGGER:-P1D', 'REPEAT:2', 'DURATION:PT1H', 'END:VALARM',
          'BEGIN:VALARM', 'ACTION:DISPLAY', 'DESCRIPTION:y', 'TRIGGER;VALUE=DATE-TIME:20240101T000000Z', 'END:VALARM'),
      );
      assert.deepEqual(b.span, span(T('20240301T100000Z'), T('20240302T110000Z')));
      assert.deepEqual(b.alarms, span(T('20240101T000000Z'), T('20240301T120000Z')));
      assert.equal(mayOverlap(bounds(...event('DTSTART:20240301T100000Z')).alarms, { start: -Infinity, end: Infinity }), false, 'no alarms');
    });

    it('VFREEBUSY: DTSTART..DTEND, else its FREEBUSY periods', () => {
      const fb = (...p: string[]) => bounds('BEGIN:VFREEBUSY', 'UID:f', 'DTSTAMP:20240101T000000Z', ...p, 'END:VFREEBUSY');
      assert.deepEqual(fb('DTSTART:20240301T000000Z', 'DTEND:20240308T000000Z').span, span(T('20240301T000000Z'), T('20240308T000000Z')));
      assert.deepEqual(fb('FREEBUSY:20240302T100000Z/PT1H,20240305T100000Z/20240305T120000Z').span, span(T('20240302T100000Z'), T('20240305T120000Z')));
    });
  });

  describe('the prefilter', () => {
    const b = bounds(...event('DTSTART:20240301T100000Z', 'DTEND:20240301T110000Z'));

    it('asks for the type, the time-range and nested VALARM time-ranges; nothing else', () => {
      const inMarch = rangeXml(T('20240301'), T('20240401'));
      const inApril = rangeXml(T('20240401'), T('20240501'));
      assert.equal(boundsPrefilter(filterXml(`<C:comp-filter name="VEVENT">${inMarch}</C:comp-filter>`))!(b), true);
      assert.equal(boundsPrefilter(filterXml(`<C:comp-filter name="VEVENT">${inApril}</C:comp-filter>`))!(b), false);
      assert.equal(boundsPrefilter(filterXml(`<C:comp-filter name="VTODO"/>`))!(b), false);
      assert.equal(boundsPrefilter(filterXml(`<C:comp-filter name="VEVENT"><C:comp-filter name="VALARM">${inMarch}</C:comp-filter></C:comp-filter>`))!(b), false, 'no alarm');
      assert.equal(boundsPrefilter(filterXml(`<C:comp-filter name="VTODO"><C:is-not-defined/></C:comp-filter>`)), null);
      assert.equal(boundsPrefilter(filterXml(`<C:prop-filter name="PRODID"/>`)), null);
    });

    it('never rejects an object that matches (fixtures × fixture queries × ranges × zones)', function () {
      this.timeout(60_000);
      const fixtures = loadCalendarFixtures();
      const objects = fixtures.objects.map((f) => ({ name: f.name, object: parseCalendarObject(f.text) }));
      const zones = [null, ...['Pacific/Kiritimati', 'Etc/GMT+12', 'Europe/Berlin', 'America/New_York'].map((z) => parseTimezone(tzText(z)))];
      const filters: CalendarFilter[] = fixtures.queries.map((q) => {
        if (q.filter) return parseFilter(parseXml(q.filter));
        const { component, start, end } = q.timeRange!;
        const attrs = [start && `start="${start}"`, end && `end="${end}"`].filter(Boolean).join(' ');
        return filterXml(`<C:comp-filter name="${component}"><C:time-range ${attrs}/></C:comp-filter>`);
      });
      let checked = 0;
      const check = (filter: CalendarFilter) => {
        const pre = boundsPrefilter(filter);
        if (!pre) return;
        for (const { name, object } of objects) {
          const b = objectBounds(object);
          for (const floatingTimezone of zones) {
            if (matches(object, filter, { floatingTimezone })) {
              checked++;
              assert.ok(pre(b), `${name} matches but the prefilter rejects it`);
            }
          }
        }
      };
      for (const f of filters) check(f);
      // Random ranges (some instants, some years) on each component type, with and without VALARM.
      const start = T('20230101');
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 4 * 365 * 24 }),
          fc.integer({ min: 1, max: 24 * 400 }),
          fc.constantFrom('VEVENT', 'VTODO', 'VJOURNAL'),
          fc.boolean(),
          (hour, hours, type, alarm) => {
            const r = rangeXml(start + hour * H, start + (hour + hours) * H);
            check(filterXml(alarm ? `<C:comp-filter name="${type}"><C:comp-filter name="VALARM">${r}</C:comp-filter></C:comp-filter>` : `<C:comp-filter name="${type}">${r}</C:comp-filter>`));
          },
        ),
        { numRuns: 300, seed: 4791 },
      );
      assert.ok(checked > 50, `only ${checked} matches were checked`);
    });
  });

  describe('exact bounds: a single event judged without parsing', () => {
    const monthOf = (m: string) => filterXml(`<C:comp-filter name="VEVENT">${rangeXml(T(`2024${m}01`), T(`2024${m}01`) + 31 * DAY)}</C:comp-filter>`);

    it('are set on one non-floating VEVENT instance (UTC, zoned, DURATION, an instant), and only there', () => {
      const exact = (...lines: string[]) => bounds(...lines).exact === true;
      assert.ok(exact(...event('DTSTART:20240301T100000Z', 'DTEND:20240301T110000Z')));
      assert.ok(exact(VTIMEZONE_BERLIN, ...event('DTSTART;TZID=Europe/Berlin:20240301T100000', 'DURATION:PT90M')));
      assert.ok(exact(...event('DTSTART:20240301T100000Z')), 'an instant');
      assert.ok(!exact(...event('DTSTART:20240301T100000', 'DTEND:20240301T110000')), 'floating');
      assert.ok(!exact(...event('DTSTART;VALUE=DATE:20240301')), 'a DATE');
      assert.ok(!exact(...event('DTSTART:20240301T100000Z', 'DTEND:20240301T110000Z', 'RRULE:FREQ=DAILY;COUNT=2')), 'RRULE');
      assert.ok(!exact(...event('DTSTART:20240301T100000Z', 'RDATE:20240310T100000Z')), 'RDATE');
      assert.ok(!exact(...event('DTSTART:20240301T100000Z', 'EXDATE:20240301T100000Z')), 'EXDATE');
      assert.ok(!exact(...event('DTSTART:20240301T100000Z', 'DTEND:20240301T090000Z')), 'ends before it starts');
      assert.ok(!exact(...event('DTSTART:20240301T100000Z', 'DTEND:20240301T110000Z', 'BEGIN:VALARM', 'ACTION:DISPLAY', 'DESCRIPTION:x', 'TRIGGER;VALUE=DATE-TIME:20240301T090000', 'END:VALARM')), 'a floating alarm');
      assert.ok(!exact(...todo('DTSTART:20240301T100000Z', 'DUE:20240301T110000Z')), 'a VTODO');
      assert.ok(!exact(...event('DTSTART:20240301T100000Z'), 'BEGIN:VEVENT', 'UID:b', 'DTSTAMP:20240101T000000Z', 'RECURRENCE-ID:20240301T100000Z', 'DTSTART:20240302T100000Z', 'END:VEVENT'), 'an override');
    });

    it('decide only VCALENDAR › VEVENT › time-range, nothing more', () => {
      const r = rangeXml(T('20240301'), T('20240401'));
      assert.ok(exactFilter(monthOf('03')));
      assert.equal(exactFilter(filterXml(`<C:comp-filter name="VTODO">${r}</C:comp-filter>`)), null);
      assert.equal(exactFilter(filterXml(`<C:comp-filter name="VEVENT"/>`)), null);
      assert.equal(exactFilter(filterXml(`<C:comp-filter name="VEVENT">${r}<C:prop-filter name="SUMMARY"/></C:comp-filter>`)), null);
      assert.equal(exactFilter(filterXml(`<C:comp-filter name="VEVENT">${r}<C:comp-filter name="VALARM"/></C:comp-filter>`)), null);
      assert.equal(exactFilter(filterXml(`<C:comp-filter name="VEVENT">${r}</C:comp-filter><C:prop-filter name="PRODID"/>`)), null);
      assert.equal(exactFilter(filterXml(`<C:comp-filter name="VEVENT"><C:is-not-defined/></C:comp-filter>`)), null);
      const recurring = bounds(...event('DTSTART:20240301T100000Z', 'RRULE:FREQ=DAILY;COUNT=2'));
      assert.equal(exactFilter(monthOf('03'))!(recurring), undefined, 'not exact: evaluated in full');
    });

    it('give the verdict matches gives, whenever they give one (random events × random ranges × zones)', () => {
      const zones = [null, parseTimezone(tzText('Pacific/Kiritimati')), parseTimezone(tzText('America/New_York'))];
      const base = T('20240301');
      const utcOf = (ms: number) => utc(ms);
      let decided = 0;
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 24 * 60 }), // start, minutes after base (~a day)
          fc.constantFrom('end', 'duration', 'none'),
          fc.integer({ min: 0, max: 24 * 60 }), // length, minutes (0: an instant)
          fc.constantFrom('Z', 'Europe/Berlin', 'America/New_York'),
          fc.integer({ min: -26 * 60, max: 26 * 60 }), // range start, minutes from base
          fc.integer({ min: 1, max: 30 * 60 }), // range length, minutes
          fc.integer({ min: 0, max: 2 }),
          (startMin, endKind, lengthMin, zone, rangeMin, rangeLen, z) => {
            const s = base + startMin * 60_000;
            const local = (ms: number) => utcOf(ms).replace('Z', '');
            const dt = (name: string, ms: number) => (zone === 'Z' ? `${name}:${utcOf(ms)}` : `${name};TZID=${zone}:${local(ms)}`);
            const props = [dt('DTSTART', s)];
            if (endKind === 'end') props.push(dt('DTEND', s + lengthMin * 60_000));
            if (endKind === 'duration') props.push(`DURATION:PT${lengthMin}M`);
            const tz = zone === 'Europe/Berlin' ? [VTIMEZONE_BERLIN] : zone === 'America/New_York' ? [VTIMEZONE_NEW_YORK] : [];
            const object = parseCalendarObject(ics(...tz, ...event(...props)));
            const b = objectBounds(object);
            assert.equal(b.exact, true);
            const start = base + rangeMin * 60_000;
            const filter = filterXml(`<C:comp-filter name="VEVENT">${rangeXml(start, start + rangeLen * 60_000)}</C:comp-filter>`);
            const verdict = exactFilter(filter)!(b);
            assert.notEqual(verdict, undefined);
            if (verdict) decided++;
            assert.equal(verdict, matches(object, filter, { floatingTimezone: zones[z] }));
          },
        ),
        { numRuns: 2000, seed: 4791 },
      );
      assert.ok(decided > 100, `only ${decided} hits`);
    });

    it('a finite series: its gaps; decided where the range meets its span and outlasts them, as matches decides', () => {
      const weekly = bounds(...event('DTSTART:20240301T100000Z', 'DTEND:20240301T110000Z', 'RRULE:FREQ=WEEKLY;COUNT=4'));
      assert.equal(weekly.exact, undefined);
      assert.equal(weekly.gaps, 7 * DAY - H);
      assert.equal(bounds(...event('DTSTART:20240301T100000Z', 'RRULE:FREQ=WEEKLY;COUNT=4')).gaps, undefined, 'instants');
      assert.equal(bounds(...event('DTSTART:20240301T100000Z', 'DURATION:PT1H', 'RRULE:FREQ=WEEKLY;UNTIL=20240401T000000Z')).gaps, 7 * DAY - H, 'UNTIL');
      assert.equal(bounds(...event('DTSTART:20240301T100000Z', 'DURATION:PT1H', 'RRULE:FREQ=WEEKLY')).gaps, undefined, 'endless');
      assert.equal(bounds(...event('DTSTART:20240301T100000', 'DURATION:PT1H', 'RRULE:FREQ=WEEKLY;COUNT=4')).gaps, undefined, 'floating');
      const f = exactFilter(monthOf('03'))!;
      assert.equal(f(weekly), true);
      assert.equal(exactFilter(filterXml(`<C:comp-filter name="VEVENT">${rangeXml(T('20240302'), T('20240303'))}</C:comp-filter>`))!(weekly), undefined, 'within a gap maybe: parsed');
      assert.equal(exactFilter(monthOf('03'), 999)!(weekly), undefined, 'a query expanding fewer instances than the bounds did decides nothing from gaps');
    });

    it('give the verdict matches gives for series too (random COUNT and UNTIL rules, EXDATEs, overrides, zones × ranges)', () => {
      const base = T('20240301');
      let decided = 0;
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 24 * 60 }),
          fc.integer({ min: 1, max: 3 * 24 * 60 }), // length, minutes
          fc.constantFrom('DAILY', 'WEEKLY'),
          fc.integer({ min: 1, max: 3 }), // interval
          fc.integer({ min: 1, max: 12 }), // count, or as many until UNTIL
          fc.boolean(), // UNTIL instead of COUNT
          fc.option(fc.integer({ min: 0, max: 11 })), // EXDATE of that instance
          fc.option(fc.tuple(fc.integer({ min: 0, max: 11 }), fc.integer({ min: -5 * 24 * 60, max: 5 * 24 * 60 }))), // an override moved by minutes
          fc.constantFrom('Z', 'Europe/Berlin'),
          fc.integer({ min: -10 * 24 * 60, max: 120 * 24 * 60 }),
          fc.integer({ min: 1, max: 40 * 24 * 60 }),
          (startMin, lengthMin, freq, interval, count, byUntil, exIndex, override, zone, rangeMin, rangeLen) => {
            const step = (freq === 'DAILY' ? 1 : 7) * interval * DAY;
            const s = base + startMin * 60_000;
            const local = (ms: number) => utc(ms).replace('Z', '');
            const dt = (name: string, ms: number) => (zone === 'Z' ? `${name}:${utc(ms)}` : `${name};TZID=${zone}:${local(ms)}`);
            const master = ['BEGIN:VEVENT', 'UID:s', 'DTSTAMP:20240101T000000Z', dt('DTSTART', s), `DURATION:PT${lengthMin}M`, `RRULE:FREQ=${freq};INTERVAL=${interval};${byUntil ? `UNTIL=${utc(s + (count - 1) * step + 3_600_000)}` : `COUNT=${count}`}`];
            if (exIndex !== null && exIndex < count) master.push(dt('EXDATE', s + exIndex * step));
            master.push('END:VEVENT');
            const lines = [...(zone === 'Z' ? [] : [VTIMEZONE_BERLIN]), ...master];
            if (override && override[0] < count && override[0] !== exIndex) {
              const rid = s + override[0] * step;
              lines.push('BEGIN:VEVENT', 'UID:s', 'DTSTAMP:20240101T000000Z', dt('RECURRENCE-ID', rid), dt('DTSTART', rid + override[1] * 60_000), `DURATION:PT${lengthMin}M`, 'END:VEVENT');
            }
            const object = parseCalendarObject(ics(...lines));
            const b = objectBounds(object);
            const start = base + rangeMin * 60_000;
            const filter = filterXml(`<C:comp-filter name="VEVENT">${rangeXml(start, start + rangeLen * 60_000)}</C:comp-filter>`);
            const verdict = exactFilter(filter)!(b);
            if (verdict === undefined) return;
            decided++;
            assert.equal(verdict, matches(object, filter), `${lines.join(' | ')} [${utc(start)}, +${rangeLen} min) bounds ${JSON.stringify(b)}`);
          },
        ),
        { numRuns: 2000, seed: 4791 },
      );
      assert.ok(decided > 500, `only ${decided} decided`);
    });

    it('a range that ends where an event starts, or starts where it ends (the edges of §9.9)', () => {
      const b = bounds(...event('DTSTART:20240301T100000Z', 'DTEND:20240301T110000Z'));
      const instant = bounds(...event('DTSTART:20240301T100000Z'));
      const f = (a: string, z: string) => exactFilter(filterXml(`<C:comp-filter name="VEVENT">${rangeXml(T(a), T(z))}</C:comp-filter>`))!;
      assert.equal(f('20240301T090000Z', '20240301T100000Z')(b), false);
      assert.equal(f('20240301T110000Z', '20240301T120000Z')(b), false);
      assert.equal(f('20240301T105959Z', '20240301T120000Z')(b), true);
      assert.equal(f('20240301T100000Z', '20240301T100001Z')(instant), true, 'start <= DTSTART');
      assert.equal(f('20240301T090000Z', '20240301T100000Z')(instant), false, 'end > DTSTART');
    });
  });
});

/** A one-offset-or-DST VTIMEZONE for CALDAV:timezone, as clients send it. */
function tzText(zone: string): string {
  const vtz: Record<string, string> = {
    'Pacific/Kiritimati': 'BEGIN:VTIMEZONE\r\nTZID:Pacific/Kiritimati\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+1400\r\nTZOFFSETTO:+1400\r\nEND:STANDARD\r\nEND:VTIMEZONE',
    'Etc/GMT+12': 'BEGIN:VTIMEZONE\r\nTZID:Etc/GMT+12\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:-1200\r\nTZOFFSETTO:-1200\r\nEND:STANDARD\r\nEND:VTIMEZONE',
    'Europe/Berlin': VTIMEZONE_BERLIN.replace(/\n/g, '\r\n'),
    'America/New_York': VTIMEZONE_NEW_YORK.replace(/\n/g, '\r\n'),
  };
  return `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n${vtz[zone]}\r\nEND:VCALENDAR\r\n`;
}

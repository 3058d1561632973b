/**
 * Property-based fuzzing of the pure parsers with fast-check, a bounded number of cases each (CI runs
 * them): whatever the input, a parser returns or throws its own error type — no other exception
 * escapes. A hang is caught by mocha's generous test timeout alone (it also fails a synchronous test
 * that ran past it): no case is timed, since speed is measured in bench/ and a loaded CI machine made
 * a per-case bound flaky. Inputs mix random text with the grammar's own
 * pieces, so the cases reach deep into each parser rather than failing on the first byte.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIfHeader, IfHeaderSyntaxError } from '../../lib/dav/if-header.js';
import { parseContentRange, parseRange } from '../../lib/dav/range.js';
import { BadPathError, encodePath, parsePath } from '../../lib/dav/paths.js';
import { parseXml, XmlParseError } from '../../lib/dav/xml/parse.js';
import { parseHttpDate } from '../../lib/dav/http-date.js';
import { parseQueryFilter, matches, parseCalendarObject, validateCalendarObject, CalendarPreconditionError, CalendarQueryError } from '../../lib/caldav/ical/index.js';
import { parseHtpasswd } from '../../lib/auth/htpasswd.js';
import { shaCrypt } from '../../lib/auth/sha-crypt.js';

const RUNS = Number(process.env.GITDAV_FUZZ_RUNS ?? 400);

/** Text built from a grammar's tokens and random noise. */
const tokens = (parts: string[], maxLength = 40) =>
  fc.array(fc.oneof(fc.constantFrom(...parts), fc.string({ maxLength: 6 }), fc.fullUnicodeString({ maxLength: 3 })), { maxLength }).map((xs) => xs.join(''));

/** Runs `fn`; allowed error classes pass, anything else fails the property. */
function survives(fn: () => unknown, ...allowed: Array<new (...a: never[]) => Error>): void {
  try {
    fn();
  } catch (err) {
    if (!allowed.some((A) => err instanceof A)) throw err;
  }
}

describe('fuzz: pure parsers (fast-check)', function () {
  this.timeout(120_000);

  it('If header', () => {
    const input = tokens(['(', ')', '<', '>', '[', ']', 'Not', ' ', '"etag"', 'W/"x"', '<urn:uuid:1>', '<http://h/a>', '<opaquelocktoken:abc>', '\t']);
    fc.assert(fc.property(input, (h) => survives(() => parseIfHeader(h), IfHeaderSyntaxError)), { numRuns: RUNS });
  });

  it('Range and Content-Range', () => {
    const input = tokens(['bytes=', 'bytes ', '-', ',', '0', '1', '99999999999999999999', ' ', '*', '/', 'items=']);
    fc.assert(
      fc.property(input, fc.nat(), (h, size) =>
        survives(() => {
          const r = parseRange(h, size);
          if (r.kind === 'ranges') for (const x of r.ranges) assert.ok(x.start >= 0 && x.end >= x.start && x.end < size, JSON.stringify(x));
          const c = parseContentRange(h);
          if (c) assert.ok(Number.isSafeInteger(c.start) && c.end >= c.start);
        }),
      ),
      { numRuns: RUNS },
    );
  });

  it('path normaliser: never a path that climbs, holds NUL or an encoded separator', () => {
    const input = tokens(['/', '..', '.', '%2e', '%2E', '%2f', '%2F', '%5c', '%00', '%', '%zz', '%c0%ae', 'a', '~', '%20', '\\', '//', '?', '#']);
    fc.assert(
      fc.property(input, (raw) =>
        survives(() => {
          const p = parsePath('/' + raw).path;
          assert.ok(p.startsWith('/'));
          assert.ok(!p.split('/').some((s) => s === '..' || s === '.'), p);
          assert.ok(!p.includes('\0') && !p.includes('//'), p);
          assert.equal(parsePath(encodePath(p)).path, p, 'encode → parse is the identity');
        }, BadPathError),
      ),
      { numRuns: RUNS },
    );
  });

  it('XML → request model: no DTDs or entities, bounded depth', () => {
    const input = tokens(['<', '>', '</', '/>', '<D:prop xmlns:D="DAV:">', '</D:prop>', '<!DOCTYPE x [<!ENTITY a "b">]>', '&a;', '&amp;', '<![CDATA[', ']]>', '<?xml version="1.0"?>', 'xmlns="urn:x"', '"', "'", '=', 'x'], 60);
    fc.assert(fc.property(input, (xml) => survives(() => parseXml(xml, { maxDepth: 16 }), XmlParseError)), { numRuns: RUNS });
    const deep = '<a>'.repeat(10_000) + '</a>'.repeat(10_000);
    survives(() => parseXml(deep, { maxDepth: 64 }), XmlParseError);
  });

  it('HTTP dates', () => {
    const input = tokens(['Sun, ', '06 Nov 1994 ', '08:49:37 GMT', 'Sunday, 06-Nov-94 08:49:37 GMT', 'Sun Nov  6 08:49:37 1994', '99', 'Feb', ' ', ':']);
    fc.assert(fc.property(input, (d) => survives(() => {
      const t = parseHttpDate(d);
      assert.ok(t === null || Number.isFinite(t));
    })), { numRuns: RUNS });
  });

  it('calendar-query filters and time-ranges, evaluated against a real object', () => {
    const object = parseCalendarObject(['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', 'BEGIN:VEVENT', 'UID:u', 'DTSTAMP:20260101T000000Z', 'DTSTART:20260105T100000Z', 'DURATION:PT1H', 'RRULE:FREQ=DAILY;COUNT=50', 'SUMMARY:Fuzz', 'BEGIN:VALARM', 'ACTION:DISPLAY', 'TRIGGER:-PT15M', 'END:VALARM', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n'));
    const stamp = fc.oneof(fc.constantFrom('20260101T000000Z', '20260110T000000Z', '2026', 'T', '20261301T000000Z', '99991231T235959Z', ''), fc.string({ maxLength: 18 }));
    const leaf = fc.oneof(
      fc.tuple(stamp, stamp).map(([s, e]) => `<C:time-range start="${s}" end="${e}"/>`),
      stamp.map((s) => `<C:time-range start="${s}"/>`),
      fc.constantFrom('<C:is-not-defined/>', '<C:text-match collation="i;ascii-casemap">fuzz</C:text-match>', '<C:text-match negate-condition="yes" collation="i;bogus">x</C:text-match>', '<C:bogus/>'),
    );
    const filter = fc.letrec((tie) => ({
      comp: fc.tuple(fc.constantFrom('VCALENDAR', 'VEVENT', 'VTODO', 'VALARM', 'X'), fc.array(fc.oneof(leaf, tie('comp'), tie('prop')), { maxLength: 3 })).map(([n, kids]) => `<C:comp-filter name="${n}">${kids.join('')}</C:comp-filter>`),
      prop: fc.tuple(fc.constantFrom('SUMMARY', 'DTSTART', 'UID', 'X-NONE'), fc.array(fc.oneof(leaf, tie('param')), { maxLength: 2 })).map(([n, kids]) => `<C:prop-filter name="${n}">${kids.join('')}</C:prop-filter>`),
      param: fc.tuple(fc.constantFrom('TZID', 'VALUE'), fc.array(leaf, { maxLength: 1 })).map(([n, kids]) => `<C:param-filter name="${n}">${kids.join('')}</C:param-filter>`),
    })).comp;
    fc.assert(
      fc.property(filter, (f) =>
        survives(() => {
          const body = parseXml(`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter>${f}</C:filter></C:calendar-query>`);
          const parsed = parseQueryFilter(body);
          matches(object, parsed, { maxInstances: 500 });
        }, CalendarQueryError, XmlParseError),
      ),
      { numRuns: RUNS },
    );
  });

  it('iCalendar input: validation answers a precondition, never another error', () => {
    const lines = ['BEGIN:VCALENDAR', 'END:VCALENDAR', 'VERSION:2.0', 'PRODID:x', 'BEGIN:VEVENT', 'END:VEVENT', 'BEGIN:VTODO', 'END:VTODO', 'UID:a', 'UID:b', 'DTSTAMP:20260101T000000Z', 'DTSTART:20260101T100000Z', 'DTSTART;VALUE=DATE:20260101', 'DTSTART;TZID=Nowhere/City:20260101T100000', 'DTEND:20250101T000000Z', 'DURATION:-P1D', 'RRULE:FREQ=SECONDLY', 'RRULE:FREQ=DAILY;COUNT=3', 'RRULE:FREQ=YEARLY;BYDAY=99MO', 'EXDATE:garbage', 'RECURRENCE-ID:20260102T100000Z', 'BEGIN:VALARM', 'TRIGGER:-PT5M', 'END:VALARM', 'BEGIN:VCARD', 'END:VCARD', ' folded', 'X-Ünïcode:☃'];
    const input = fc.array(fc.oneof(fc.constantFrom(...lines), fc.string({ maxLength: 12 })), { maxLength: 30 }).map((ls) => ls.join('\r\n') + '\r\n');
    fc.assert(
      fc.property(input, (text) =>
        survives(() => validateCalendarObject(text, { supportedComponents: ['VEVENT', 'VTODO'], maxResourceSize: 1 << 20, maxInstances: 500, minDateTime: new Date('1900-01-01Z'), maxDateTime: new Date('2100-01-01Z') }), CalendarPreconditionError),
      ),
      { numRuns: RUNS },
    );
  });

  it('htpasswd files and SHA-crypt settings', () => {
    fc.assert(fc.property(tokens(['alice', ':', '\n', '\r\n', '#', '$2y$10$', '{SHA}', '$5$', '$6$rounds=', '1000', '$']), (text) => survives(() => {
      parseHtpasswd(text);
      shaCrypt('pw', text.slice(0, 60));
    })), { numRuns: RUNS });
  });
});

/**
 * CalDAV over HTTP on both backends: the fixture calendars (Google/Apple/Outlook-shaped) are PUT into
 * one calendar, every fixture query runs as a calendar-query REPORT, and bad input gets its
 * precondition while the calendar stays unchanged.
 */
import assert from 'node:assert/strict';
import { raw, startTestServer, type BackendName, type TestServer } from '../helpers/server.js';
import { loadCalendarFixtures, ics } from '../helpers/fixtures.js';
import { parseXml, elements, textOf } from '../../lib/dav/xml/parse.js';

const C = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"';
const fixtures = loadCalendarFixtures();
const fileName = (name: string) => name.replace('/', '--');

/** The hrefs (→ names) a calendar-query answers. */
async function query(s: TestServer, filter: string, extraProp = ''): Promise<{ status: number; names: string[]; text: string }> {
  const body = `<?xml version="1.0"?><C:calendar-query ${C}><D:prop><D:getetag/>${extraProp}</D:prop>${filter}</C:calendar-query>`;
  const r = await raw(s.url, '/calendars/user/calendar/', { method: 'REPORT', headers: { Depth: '1' }, body });
  if (r.status !== 207) return { status: r.status, names: [], text: r.text };
  const names = elements(parseXml(r.text)).map((resp) => textOf(elements(resp).find((e) => e.local === 'href')!).split('/').pop()!.replace('--', '/'));
  return { status: r.status, names: names.sort(), text: r.text };
}

function timeRangeFilter(q: { component: string; start?: string; end?: string }): string {
  const attrs = [q.start && `start="${q.start}"`, q.end && `end="${q.end}"`].filter(Boolean).join(' ');
  return `<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="${q.component}"><C:time-range ${attrs}/></C:comp-filter></C:comp-filter></C:filter>`;
}

for (const backend of ['fs', 'git'] as BackendName[]) {
  describe(`CalDAV REPORTs and validation (${backend} backend)`, function () {
    this.timeout(60_000);
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ backend, caldav: true });
      for (const f of fixtures.objects) {
        const r = await raw(s.url, `/calendars/user/calendar/${fileName(f.name)}`, { method: 'PUT', body: f.text, headers: { 'Content-Type': 'text/calendar; charset=utf-8', 'If-None-Match': '*' } });
        assert.equal(r.status, 201, `${f.name}: ${r.text}`);
      }
    });
    after(() => s.close());

    for (const q of fixtures.queries) {
      it(`RFC 4791 §7.8 calendar-query: ${q.name}`, async () => {
        const filter = q.filter ?? timeRangeFilter(q.timeRange!);
        const r = await query(s, filter.replace(/^<C:filter xmlns:C="urn:ietf:params:xml:ns:caldav">/, '<C:filter>'));
        assert.equal(r.status, 207, r.text);
        assert.deepEqual(r.names, [...q.expected].sort());
      });
    }

    it('§9.6.5 expand: instances in UTC with RECURRENCE-ID and no RRULE left', async () => {
      const e = fixtures.expansions[0]!;
      const r = await query(s, timeRangeFilter({ component: 'VEVENT', start: e.start, end: e.end }), `<C:calendar-data><C:expand start="${e.start}" end="${e.end}"/></C:calendar-data>`);
      const mine = r.text.split('<D:response>').find((part) => part.includes(fileName(e.file)))!;
      assert.ok(mine, `${e.file} is in the answer`);
      assert.doesNotMatch(mine, /RRULE|EXDATE|RDATE/);
      for (const inst of e.expected) assert.ok(mine.includes(`RECURRENCE-ID${/^\d{8}$/.test(inst.recurrenceId) ? ';VALUE=DATE' : ''}:${inst.recurrenceId}`), `instance ${inst.recurrenceId}`);
      assert.equal((mine.match(/BEGIN:VEVENT/g) ?? []).length, e.expected.length);
    });

    it('§7.10 free-busy-query answers a VFREEBUSY with the busy periods', async () => {
      const f = fixtures.freeBusy[0]!;
      const r = await raw(s.url, '/calendars/user/calendar/', { method: 'REPORT', headers: { Depth: '1' }, body: `<C:free-busy-query ${C}><C:time-range start="${f.start}" end="${f.end}"/></C:free-busy-query>` });
      assert.equal(r.status, 200);
      assert.match(r.headers['content-type'] as string, /^text\/calendar/);
      for (const period of f.expected) {
        const [type, span] = period.split(' ') as [string, string];
        assert.ok(r.text.replace(/\r\n /g, '').includes(span), `${type} ${span}`);
      }
    });

    it('objects report getcontenttype text/calendar with their component', async () => {
      const r = await raw(s.url, '/calendars/user/calendar/apple--dentist.ics', { method: 'PROPFIND', headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:getcontenttype/></D:prop></D:propfind>' });
      assert.match(r.text, /<D:getcontenttype>text\/calendar; charset=utf-8; component=vevent<\/D:getcontenttype>/);
    });

    describe('bad input: its precondition or 400, the calendar unchanged, the server fast', () => {
      const listing = async () => (await raw(s.url, '/calendars/user/calendar/', { method: 'PROPFIND', headers: { Depth: '1' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>' })).text;
      const put = (name: string, body: string | Buffer, type = 'text/calendar') => raw(s.url, `/calendars/user/calendar/${name}`, { method: 'PUT', body, headers: { 'Content-Type': type } });
      let before: string;
      beforeEach(async () => (before = await listing()));
      afterEach(async () => assert.equal(await listing(), before, 'the calendar is unchanged'));

      it('invalid iCalendar → 403 valid-calendar-data', async () => {
        const r = await put('bad.ics', 'BEGIN:VCALENDAR\r\nthis is not icalendar\r\n');
        assert.equal(r.status, 403);
        assert.match(r.text, /valid-calendar-data/);
      });
      it('two UIDs in one resource → 403 valid-calendar-object-resource', async () => {
        const two = ics('BEGIN:VEVENT', 'UID:a', 'DTSTAMP:20260101T000000Z', 'DTSTART:20260101T100000Z', 'END:VEVENT', 'BEGIN:VEVENT', 'UID:b', 'DTSTAMP:20260101T000000Z', 'DTSTART:20260102T100000Z', 'END:VEVENT');
        const r = await put('two.ics', two);
        assert.equal(r.status, 403);
        assert.match(r.text, /valid-calendar-object-resource/);
      });
      it('a VCARD into a calendar → 403', async () => {
        const r = await put('card.ics', 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Someone\r\nEND:VCARD\r\n', 'text/vcard');
        assert.equal(r.status, 403);
      });
      it('a UID another object has → 409 no-uid-conflict naming it', async () => {
        const dentist = fixtures.objects.find((f) => f.name === 'apple/dentist.ics')!;
        const r = await put('copy-of-dentist.ics', dentist.text);
        assert.equal(r.status, 409);
        assert.match(r.text, /<x\d+:no-uid-conflict[^>]*><D:href>\/calendars\/user\/calendar\/apple--dentist.ics<\/D:href>/);
      });
      it('a 50 MB event → 403 max-resource-size, refused before it is read whole', async () => {
        const r = await put('huge.ics', Buffer.alloc(50 * 1024 * 1024, 'x'));
        assert.equal(r.status, 403);
        assert.match(r.text, /max-resource-size/);
      });
      it('FREQ=SECONDLY with no end is stored, and queries over it stay fast', async () => {
        const secondly = ics('BEGIN:VEVENT', 'UID:secondly', 'DTSTAMP:20260101T000000Z', 'DTSTART:20260101T000000Z', 'DURATION:PT1S', 'RRULE:FREQ=SECONDLY', 'END:VEVENT');
        assert.equal((await put('secondly.ics', secondly)).status, 201);
        before = await listing();
        const t0 = Date.now();
        const r = await query(s, timeRangeFilter({ component: 'VEVENT', start: '20300101T000000Z', end: '20300102T000000Z' }));
        assert.equal(r.status, 207);
        assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
        assert.equal((await raw(s.url, '/calendars/user/calendar/secondly.ics', { method: 'DELETE' })).status, 204);
        before = await listing();
      });
      it('a time-range with start after end → 400; an unknown filter element → 403', async () => {
        assert.equal((await query(s, timeRangeFilter({ component: 'VEVENT', start: '20270101T000000Z', end: '20260101T000000Z' }))).status, 400);
        const unknown = await query(s, '<C:filter><C:comp-filter name="VCALENDAR"><C:no-such-filter/></C:comp-filter></C:filter>');
        assert.ok([400, 403].includes(unknown.status), String(unknown.status));
        assert.equal((await query(s, '')).status, 400, 'no filter at all');
      });
    });
  });
}

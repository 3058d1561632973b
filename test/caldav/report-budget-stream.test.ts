/**
 * calendar-multiget and sync-collection stream their 207 (member-report.ts, dav/reports/sync-collection.ts):
 * a step budget (limits.maxCalendarSteps) spent after a response is out ends the answer cleanly with a
 * 507 number-of-matches-within-limits for the collection, as calendar-query does; spent before any,
 * the request is a 507 itself. A bad calendar-data request is its 4xx before the 207 starts, whatever
 * the first href is. Both backends, real server.
 */
import assert from 'node:assert/strict';
import { raw, startTestServer, XML, type TestServer } from '../helpers/server.js';
import { forEachBackend } from '../helpers/backends.js';

const CAL = '/calendars/user/calendar/';
const NSS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"';
const ICS = { 'Content-Type': 'text/calendar; charset=utf-8' };
const event = (uid: string, rrule?: string) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//t//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20240101T000000Z', 'DTSTART:20200102T100000Z', 'DURATION:PT1H', `SUMMARY:${uid}`,
    ...(rrule ? [`RRULE:${rrule}`] : []), 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
const hrefsOf = (text: string) => [...text.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]);
const EXPAND = '<C:calendar-data><C:expand start="20200101T000000Z" end="20300101T000000Z"/></C:calendar-data>';
const DAILY = ['d1', 'd2', 'd3', 'd4', 'd5'];

forEachBackend((backend) => {
  describe(`CalDAV streamed REPORTs and the step budget (${backend} backend)`, function () {
    this.timeout(60_000);
    let s: TestServer;
    const errors: string[] = []; // the server's error-level log lines
    const logger = { debug() {}, info() {}, warn() {}, error: (msg: string) => void errors.push(msg) };
    const report = (body: string, path = CAL, depth = '1') => raw(s.url, path, { method: 'REPORT', headers: { ...XML, Depth: depth }, body });
    const multiget = (prop: string, names: string[]) =>
      report(`<?xml version="1.0"?><C:calendar-multiget ${NSS}><D:prop><D:getetag/>${prop}</D:prop>${names.map((n) => `<D:href>${CAL}${n}.ics</D:href>`).join('')}</C:calendar-multiget>`);

    before(async () => {
      s = await startTestServer({ backend, caldav: true, logger, dav: { limits: { maxCalendarSteps: 50_000 } as never } });
      for (const uid of ['a', ...DAILY]) {
        const r = await raw(s.url, `${CAL}${uid}.ics`, { method: 'PUT', body: event(uid, uid === 'a' ? undefined : 'FREQ=DAILY'), headers: ICS });
        assert.equal(r.status, 201, `${uid}: ${r.text}`);
      }
      assert.equal((await raw(s.url, '/notes/', { method: 'MKCOL' })).status, 201);
      assert.equal((await raw(s.url, '/notes/n.txt', { method: 'PUT', body: 'a note' })).status, 201);
    });
    after(() => s.close());

    it('calendar-multiget whose budget runs out after the first response: a complete 207 ending in a 507 for the calendar', async () => {
      const r = await multiget(EXPAND, ['a', ...DAILY]);
      assert.equal(r.status, 207, r.text.slice(0, 500));
      assert.match(r.text, /<\/D:multistatus>\n$/, 'the body is complete, not cut');
      const hrefs = hrefsOf(r.text);
      assert.equal(hrefs[0], `${CAL}a.ics`);
      assert.equal(hrefs.at(-1), CAL, 'the last response is for the calendar');
      assert.ok(hrefs.length < 7, 'the budget did run out');
      assert.match(r.text, /<D:href>\/calendars\/user\/calendar\/<\/D:href><D:status>HTTP\/1.1 507 Insufficient Storage<\/D:status><D:error><D:number-of-matches-within-limits\/><\/D:error>/);
      // The server goes on serving (the connection was not cut under it), and logged no error for it.
      assert.equal((await raw(s.url, `${CAL}a.ics`)).status, 200);
      assert.deepEqual(errors, []);
    });

    it('calendar-multiget whose budget runs out on its first response: the request is a 507', async () => {
      const low = await startTestServer({ backend, caldav: true, dav: { limits: { maxCalendarSteps: 5_000 } as never } });
      try {
        assert.equal((await raw(low.url, `${CAL}d1.ics`, { method: 'PUT', body: event('d1', 'FREQ=DAILY'), headers: ICS })).status, 201);
        const r = await raw(low.url, CAL, { method: 'REPORT', headers: { ...XML, Depth: '1' }, body: `<?xml version="1.0"?><C:calendar-multiget ${NSS}><D:prop><D:getetag/>${EXPAND}</D:prop><D:href>${CAL}d1.ics</D:href></C:calendar-multiget>` });
        assert.equal(r.status, 507, r.text.slice(0, 500));
        assert.match(r.text, /number-of-matches-within-limits/);
        assert.match(r.text, /maxCalendarSteps/);
      } finally {
        await low.close();
      }
    });

    it('sync-collection whose budget runs out after the first response: a complete 207, a 507 for the calendar, and a token to ask again from', async () => {
      const sync = (token: string) => report(`<?xml version="1.0"?><D:sync-collection ${NSS}><D:sync-token>${token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/>${EXPAND}</D:prop></D:sync-collection>`, CAL, '0');
      const r = await sync('');
      assert.equal(r.status, 207, r.text.slice(0, 500));
      assert.match(r.text, /<\/D:multistatus>\n$/, 'the body is complete, not cut');
      assert.equal(hrefsOf(r.text).at(-1), CAL);
      assert.match(r.text, /<D:href>\/calendars\/user\/calendar\/<\/D:href><D:status>HTTP\/1.1 507 Insufficient Storage<\/D:status><D:error><D:number-of-matches-within-limits\/><\/D:error>/);
      const token = /<D:sync-token>([^<]+)<\/D:sync-token>/.exec(r.text)?.[1];
      assert.ok(token, 'a sync-token in the answer');
      assert.deepEqual(errors, []);
      // The token is for the state before this answer: asking again from it lists every object again.
      const again = await report(`<?xml version="1.0"?><D:sync-collection ${NSS}><D:sync-token>${token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`, CAL, '0');
      assert.equal(again.status, 207, again.text);
      assert.equal(hrefsOf(again.text).filter((h) => h!.endsWith('.ics')).length, 6);
    });

    it('a bad calendar-data request is refused before the 207, even when the first href is missing', async () => {
      const json = await multiget('<C:calendar-data content-type="application/calendar+json"/>', ['missing', 'a']);
      assert.equal(json.status, 403, json.text.slice(0, 500));
      assert.match(json.text, /supported-calendar-data/);
      const noEnd = await multiget('<C:calendar-data><C:expand start="20200101T000000Z"/></C:calendar-data>', ['missing', 'a']);
      assert.equal(noEnd.status, 400, noEnd.text.slice(0, 500));
      // sync-collection checks it up front too, whatever its members are (here no calendar object at all).
      const sync = await report(`<?xml version="1.0"?><D:sync-collection ${NSS}><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/><C:calendar-data content-type="application/calendar+json"/></D:prop></D:sync-collection>`, '/notes/', '0');
      assert.equal(sync.status, 403, sync.text.slice(0, 500));
      assert.match(sync.text, /supported-calendar-data/);
    });
  });
});

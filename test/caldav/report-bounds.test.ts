/**
 * calendar-multiget and calendar-query share CardDAV's streamed, bounded answers
 * (caldav/reports/member-report.ts): each distinct href once, a 507 number-of-matches-within-limits
 * past limits.maxReportBytes. Both backends, real server.
 */
import assert from 'node:assert/strict';
import { raw, startTestServer, XML, type TestServer } from '../helpers/server.js';
import { forEachBackend } from '../helpers/backends.js';

const CAL = '/calendars/user/calendar/';
const NSS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"';
const event = (uid: string, kib: number) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//t//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20240101T000000Z', 'DTSTART:20240102T100000Z', 'DURATION:PT1H', `SUMMARY:${uid}`,
    `DESCRIPTION:${'x'.repeat(kib * 1024)}`.match(/.{1,74}/g)!.join('\r\n '), 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
const hrefsOf = (text: string) => [...text.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]);

forEachBackend((backend) => {
  describe(`CalDAV REPORT bounds (${backend} backend)`, function () {
    this.timeout(60_000);
    let s: TestServer;
    const report = (body: string) => raw(s.url, CAL, { method: 'REPORT', headers: { ...XML, Depth: '1' }, body });

    before(async () => {
      s = await startTestServer({ backend, caldav: true, dav: { limits: { maxReportBytes: 250_000 } as never } });
      for (const uid of ['e1', 'e2', 'e3']) {
        const r = await raw(s.url, `${CAL}${uid}.ics`, { method: 'PUT', body: event(uid, 100), headers: { 'Content-Type': 'text/calendar; charset=utf-8' } });
        assert.equal(r.status, 201, uid);
      }
    });
    after(() => s.close());

    it('calendar-multiget answers each distinct href once', async () => {
      const hrefs = Array.from({ length: 500 }, (_, i) => `<D:href>${i % 2 ? `${s.url}${CAL}e1.ics` : `${CAL}e1.ics`}</D:href>`).join('');
      const r = await report(`<?xml version="1.0"?><C:calendar-multiget ${NSS}><D:prop><D:getetag/><C:calendar-data/></D:prop>${hrefs}</C:calendar-multiget>`);
      assert.equal(r.status, 207);
      assert.deepEqual(hrefsOf(r.text), [`${CAL}e1.ics`]);
    });

    it('calendar-multiget and calendar-query past limits.maxReportBytes end with a 507 for the calendar', async () => {
      const mg = await report(`<?xml version="1.0"?><C:calendar-multiget ${NSS}><D:prop><C:calendar-data/></D:prop>${['e1', 'e2', 'e3'].map((u) => `<D:href>${CAL}${u}.ics</D:href>`).join('')}</C:calendar-multiget>`);
      assert.deepEqual(hrefsOf(mg.text), [`${CAL}e1.ics`, `${CAL}e2.ics`, CAL]);
      assert.match(mg.text, /507[\s\S]*number-of-matches-within-limits/);
      const q = await report(`<?xml version="1.0"?><C:calendar-query ${NSS}><D:prop><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`);
      assert.equal(hrefsOf(q.text).length, 3);
      assert.equal(hrefsOf(q.text).at(-1), CAL);
      assert.match(q.text, /507[\s\S]*number-of-matches-within-limits/);
      // Within the budget: every event, no 507.
      const small = await report(`<?xml version="1.0"?><C:calendar-query ${NSS}><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`);
      assert.equal(hrefsOf(small.text).length, 3);
      assert.doesNotMatch(small.text, /507/);
    });
  });
});

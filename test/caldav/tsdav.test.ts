/** A real CalDAV client library (npm tsdav) against the real server, on both backends. */
import assert from 'node:assert/strict';
import { DAVClient, type DAVCalendar } from 'tsdav';
import { raw, startTestServer, type BackendName, type TestServer } from '../helpers/server.js';

const event = (uid: string, summary: string, start = '20261201T100000Z', end = '20261201T110000Z') =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//gitdav tests//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20261101T000000Z', `DTSTART:${start}`, `DTEND:${end}`, `SUMMARY:${summary}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');

// git also with the default 2 s bursts: the client's flow reads an overlay with uncommitted records.
for (const [backend, bursts] of [['fs', false], ['git', false], ['git', true]] as Array<[BackendName, boolean]>) {
  describe(`real client: tsdav (${backend} backend${bursts ? ', 2 s bursts' : ''})`, function () {
    this.timeout(30_000);
    let s: TestServer;
    let client: DAVClient;
    let calendar: DAVCalendar;

    before(async () => {
      s = await startTestServer({ backend, caldav: true, ...(bursts ? { git: { burstWindowMs: 2000 } } : {}) });
      client = new DAVClient({ serverUrl: `${s.url}/`, credentials: { username: 'user', password: 'x' }, authMethod: 'Basic', defaultAccountType: 'caldav' });
      await client.login();
    });
    after(() => s.close());

    it('discovers the principal and calendar home from the bare root URL', async () => {
      assert.equal(client.account?.principalUrl, `${s.url}/principals/user/`);
      assert.equal(client.account?.homeUrl, `${s.url}/calendars/user/`);
      const calendars = await client.fetchCalendars();
      assert.deepEqual(calendars.map((c) => c.url), [`${s.url}/calendars/user/calendar/`]);
      assert.equal(calendars[0]!.displayName, 'Calendar');
      assert.ok(calendars[0]!.components?.includes('VEVENT'));
    });

    it('creates a calendar (MKCALENDAR) with a name and a colour', async () => {
      await client.makeCalendar({ url: `${s.url}/calendars/user/work/`, props: { displayname: 'Work', 'ca:calendar-color': '#ff0000' } as never });
      const calendars = await client.fetchCalendars();
      calendar = calendars.find((c) => c.url.endsWith('/work/'))!;
      assert.equal(calendar.displayName, 'Work');
      assert.equal(calendar.calendarColor, '#ff0000');
      assert.ok(calendar.ctag, 'a getctag');
      assert.ok(calendar.syncToken, 'a sync-token');
    });

    it('PUT/GET/update/delete with strong ETags and If-Match', async () => {
      const created = await client.createCalendarObject({ calendar, filename: 'dentist.ics', iCalString: event('dentist-1', 'Dentist') });
      assert.equal(created.status, 201);
      const etag = created.headers.get('etag')!;
      assert.match(etag, /^"[^"]+"$/);
      const got = await raw(s.url, '/calendars/user/work/dentist.ics');
      assert.equal(got.text, event('dentist-1', 'Dentist'), 'the client’s bytes, unchanged');
      assert.equal(got.headers.etag, etag);
      assert.equal(got.headers['content-type'], 'text/calendar; charset=utf-8; component=vevent');

      const stale = await client.updateCalendarObject({ calendarObject: { url: `${calendar.url}dentist.ics`, data: event('dentist-1', 'Dentist (moved)'), etag: '"stale"' } });
      assert.equal(stale.status, 412);
      const ok = await client.updateCalendarObject({ calendarObject: { url: `${calendar.url}dentist.ics`, data: event('dentist-1', 'Dentist (moved)'), etag } });
      assert.equal(ok.status, 204);
      const again = await client.createCalendarObject({ calendar, filename: 'dentist.ics', iCalString: event('dentist-1', 'dup') });
      assert.equal(again.status, 412, 'If-None-Match: * on an existing object');
    });

    it('calendar-multiget returns calendar-data and a 404 for a missing href', async () => {
      await client.createCalendarObject({ calendar, filename: 'b.ics', iCalString: event('b-1', 'B') });
      const objects = await client.calendarMultiGet({
        url: calendar.url,
        props: { 'd:getetag': {}, 'c:calendar-data': {} } as never,
        objectUrls: [`${calendar.url}dentist.ics`, `${new URL(calendar.url).pathname}b.ics`],
        depth: '1',
      });
      const byUrl = new Map(objects.map((o) => [o.href, o]));
      assert.match(String((byUrl.get('/calendars/user/work/b.ics')!.props as Record<string, unknown>).calendarData), /SUMMARY:B/);
      assert.match(String((byUrl.get('/calendars/user/work/dentist.ics')!.props as Record<string, unknown>).calendarData), /Dentist \(moved\)/);
      // tsdav throws on any 404 inside a multiget, so the missing href is checked by hand.
      const body = `<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><D:href>${s.url}/calendars/user/work/b.ics</D:href><D:href>/calendars/user/work/missing%20one.ics</D:href></C:calendar-multiget>`;
      const r = await raw(s.url, '/calendars/user/work/', { method: 'REPORT', headers: { Depth: '1' }, body });
      assert.equal(r.status, 207);
      assert.match(r.text, /<D:href>\/calendars\/user\/work\/b.ics<\/D:href><D:propstat>/);
      assert.match(r.text, /<D:href>\/calendars\/user\/work\/missing%20one.ics<\/D:href><D:status>HTTP\/1.1 404 Not Found/);
    });

    it('sync-collection reports updates and deletions since the last sync', async () => {
      const [before] = (await client.fetchCalendars()).filter((c) => c.url === calendar.url);
      await client.createCalendarObject({ calendar, filename: 'c.ics', iCalString: event('c-1', 'C') });
      await client.deleteCalendarObject({ calendarObject: { url: `${calendar.url}b.ics` } });
      const res = await client.syncCollection({ url: calendar.url, props: { 'd:getetag': {} } as never, syncLevel: 1, syncToken: before!.syncToken as string });
      const hrefs = res.map((r) => `${r.href} ${r.status === 404 ? 'removed' : 'changed'}`).sort();
      assert.deepEqual(hrefs, ['/calendars/user/work/b.ics removed', '/calendars/user/work/c.ics changed']);
    });
  });
}

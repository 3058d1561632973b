/** CalDAV beyond the core REPORTs: webcal GET, git commit messages, discovery REPORTs, DST queries. */
import assert from 'node:assert/strict';
import { DAVClient } from 'tsdav';
import { forEachBackend } from '../helpers/backends.js';
import { raw, startTestServer, type BackendName, type TestServer } from '../helpers/server.js';
import { tool } from '../helpers/tools.js';

const BERLIN = ['BEGIN:VTIMEZONE', 'TZID:Europe/Berlin', 'BEGIN:DAYLIGHT', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0200', 'TZNAME:CEST', 'DTSTART:19700329T020000', 'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU', 'END:DAYLIGHT', 'BEGIN:STANDARD', 'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100', 'TZNAME:CET', 'DTSTART:19701025T030000', 'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU', 'END:STANDARD', 'END:VTIMEZONE'];

/** Weekly on Mondays 09:00 Berlin time across the end of DST (25 Oct 2026), one moved and one cancelled. */
const SERIES = [
  'BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//gitdav tests//EN', ...BERLIN,
  'BEGIN:VEVENT', 'UID:standup', 'DTSTAMP:20260901T000000Z', 'DTSTART;TZID=Europe/Berlin:20261012T090000', 'DURATION:PT30M',
  'RRULE:FREQ=WEEKLY;COUNT=6', 'EXDATE;TZID=Europe/Berlin:20261026T090000', 'SUMMARY:Standup', 'END:VEVENT',
  'BEGIN:VEVENT', 'UID:standup', 'DTSTAMP:20260901T000000Z', 'RECURRENCE-ID;TZID=Europe/Berlin:20261102T090000', 'DTSTART;TZID=Europe/Berlin:20261103T140000', 'DURATION:PT30M', 'SUMMARY:Standup (moved)', 'END:VEVENT',
  'END:VCALENDAR', '',
].join('\r\n');

for (const backend of ['fs', 'git'] as BackendName[]) describe(`CalDAV extras (${backend} backend)`, function () {
  this.timeout(30_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend, caldav: { user: 'alice', email: 'alice@example.org' } });
    const r = await raw(s.url, '/calendars/alice/calendar/standup.ics', { method: 'PUT', body: SERIES, headers: { 'Content-Type': 'text/calendar' } });
    assert.equal(r.status, 201, r.text);
  });
  after(() => s.close());

  // A folder keeps no history: this one is for git only.
  if (backend === 'git') it('every calendar change is a commit named after the event', async () => {
    const log = (await tool('git', ['--git-dir', s.root, 'log', '--format=%s'])).stdout.split('\n');
    assert.equal(log[0], 'Add event "Standup"');
    await raw(s.url, '/calendars/alice/calendar/standup.ics', { method: 'PUT', body: SERIES.replace('SUMMARY:Standup\r\n', 'SUMMARY:Daily standup\r\n'), headers: { 'Content-Type': 'text/calendar' } });
    assert.equal((await tool('git', ['--git-dir', s.root, 'log', '-1', '--format=%s'])).stdout.trim(), 'Update event "Daily standup"');
  });

  it('GET on a calendar is the whole calendar as one .ics (webcal), with conditional GET', async () => {
    const r = await raw(s.url, '/calendars/alice/calendar/');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] as string, /^text\/calendar/);
    assert.match(r.text, /^BEGIN:VCALENDAR\r\n/);
    assert.equal((r.text.match(/BEGIN:VTIMEZONE/g) ?? []).length, 1);
    assert.equal((r.text.match(/BEGIN:VEVENT/g) ?? []).length, 2);
    assert.match(r.text, /X-WR-CALNAME:Calendar/);
    assert.equal((await raw(s.url, '/calendars/alice/calendar/', { headers: { 'If-None-Match': r.headers.etag as string } })).status, 304);
  });

  it('tsdav finds the expanded instances in a time range across the DST change (EXDATE and override honoured)', async () => {
    const client = new DAVClient({ serverUrl: `${s.url}/`, credentials: { username: 'alice', password: 'x' }, authMethod: 'Basic', defaultAccountType: 'caldav' });
    await client.login();
    assert.equal(client.account?.principalUrl, `${s.url}/principals/alice/`);
    const [calendar] = await client.fetchCalendars();
    const inRange = async (start: string, end: string) => (await client.fetchCalendarObjects({ calendar: calendar!, timeRange: { start, end } })).length;
    // Instances: 12 Oct, 19 Oct (CEST), 26 Oct excluded, 2 Nov moved to 3 Nov 14:00, 9, 16 Nov (CET).
    assert.equal(await inRange('2026-10-26T00:00:00Z', '2026-10-27T00:00:00Z'), 0, 'the EXDATE');
    assert.equal(await inRange('2026-11-02T07:00:00Z', '2026-11-02T09:00:00Z'), 0, 'the moved instance is not at its old time');
    assert.equal(await inRange('2026-11-03T13:00:00Z', '2026-11-03T13:30:00Z'), 1, 'but at its new one (14:00 CET = 13:00Z)');
    assert.equal(await inRange('2026-11-09T08:00:00Z', '2026-11-09T08:15:00Z'), 1, '09:00 CET = 08:00Z after DST');
    assert.equal(await inRange('2026-10-19T07:00:00Z', '2026-10-19T07:15:00Z'), 1, '09:00 CEST = 07:00Z before DST');
    assert.equal(await inRange('2026-11-23T00:00:00Z', '2026-12-31T00:00:00Z'), 0, 'COUNT=6 has ended');
  });

  it('principal-property-search finds the user; expand-property answers; neither is ever a 500', async () => {
    const search = await raw(s.url, '/principals/', {
      method: 'REPORT',
      body: '<D:principal-property-search xmlns:D="DAV:"><D:property-search><D:prop><D:displayname/></D:prop><D:match>ali</D:match></D:property-search><D:prop><D:displayname/></D:prop></D:principal-property-search>',
    });
    assert.equal(search.status, 207);
    assert.match(search.text, /<D:href>\/principals\/alice\/<\/D:href>/);
    const none = await raw(s.url, '/principals/', { method: 'REPORT', body: '<D:principal-property-search xmlns:D="DAV:"><D:property-search><D:prop><D:displayname/></D:prop><D:match>zzz</D:match></D:property-search></D:principal-property-search>' });
    assert.equal(none.status, 207);
    assert.doesNotMatch(none.text, /<D:response>/);
    const expand = await raw(s.url, '/principals/alice/', { method: 'REPORT', body: '<D:expand-property xmlns:D="DAV:"><D:property name="calendar-home-set" namespace="urn:ietf:params:xml:ns:caldav"/></D:expand-property>' });
    assert.equal(expand.status, 207);
    assert.match(expand.text, /\/calendars\/alice\//);
  });

  it('MKCALENDAR refuses an invalid calendar-timezone (valid-calendar-data) and makes nothing', async () => {
    const body = '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>TZ</D:displayname><C:calendar-timezone>not a VTIMEZONE</C:calendar-timezone></D:prop></D:set></C:mkcalendar>';
    const r = await raw(s.url, '/calendars/alice/tz/', { method: 'MKCALENDAR', body });
    assert.equal(r.status, 403);
    assert.match(r.text, /valid-calendar-data/);
    assert.match(r.text, /HTTP\/1.1 424/, 'the other properties fail by dependency');
    assert.equal((await raw(s.url, '/calendars/alice/tz/', { method: 'PROPFIND', headers: { Depth: '0' } })).status, 404);
    const ok = body.replace('not a VTIMEZONE', ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', ...BERLIN, 'END:VCALENDAR'].join('\r\n'));
    assert.equal((await raw(s.url, '/calendars/alice/tz/', { method: 'MKCALENDAR', body: ok })).status, 201);
  });

  it('events outside min-date-time/max-date-time are refused with their precondition', async () => {
    const old = SERIES.replace(/UID:standup/g, 'UID:ancient').replace(/2026(\d{4}T)/g, '1850$1').replace('RRULE:FREQ=WEEKLY;COUNT=6\r\n', '');
    const r = await raw(s.url, '/calendars/alice/calendar/ancient.ics', { method: 'PUT', body: old, headers: { 'Content-Type': 'text/calendar' } });
    assert.equal(r.status, 403);
    assert.match(r.text, /min-date-time/);
  });

  it('no-uid-conflict stays exact as the calendar changes: sequential PUTs, DELETE, simultaneous PUTs', async () => {
    const ev = (uid: string) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z', 'DTSTART:20261201T100000Z', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    const put = (name: string, uid: string) => raw(s.url, `/calendars/alice/calendar/${name}`, { method: 'PUT', body: ev(uid), headers: { 'Content-Type': 'text/calendar' } });
    for (let i = 0; i < 5; i++) assert.equal((await put(`seq-${i}.ics`, `seq-${i}`)).status, 201);
    assert.equal((await put('other-name.ics', 'seq-3')).status, 409, 'the index followed the sequential PUTs');
    assert.equal((await put('seq-3.ics', 'seq-3')).status, 204, 'the same object may keep its UID');
    assert.equal((await raw(s.url, '/calendars/alice/calendar/seq-3.ics', { method: 'DELETE' })).status, 204);
    assert.equal((await put('renamed.ics', 'seq-3')).status, 201, 'a deleted object’s UID is free again');
    const [a, b] = await Promise.all([put('twin-a.ics', 'twin'), put('twin-b.ics', 'twin')]);
    assert.deepEqual([a.status, b.status].sort(), [201, 409], 'one of two simultaneous PUTs of one new UID wins');
    // Overlapping PUTs (a syncing client's burst) leave the index exact for the next ones.
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => put(`burst-${i}.ics`, `burst-${i}`)));
    assert.deepEqual([...new Set(burst.map((r) => r.status))], [201]);
    const again = await Promise.all(Array.from({ length: 20 }, (_, i) => put(`copy-${i}.ics`, `burst-${i}`)));
    assert.deepEqual([...new Set(again.map((r) => r.status))], [409]);
  });

  if (backend === 'git') it('no-uid-conflict sees objects that native git committed meanwhile', async () => {
    const ev = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', 'BEGIN:VEVENT', 'UID:from-git', 'DTSTAMP:20260101T000000Z', 'DTSTART:20261201T100000Z', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    const put = (name: string) => raw(s.url, `/calendars/alice/calendar/${name}`, { method: 'PUT', body: ev, headers: { 'Content-Type': 'text/calendar' } });
    assert.equal((await put('warm-up.ics')).status, 201); // the index is built and current
    assert.equal((await raw(s.url, '/calendars/alice/calendar/warm-up.ics', { method: 'DELETE' })).status, 204);
    const env = { ...process.env, GIT_INDEX_FILE: `${s.root}/test-index`, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
    const git = async (args: string[], input?: string) => {
      const r = await tool('git', ['--git-dir', s.root, ...args], { env, input });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    const blob = await git(['hash-object', '-w', '--stdin'], ev);
    await git(['read-tree', 'HEAD']);
    await git(['update-index', '--add', '--cacheinfo', `100644,${blob},calendars/alice/calendar/pushed.ics`]);
    const commit = await git(['commit-tree', await git(['write-tree']), '-p', 'HEAD', '-m', 'pushed']);
    await git(['update-ref', 'HEAD', commit]);
    const r = await put('local.ics');
    assert.equal(r.status, 409, r.text);
    assert.match(r.text, /pushed\.ics/);
  });

  it('OPTIONS on principal, home and calendar advertise calendar-access (and no auto-schedule)', async () => {
    for (const p of ['/principals/alice/', '/calendars/alice/', '/calendars/alice/calendar/']) {
      const r = await raw(s.url, p, { method: 'OPTIONS' });
      assert.equal(r.status, 200);
      assert.match(r.headers.dav as string, /calendar-access/);
      assert.doesNotMatch(r.headers.dav as string, /auto-schedule/);
      assert.match(r.headers.allow as string, /REPORT/);
    }
    const wk = await raw(s.url, '/.well-known/caldav', { method: 'PROPFIND' });
    assert.equal(wk.status, 301);
    assert.equal(wk.headers.location, '/');
  });
});

forEachBackend((kind) => describe(`calendar-query result cap (${kind})`, function () {
  this.timeout(30_000);
  it('answers at most maxReportResults matches, then a 507 number-of-matches-within-limits', async () => {
    const s = await startTestServer({ backend: kind, caldav: true, dav: { limits: { maxReportResults: 2 } as never } });
    try {
      for (let i = 0; i < 3; i++) {
        const ics = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', 'BEGIN:VEVENT', `UID:cap-${i}`, 'DTSTAMP:20260101T000000Z', 'DTSTART:20261201T100000Z', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
        assert.equal((await raw(s.url, `/calendars/user/calendar/cap-${i}.ics`, { method: 'PUT', body: ics, headers: { 'Content-Type': 'text/calendar' } })).status, 201);
      }
      const body = '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter></C:calendar-query>';
      const r = await raw(s.url, '/calendars/user/calendar/', { method: 'REPORT', body, headers: { 'Content-Type': 'application/xml', Depth: '1' } });
      assert.equal(r.status, 207);
      assert.equal((r.text.match(/cap-\d\.ics/g) ?? []).length, 2);
      assert.match(r.text, /507 Insufficient Storage/);
      assert.match(r.text, /number-of-matches-within-limits/);
    } finally {
      await s.close();
    }
  });
}));

const event = (uid: string, summary: string) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z', 'DTSTART:20261201T100000Z', 'DURATION:PT1H', `SUMMARY:${summary}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');

for (const backend of ['fs', 'git'] as BackendName[]) describe(`RFC 4791 §5.3.2 COPY and MOVE into calendars (${backend} backend)`, function () {
  this.timeout(30_000);
  let s: TestServer;
  const cal = '/calendars/user/calendar';
  before(async () => {
    s = await startTestServer({ backend, caldav: true });
    assert.equal((await raw(s.url, `${cal}/a.ics`, { method: 'PUT', body: event('uid-a', 'A'), headers: { 'Content-Type': 'text/calendar' } })).status, 201);
    assert.equal((await raw(s.url, '/calendars/user/other', { method: 'MKCALENDAR' })).status, 201);
    assert.equal((await raw(s.url, '/notes.txt', { method: 'PUT', body: 'not a calendar' })).status, 201);
    assert.equal((await raw(s.url, '/b.ics', { method: 'PUT', body: event('uid-a', 'B, same UID') })).status, 201);
  });
  after(() => s.close());

  const move = (kind: 'COPY' | 'MOVE', from: string, to: string) => raw(s.url, from, { method: kind, headers: { Destination: to } });

  it('a file that is no calendar object is refused (valid-calendar-data), nothing lands', async () => {
    const r = await move('COPY', '/notes.txt', `${cal}/notes.ics`);
    assert.equal(r.status, 403);
    assert.match(r.text, /valid-calendar-data/);
    assert.equal((await raw(s.url, `${cal}/notes.ics`)).status, 404);
  });

  it('a UID the calendar has is refused (no-uid-conflict, naming the object), a COPY within it too', async () => {
    const r = await move('COPY', '/b.ics', `${cal}/b.ics`);
    assert.equal(r.status, 409);
    assert.match(r.text, /no-uid-conflict/);
    assert.match(r.text, /\/calendars\/user\/calendar\/a\.ics/);
    assert.equal((await move('COPY', `${cal}/a.ics`, `${cal}/a-copy.ics`)).status, 409);
  });

  it('a MOVE within the calendar (a rename) keeps its UID; one to another calendar is checked there', async () => {
    assert.equal((await move('MOVE', `${cal}/a.ics`, `${cal}/renamed.ics`)).status, 201);
    assert.equal((await move('COPY', `${cal}/renamed.ics`, '/calendars/user/other/a.ics')).status, 201);
    assert.equal((await move('COPY', '/b.ics', '/calendars/user/other/b.ics')).status, 409, 'the copy made uid-a taken there too');
    if (backend === 'git') {
      const log = (await tool('git', ['--git-dir', s.root, 'log', '-2', '--format=%s'])).stdout.trim().split('\n');
      assert.deepEqual(log, ['Copy event "A"', 'Move event "A"']);
    }
  });

  it('a calendar cannot be copied or moved into a calendar (calendar-collection-location-ok)', async () => {
    const r = await move('COPY', '/calendars/user/other/', `${cal}/other/`);
    assert.equal(r.status, 403);
    assert.match(r.text, /calendar-collection-location-ok/);
    assert.equal((await raw(s.url, '/plain', { method: 'MKCOL' })).status, 201);
    assert.equal((await move('COPY', '/plain/', `${cal}/plain/`)).status, 201, 'a plain folder may (RFC 4791 §4.2)');
    assert.equal((await move('MOVE', '/calendars/user/other/', `${cal}/plain/other/`)).status, 403, 'at any depth');
  });
});

/**
 * Calendar and address book pages (lib/web/calendars/) over HTTP, on both backends: the calendar home
 * lists calendars with their counts, colours and client URLs; a calendar's page has an agenda with a
 * weekly series' next occurrences (not its past ones) and escapes what users wrote; `?view=export`
 * is every event as one .ics that ical.js parses; books and contacts likewise; clients that are not
 * browsers still get the .ics/.vcf at the collection's URL; a grantee sees whose a shared calendar is;
 * ordinary folders get no calendar section and are turned away by their path alone.
 */
import assert from 'node:assert/strict';
import ICAL from 'ical.js';
import { basic, raw, startTestServer, type BackendName, type TestServer } from '../helpers/server.js';
import { collectionPage } from '../../lib/web/calendars/index.js';
import { topLevelBlocks } from '../../lib/web/calendars/export.js';
import type { DavRequest } from '../../lib/dav/context.js';
import type { Entry } from '../../backends/backend.js';
import { HTML, hourNow, icalUtc, seed, vevent, type Seeded } from './calendars-fixtures.js';

const page = async (s: TestServer, path: string, who: Record<string, string> = {}) => {
  const r = await raw(s.url, path, { headers: { ...HTML, ...who } });
  assert.equal(r.status, 200, `${path}: ${r.text.slice(0, 300)}`);
  assert.match(r.headers['content-type'] as string, /^text\/html/);
  return r.text;
};
/** The `<li class="cal-item">` of a collection on a home page. */
const item = (html: string, href: string) => {
  const m = new RegExp(`<li class="cal-item"[^>]*data-href="${href.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*>([\\s\\S]*?)</li>`).exec(html);
  assert.ok(m, `no item for ${href} in ${html.slice(0, 2000)}`);
  return m[0];
};

for (const backend of ['git', 'fs'] as BackendName[]) describe(`web: calendars and address books (${backend})`, function () {
  this.timeout(60_000);
  let s: TestServer;
  let seeded: Seeded;
  let host: string;
  before(async () => {
    s = await startTestServer({ backend, caldav: { user: 'alice', email: 'alice@example.org' } });
    host = new URL(s.url).host;
    seeded = await seed(s, 'alice');
    await raw(s.url, '/docs', { method: 'MKCOL' });
  });
  after(() => s?.close());

  it('the calendar home lists each calendar with colour, name, description, event count and client URLs', async () => {
    const html = await page(s, '/calendars/alice/');
    assert.match(html, /<h1>Calendars<\/h1>/);
    const def = item(html, '/calendars/alice/calendar/');
    assert.match(def, /data-count="4"/);
    assert.match(def, /4 events/);
    assert.ok(def.includes(`<code>http://${host}/calendars/alice/calendar/</code>`), def);
    assert.match(def, /<a href="\/calendars\/alice\/calendar\/" data-action="copy-link"/);
    assert.ok(def.includes(`href="webcal://${host}/calendars/alice/calendar/?view=export"`), def);
    const work = item(html, '/calendars/alice/work/');
    assert.match(work, /data-count="2"/);
    assert.match(work, /2 events</);
    assert.match(work, /fill="#d32f2f"/, 'the colour, alpha dropped');
    assert.match(work, />Work &lt;team&gt;<\/a>/, 'the display name, escaped');
    assert.match(work, /Meetings &amp; deadlines/);
    assert.match(html, /<table id="entries">/, 'the ordinary listing is still there');
  });

  it('a calendar page: name, URLs and an agenda of the next 30 days, a weekly series expanded, nothing past, user text escaped', async () => {
    const html = await page(s, '/calendars/alice/calendar/');
    assert.match(html, /<h1>Calendar<\/h1>/);
    assert.ok(html.includes(`webcal://${host}/calendars/alice/calendar/?view=export`));
    const starts = [...html.matchAll(/<tr class="cal-event" data-start="([^"]+)"><td class="cal-when">[\s\S]*?<td class="cal-summary">([^<]*)/g)].map((m) => [m[1]!, m[2]!] as const);
    const weekly = starts.filter(([, summary]) => summary === 'Weekly sync').map(([start]) => start);
    assert.deepEqual(weekly, seeded.weeklyAhead, 'every occurrence of the next 30 days, none before now');
    assert.equal(weekly.length, 5);
    for (const past of seeded.weeklyPast) assert.ok(!html.includes(`data-start="${past}"`), `past occurrence ${past} shown`);
    assert.doesNotMatch(html, /Old meeting/);
    assert.doesNotMatch(html, /<script>alert|<b>Room/);
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp;'), 'the hostile summary, as text');
    assert.ok(html.includes('&lt;b&gt;Room&lt;/b&gt;'));
    assert.match(html, /Holiday<\/td>/);
    assert.match(html, /<time class="cal-date">\w{3} \d{4}-\d\d-\d\d<\/time> <span class="cal-allday">all day<\/span>/, 'an all-day event as a date');
    const times = starts.map(([t]) => t);
    assert.deepEqual([...times].sort(), times, 'in order');
    assert.match(html, /<tr data-href="\/calendars\/alice\/calendar\/weekly\.ics"/, 'the .ics files below');
  });

  it('?view=export is the calendar as one .ics: ical.js parses it, every event is there, VTIMEZONE once', async () => {
    const r = await raw(s.url, '/calendars/alice/calendar/?view=export', { headers: HTML });
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] as string, /^text\/calendar/);
    const cal = new ICAL.Component(ICAL.parse(r.text));
    const uids = cal.getAllSubcomponents('vevent').map((e) => e.getFirstPropertyValue('uid')).sort();
    assert.deepEqual(uids, ['allday', 'hostile', 'past', 'weekly']);
    assert.equal(cal.getFirstPropertyValue('x-wr-calname'), 'Calendar');
    assert.equal((await raw(s.url, '/calendars/alice/calendar/?view=export', { headers: { 'If-None-Match': r.headers.etag as string } })).status, 304);
    const work = await raw(s.url, '/calendars/alice/work/?view=export');
    assert.equal((work.text.match(/BEGIN:VTIMEZONE\r\n/g) ?? []).length, 1, 'one VTIMEZONE for two events in its zone');
    const workCal = new ICAL.Component(ICAL.parse(work.text));
    assert.deepEqual(workCal.getAllSubcomponents('vevent').map((e) => e.getFirstPropertyValue('summary')).sort(), ['Design review', 'Retro']);
    assert.equal(workCal.getFirstPropertyValue('x-wr-calname'), 'Work <team>');
    const head = await raw(s.url, '/calendars/alice/calendar/?view=export', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.match(head.headers['content-type'] as string, /^text\/calendar/);
    assert.equal(head.body.length, 0);
    const bad = await raw(s.url, '/docs/?view=export');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /calendar or an address book/);
  });

  it('the collection URL itself: a client (no Accept, */*, text/calendar) still gets the .ics, a browser the page', async () => {
    for (const accept of [undefined, '*/*', 'text/calendar']) {
      const r = await raw(s.url, '/calendars/alice/work/', { headers: accept ? { Accept: accept } : {} });
      assert.match(r.headers['content-type'] as string, /^text\/calendar/, String(accept));
      assert.match(r.text, /BEGIN:VEVENT[\s\S]*Design review/);
    }
    const card = await raw(s.url, '/addressbooks/alice/contacts/', { headers: { Accept: '*/*' } });
    assert.match(card.headers['content-type'] as string, /^text\/vcard/);
    const first = await raw(s.url, '/calendars/alice/work/', { headers: HTML });
    assert.match(first.text, /Design review/);
    assert.match(String(first.headers.vary), /Accept/);
    const again = await raw(s.url, '/calendars/alice/work/', { headers: { ...HTML, 'If-None-Match': first.headers.etag as string } });
    assert.equal(again.status, 200, 'a page that moves with the clock is never a 304');
    assert.match(again.text, /Design review/);
  });

  it('the agenda is bounded: an hourly series shows its first 200 occurrences and says the rest are cut', async () => {
    assert.equal((await raw(s.url, '/calendars/alice/busy/', { method: 'MKCALENDAR' })).status, 201);
    const start = hourNow() + 3_600_000;
    assert.equal((await raw(s.url, '/calendars/alice/busy/hourly.ics', { method: 'PUT', headers: { 'Content-Type': 'text/calendar' }, body: vevent('hourly', 'Ping', [`DTSTART:${icalUtc(start)}`, 'DURATION:PT5M', 'RRULE:FREQ=HOURLY']) })).status, 201);
    const html = await page(s, '/calendars/alice/busy/');
    const starts = [...html.matchAll(/<tr class="cal-event" data-start="([^"]+)"/g)].map((m) => m[1]!);
    assert.equal(starts.length, 200);
    assert.equal(starts[0], new Date(start).toISOString());
    assert.equal(starts[199], new Date(start + 199 * 3_600_000).toISOString());
    assert.match(html, /only the first 200 occurrences are shown/);
  });

  it('address books: the home lists each book with its count and CardDAV URL; a book page lists contacts, escaped; the export has every card', async () => {
    const home = await page(s, '/addressbooks/alice/');
    assert.match(home, /<h1>Address books<\/h1>/);
    const book = item(home, '/addressbooks/alice/contacts/');
    assert.match(book, /2 contacts/);
    assert.ok(book.includes(`<code>http://${host}/addressbooks/alice/contacts/</code>`));
    assert.match(book, /href="\/addressbooks\/alice\/contacts\/\?view=export"/);
    const html = await page(s, '/addressbooks/alice/contacts/');
    assert.match(html, /<table id="contacts">/);
    assert.match(html, />Ada Lovelace<\/a>/);
    assert.match(html, /href="mailto:ada@example\.org"/);
    assert.match(html, /\+44 20 7946 0000/);
    assert.doesNotMatch(html, /<img src=x/);
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
    const vcf = await raw(s.url, '/addressbooks/alice/contacts/?view=export', { headers: HTML });
    assert.match(vcf.headers['content-type'] as string, /^text\/vcard/);
    assert.equal((vcf.text.match(/BEGIN:VCARD\r\n/g) ?? []).length, 2);
  });

  it('ordinary folders get no calendar section, and are turned away by their path without touching the request', async () => {
    const html = await page(s, '/docs/');
    assert.doesNotMatch(html, /cal-/);
    const untouchable = new Proxy({}, { get: (_t, p) => { throw new Error(`touched req.${String(p)}`); } }) as DavRequest;
    for (const path of ['/', '/docs', '/calendars', '/calendars/alice/calendar/sub/folder', '/addressbooks', '/shared/alice/x']) {
      const dir = { path, kind: 'collection' } as Entry;
      assert.equal(await collectionPage(untouchable, dir), null, path);
    }
  });
});

describe('web: a shared calendar shows whose it is', function () {
  this.timeout(60_000);
  for (const backend of ['git', 'fs'] as BackendName[]) it(`(${backend}) a grantee's home lists alice~calendar as alice's, read-only, with its count`, async () => {
    const s = await startTestServer({ backend, users: { alice: 'a-secret', bob: 'b-secret' }, shares: [{ owner: 'alice', path: '/calendars/alice/calendar', grantee: 'bob', access: 'read' }] });
    try {
      await seed(s, 'alice', basic('alice', 'a-secret'));
      const bob = basic('bob', 'b-secret');
      const home = await page(s, '/calendars/bob/', bob);
      const shared = item(home, '/calendars/bob/alice~calendar/');
      assert.match(shared, /shared by alice, read-only/);
      assert.match(shared, /data-count="4"/);
      const html = await page(s, '/calendars/bob/alice~calendar/', bob);
      assert.match(html, /shared by alice, read-only/);
      assert.match(html, /Weekly sync/);
      assert.match(html, /data-writable="false"/);
      const ics = await raw(s.url, '/calendars/bob/alice~calendar/?view=export', { headers: bob });
      assert.equal(ics.status, 200);
      assert.equal(new ICAL.Component(ICAL.parse(ics.text)).getAllSubcomponents('vevent').length, 4, 'the export through the share');
      assert.equal((await raw(s.url, '/calendars/alice/calendar/?view=export', { headers: bob })).status, 404, 'not alice\'s tree itself');
    } finally {
      await s.close();
    }
  });
});

describe('web: calendar export splits objects as text', () => {
  it('keeps each top-level component with its folded lines, and gives nothing for what is not a VCALENDAR', () => {
    const text = 'BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VTIMEZONE\nTZID:X\nBEGIN:STANDARD\nEND:STANDARD\nEND:VTIMEZONE\nBEGIN:VEVENT\nUID:a\nSUMMARY:long\n  folded\nEND:VEVENT\nEND:VCALENDAR\n';
    const blocks = topLevelBlocks(text);
    assert.deepEqual(blocks.map((b) => b.name), ['VTIMEZONE', 'VEVENT']);
    assert.equal(blocks[1]!.text, 'BEGIN:VEVENT\r\nUID:a\r\nSUMMARY:long\r\n  folded\r\nEND:VEVENT\r\n');
    assert.deepEqual(topLevelBlocks('BEGIN:VCARD\nEND:VCARD\n'), []);
  });
});

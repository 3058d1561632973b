/**
 * Calendar and address book pages in Debian's chromium: the calendar home, a calendar's agenda and a
 * book's contacts load under the CSP with no console error (the colour swatches are SVG attributes,
 * not inline styles), app.js shows agenda times in the browser's zone, the copy button copies the
 * CalDAV URL; screenshots web-calendars, web-calendar and web-contacts (light and dark).
 */
import assert from 'node:assert/strict';
import type { Browser } from 'puppeteer-core';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';
import { newPage, openBrowser, shoot } from './browser.js';
import { seed } from './calendars-fixtures.js';

describe('web: calendars in a browser', function () {
  this.timeout(180_000);
  let s: TestServer;
  let browser: Browser | undefined;
  before(async function () {
    browser = await openBrowser(this);
    s = await startTestServer({ backend: 'git', caldav: { user: 'alice', email: 'alice@example.org' } });
    await seed(s, 'alice');
    const color = await raw(s.url, '/calendars/alice/calendar/', {
      method: 'PROPPATCH',
      headers: { 'Content-Type': 'application/xml' },
      body: '<D:propertyupdate xmlns:D="DAV:" xmlns:A="http://apple.com/ns/ical/" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><A:calendar-color>#1F6FEBFF</A:calendar-color><C:calendar-description>Personal</C:calendar-description></D:prop></D:set></D:propertyupdate>',
    });
    assert.equal(color.status, 207, color.text);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('the calendar home: calendars with swatches and URLs, no console error; the copy button copies the CalDAV URL', async () => {
    await browser!.defaultBrowserContext().overridePermissions(s.url, ['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write']);
    const { page, errors } = await newPage(browser!);
    const r = await page.goto(`${s.url}/calendars/alice/`, { waitUntil: 'networkidle0' });
    assert.equal(r?.status(), 200);
    const names = await page.$$eval('.cal-item h2.cal-name a', (as) => as.map((a) => a.textContent));
    assert.deepEqual(names, ['Calendar', 'Work <team>']);
    const fill = await page.$eval('.cal-item[data-href="/calendars/alice/calendar/"] svg.swatch rect', (r) => getComputedStyle(r).fill);
    assert.equal(fill, 'rgb(31, 111, 235)', 'the swatch is drawn in the calendar colour');
    await page.click('.cal-item[data-href="/calendars/alice/calendar/"] a.cal-copy');
    await page.waitForFunction(() => (document.getElementById('notice')?.textContent ?? '').startsWith('Copied'));
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${s.url}/calendars/alice/calendar/`);
    await shoot(page, 'web-calendars');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('a calendar page: the agenda in the browser time zone, no console error', async () => {
    const { page, errors } = await newPage(browser!);
    await page.emulateTimezone('America/New_York');
    const r = await page.goto(`${s.url}/calendars/alice/calendar/`, { waitUntil: 'networkidle0' });
    assert.equal(r?.status(), 200);
    assert.match(r!.headers()['content-type'] ?? '', /^text\/html/);
    const summaries = await page.$$eval('#agenda .cal-summary', (tds) => tds.map((t) => t.firstChild?.textContent ?? ''));
    assert.ok(summaries.includes('<script>alert(1)</script> & "quotes"'), 'the hostile summary shows as text');
    assert.equal(summaries.filter((t) => t === 'Weekly sync').length, 5);
    const title = await page.$eval('#agenda time[datetime]', (t) => t.getAttribute('title') ?? '');
    assert.match(title, /Eastern|EST|EDT|GMT-5|GMT-4/, `exact local time in the title: ${title}`);
    assert.equal(await page.$('script:not([src])'), null);
    await shoot(page, 'web-calendar');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('a book page lists its contacts, no console error', async () => {
    const { page, errors } = await newPage(browser!);
    const r = await page.goto(`${s.url}/addressbooks/alice/contacts/`, { waitUntil: 'networkidle0' });
    assert.equal(r?.status(), 200);
    const names = await page.$$eval('#contacts tbody tr td:first-child a', (as) => as.map((a) => a.textContent));
    assert.deepEqual(names, ['<img src=x onerror=alert(1)>', 'Ada Lovelace']);
    await shoot(page, 'web-contacts');
    assert.deepEqual(errors, []);
    await page.close();
  });
});

/**
 * The folder page in a real browser (Debian's chromium through puppeteer-core): a folder with
 * subfolders and files of several kinds shows folders first, icons and human times; clicking a column
 * header sorts (a link: the server sorts) and marks the column; keyboard focus is visible; a narrow
 * screen drops the size column without scrolling sideways. Screenshots: docs/screenshots/web-folder-*.png.
 */
import assert from 'node:assert/strict';
import type { Browser, Page } from 'puppeteer-core';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';
import { newPage, openBrowser, shoot } from './browser.js';

const FILES: Array<[string, number]> = [
  ['Quarterly report.pdf', 48_000],
  ['budget-2026.xlsx', 12_500],
  ['README.md', 900],
  ['holiday.jpg', 230_000],
  ['interview.mp3', 96_000],
  ['main.ts', 2_400],
  ['backup.zip', 150_000],
  ['meeting.ics', 600],
  ['notes.txt', 40],
];

describe('web folder page in a browser', function () {
  this.timeout(300_000);
  let s: TestServer;
  let browser: Browser | undefined;
  before(async function () {
    browser = await openBrowser(this);
    s = await startTestServer({ backend: 'git' });
    await raw(s.url, '/Projects', { method: 'MKCOL' });
    for (const d of ['Photos', 'Invoices', 'drafts']) {
      await raw(s.url, `/Projects/${d}`, { method: 'MKCOL' });
      await raw(s.url, `/Projects/${d}/keep.txt`, { method: 'PUT', body: 'k' });
    }
    for (const [name, size] of FILES) await raw(s.url, `/Projects/${encodeURIComponent(name)}`, { method: 'PUT', body: Buffer.alloc(size, 97) });
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  const names = (page: Page) => page.$$eval('#entries tr[data-name]', (rows) => rows.map((r) => (r as HTMLElement).dataset.name ?? ''));
  const sizes = (page: Page) => page.$$eval('#entries tr[data-kind="file"]', (rows) => rows.map((r) => Number((r as HTMLElement).dataset.size)));

  it('shows folders first, icons, human times, the footer; a header click sorts by size and marks the column', async () => {
    const { page, errors } = await newPage(browser!);
    await page.setViewport({ width: 1100, height: 720 });
    await page.goto(`${s.url}/Projects/`, { waitUntil: 'networkidle0' });
    const first = await names(page);
    assert.deepEqual(first.slice(0, 3), ['drafts', 'Invoices', 'Photos'], 'folders first, by name');
    assert.equal(first.length, 3 + FILES.length);
    assert.equal(await page.$eval('th.name', (th) => th.getAttribute('aria-sort')), 'ascending');
    const colour = (sel: string) => page.$eval(sel, (e) => getComputedStyle(e).backgroundColor);
    assert.notEqual(await colour('tr[data-name="holiday.jpg"] .icon'), await colour('tr[data-name="notes.txt"] .icon'), 'icons differ by kind');
    assert.notEqual(await colour('tr[data-name="Photos"] .icon'), 'rgba(0, 0, 0, 0)');
    await page.waitForFunction(() => !document.querySelector('#entries time')?.textContent?.endsWith('UTC'));
    assert.match(await page.$eval('.folder-stats', (p) => p.textContent ?? ''), /^3 folders · 9 files · /);
    assert.ok(await page.$('nav.page-links a.history-link[href="/Projects/?view=history"]'), 'the folder’s History link');

    await Promise.all([page.waitForNavigation(), page.click('th a[data-sort="size"]')]);
    assert.match(page.url(), /\?sort=size&order=desc$/);
    assert.equal(await page.$eval('th.n', (th) => th.getAttribute('aria-sort')), 'descending');
    assert.equal(await page.$eval('th.n .arrow', (a) => a.textContent), '▼');
    const desc = await sizes(page);
    assert.deepEqual(desc, [...desc].sort((a, b) => b - a), 'largest first');
    assert.deepEqual((await names(page)).slice(0, 3), ['drafts', 'Invoices', 'Photos'], 'folders still first');

    await Promise.all([page.waitForNavigation(), page.click('th a[data-sort="size"]')]);
    const asc = await sizes(page);
    assert.deepEqual(asc, [...desc].reverse(), 'a second click: smallest first');
    await Promise.all([page.waitForNavigation(), page.click('th a[data-sort="modified"]')]);
    assert.equal(await page.$eval('th.when', (th) => th.getAttribute('aria-sort')), 'descending');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('keyboard: Tab reaches the column headers and rows, and focus is visible', async () => {
    const { page } = await newPage(browser!);
    await page.goto(`${s.url}/Projects/`, { waitUntil: 'networkidle0' });
    await page.keyboard.press('Tab');
    const skip = await page.evaluate(() => ({ cls: document.activeElement?.className, left: document.activeElement?.getBoundingClientRect().left ?? -1 }));
    assert.deepEqual(skip.cls, 'skip-link', 'the first Tab: "Skip to content"');
    assert.ok(skip.left >= 0, 'shown when focused');
    let reached = '';
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => (document.activeElement?.matches('th a.sort') ? (document.activeElement as HTMLElement).dataset.sort ?? '' : ''));
    }
    assert.equal(reached, 'name', 'the first column header is reachable by Tab');
    const outline = await page.evaluate(() => {
      const st = getComputedStyle(document.activeElement!);
      return { style: st.outlineStyle, width: parseFloat(st.outlineWidth) };
    });
    assert.notEqual(outline.style, 'none', 'focus is visible');
    assert.ok(outline.width >= 1);
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    assert.match(page.url(), /\?sort=name&order=desc$/, 'Enter on the header sorts');
    await page.close();
  });

  it('a narrow screen hides the size column and never scrolls sideways; screenshots', async () => {
    const { page, errors } = await newPage(browser!);
    await page.setViewport({ width: 380, height: 740 });
    await page.goto(`${s.url}/Projects/`, { waitUntil: 'networkidle0' });
    assert.equal(await page.$eval('th.n', (th) => getComputedStyle(th).display), 'none');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px too wide)`);
    await page.goto(`${s.url}/Projects/`, { waitUntil: 'networkidle0' });
    await shoot(page, 'web-folder');
    assert.deepEqual(errors, []);
    await page.close();
  });
});

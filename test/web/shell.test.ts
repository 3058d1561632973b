/**
 * The web interface's shell (lib/web/): a folder page in a real browser loads its stylesheet and
 * scripts under the Content-Security-Policy (no violation, no inline code), shows human times, and
 * a state-changing request another site's page sends is refused while WebDAV clients are untouched.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'puppeteer-core';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';
import { newPage, openBrowser } from './browser.js';

describe('web interface: the shell', function () {
  this.timeout(120_000);
  let s: TestServer;
  let browser: Browser | undefined;
  before(async function () {
    browser = await openBrowser(this);
    s = await startTestServer({ backend: 'git' });
    await raw(s.url, '/docs', { method: 'MKCOL' });
    await raw(s.url, '/docs/a.txt', { method: 'PUT', body: 'hello\n' });
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('a folder page loads its assets under the CSP, with no console error, and shows human times', async () => {
    const { page, errors } = await newPage(browser!);
    const r = await page.goto(`${s.url}/docs/`, { waitUntil: 'networkidle0' });
    assert.equal(r?.status(), 200);
    assert.match(r!.headers()['content-security-policy'] ?? '', /script-src 'self'/);
    assert.equal(await page.$eval('tr[data-name="a.txt"] a', (a) => a.textContent), 'a.txt');
    const when = await page.$eval('tr[data-name="a.txt"] time', (t) => t.textContent ?? '');
    assert.doesNotMatch(when, /UTC$/, 'app.js rewrote the time');
    assert.ok(await page.$eval('body', (b) => getComputedStyle(b).fontFamily !== ''), 'the stylesheet applies');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('assets: a strong ETag, 304 on revalidation, 404 for an unknown name; an unknown view is a 400', async () => {
    const css = await raw(s.url, '/?ui=app.css');
    assert.equal(css.status, 200);
    assert.match(css.headers['content-type'] as string, /^text\/css/);
    assert.equal((await raw(s.url, '/?ui=app.css', { headers: { 'If-None-Match': css.headers.etag as string } })).status, 304);
    assert.equal((await raw(s.url, '/?ui=../../package.json')).status, 404);
    assert.equal((await raw(s.url, '/?ui=nope.js')).status, 404);
    const bad = await raw(s.url, '/docs/?view=nope');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /no view "nope"/);
  });

  it('refuses a write another site sends (Fetch Metadata or Origin), and lets WebDAV clients, extensions and its own pages write', async () => {
    const host = new URL(s.url).host;
    const foreign: Array<[string, Record<string, string>]> = [
      ['POST', { 'Sec-Fetch-Site': 'cross-site' }],
      ['POST', { 'Sec-Fetch-Site': 'same-site' }],
      ['POST', { Origin: 'http://evil.example' }],
      ['POST', { Origin: 'null' }],
      ['PUT', { 'Sec-Fetch-Site': 'cross-site', Origin: 'http://evil.example' }],
      ['DELETE', { Origin: 'https://evil.example' }],
      ['MKCOL', { 'Sec-Fetch-Site': 'same-site', Origin: `http://other.${host}` }],
    ];
    for (const [method, headers] of foreign) {
      const r = await raw(s.url, method === 'MKCOL' ? '/docs/new/' : '/docs/a.txt', { method, headers, body: method === 'PUT' || method === 'POST' ? 'x' : undefined });
      assert.equal(r.status, 403, `${method} with ${JSON.stringify(headers)}`);
      assert.match(r.text, /another site's page is refused/);
    }
    assert.equal((await raw(s.url, '/docs/a.txt')).text, 'hello\n', 'nothing changed');
    assert.equal((await raw(s.url, '/docs/new/', { method: 'PROPFIND', headers: { Depth: '0' } })).status, 404);
    assert.equal((await raw(s.url, '/docs/b.txt', { method: 'PUT', body: 'b' })).status, 201, 'a WebDAV client (no such headers)');
    assert.equal((await raw(s.url, '/docs/c.txt', { method: 'PUT', body: 'c', headers: { 'Sec-Fetch-Site': 'same-origin', Origin: `http://${host}` } })).status, 201, 'the page itself');
    // Extension clients (Floccus and the like) send an extension origin, or null: preflights guard them, not this check.
    assert.equal((await raw(s.url, '/docs/d.txt', { method: 'PUT', body: 'd', headers: { 'Sec-Fetch-Site': 'cross-site', Origin: 'chrome-extension://abcdef' } })).status, 201, 'an extension');
    assert.equal((await raw(s.url, '/docs/e.txt', { method: 'PUT', body: 'e', headers: { Origin: 'null' } })).status, 201, 'an opaque origin without a preflight-free method');
    assert.equal((await raw(s.url, '/docs/', { method: 'PROPFIND', headers: { Depth: '1', 'Sec-Fetch-Site': 'cross-site' } })).status, 207, 'reads are not refused');
  });
});

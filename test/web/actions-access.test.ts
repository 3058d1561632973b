/**
 * Who may act (lib/web/assets/actions.js, lib/web/access.ts, lib/web/csrf.ts): a grantee of a
 * read-only share gets no actions on the page and the server refuses them (403); a cross-site form
 * post from a page on another origin, sent by the logged-in user's browser, is refused and changes
 * nothing; names with "/", "..", NUL or over 255 bytes are refused by the server (4xx, nothing
 * changed) as by the page.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'puppeteer-core';
import { basic, raw, startTestServer, type TestServer } from '../helpers/server.js';
import { newPage, openBrowser } from './browser.js';

const ALICE = basic('alice', 'alice-secret');

describe('web interface: actions and who may take them', function () {
  this.timeout(120_000);
  let s: TestServer;
  let browser: Browser | undefined;
  let evil: Server | undefined;
  before(async function () {
    browser = await openBrowser(this);
    s = await startTestServer({ backend: 'git', users: { alice: 'alice-secret', bob: 'bob-secret!' }, shares: [{ owner: 'alice', path: '/docs', grantee: 'bob', access: 'read' }] });
    assert.equal((await raw(s.url, '/docs', { method: 'MKCOL', headers: ALICE })).status, 201);
    assert.equal((await raw(s.url, '/docs/a.txt', { method: 'PUT', body: 'hello\n', headers: ALICE })).status, 201);
    assert.equal((await raw(s.url, '/docs/sub', { method: 'MKCOL', headers: ALICE })).status, 201);
  });
  after(async () => {
    await browser?.close();
    await s?.close();
    evil?.close();
  });

  /** The names and ETags under alice's /docs: what "nothing changed" compares. */
  const docsState = async (): Promise<string> => (await raw(s.url, '/docs/', { method: 'PROPFIND', headers: { Depth: 'infinity', ...ALICE } })).text.replace(/<D:quota-[^>]*>[^<]*<\/D:quota-[^>]*>/g, '');

  it('a read-only share: the page offers no actions, and the server refuses each of them with 403', async () => {
    const { page, errors } = await newPage(browser!, { user: 'bob', password: 'bob-secret!' });
    const r = await page.goto(`${s.url}/shared/alice/docs/`, { waitUntil: 'networkidle0' });
    assert.equal(r?.status(), 200);
    await page.waitForSelector('tr[data-name="a.txt"]');
    assert.equal(await page.$eval('body', (b) => b.dataset.writable), 'false');
    assert.equal(await page.$('#toolbar'), null, 'no toolbar');
    assert.equal(await page.$$eval('button[data-action="rename"], button[data-action="delete"]', (b) => b.length), 0, 'no row actions');
    assert.equal(await page.$('input[type=file]'), null, 'actions.js added no picker');
    const before = await docsState();
    const base = '/shared/alice/docs';
    const attempts: Array<[string, string, Record<string, string>, string?]> = [
      ['PUT', `${base}/a.txt`, {}, 'changed'],
      ['PUT', `${base}/new.txt`, {}, 'new'],
      ['MKCOL', `${base}/made/`, {}],
      ['MOVE', `${base}/a.txt`, { Destination: `${s.url}${base}/b.txt` }],
      ['DELETE', `${base}/a.txt`, {}],
      ['DELETE', `${base}/sub/`, {}],
    ];
    for (const [method, path, headers, body] of attempts) {
      // As the page sends them (same origin), so only the share's rule can refuse.
      const res = await page.evaluate(async (m, p, h, b) => {
        const x = await fetch(p, { method: m, headers: h, body: b });
        return { status: x.status, text: await x.text() };
      }, method, path, headers, body ?? null);
      assert.equal(res.status, 403, `${method} ${path}: ${res.text}`);
    }
    assert.equal(await docsState(), before, 'nothing changed');
    assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), []);
    await page.close();
  });

  it('a cross-site form post from another origin, with the user logged in, is refused and changes nothing', async () => {
    const target = `${s.url}/docs/a.txt`;
    const html = `<!doctype html><title>evil</title><form id="f" method="POST" action="${target}" enctype="text/plain"><input name="x" value="defaced"></form><script>document.getElementById('f').submit()</script>`;
    evil = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(html);
    });
    await new Promise<void>((resolve) => evil!.listen(0, '127.0.0.1', resolve));
    const port = (evil.address() as AddressInfo).port;
    const { page } = await newPage(browser!, { user: 'alice', password: 'alice-secret' });
    const before = await docsState();
    // Logged in on gitdav first, as a victim would be.
    await page.goto(`${s.url}/docs/`, { waitUntil: 'networkidle0' });
    const posted = page.waitForResponse((r) => r.url() === target && r.request().method() === 'POST');
    await page.goto(`http://localhost:${port}/`);
    const res = await posted;
    assert.equal(res.status(), 403);
    assert.match(await res.text(), /another site/);
    assert.equal(await docsState(), before, 'nothing changed');
    assert.equal((await raw(s.url, '/docs/a.txt', { headers: ALICE })).text, 'hello\n');
    await page.close();
  });

  for (const backend of ['git', 'fs'] as const) {
    it(`the server refuses names with "/", "..", NUL in MKCOL, PUT and MOVE, and changes nothing (${backend})`, async () => {
      const t = backend === 'git' ? s : await startTestServer({ backend, users: { alice: 'alice-secret' } });
      try {
        if (t !== s) {
          await raw(t.url, '/docs', { method: 'MKCOL', headers: ALICE });
          await raw(t.url, '/docs/a.txt', { method: 'PUT', body: 'hello\n', headers: ALICE });
        }
        await refusesNames(t, ['a%2Fb', '..', '%2E%2E', 'a%2F..%2Fb', 'x%00y', '%00']);
      } finally {
        if (t !== s) await t.close();
      }
    });
  }

  it('the server refuses names over 255 bytes (fs)', async () => {
    const t = await startTestServer({ backend: 'fs', users: { alice: 'alice-secret' } });
    try {
      await raw(t.url, '/docs', { method: 'MKCOL', headers: ALICE });
      await raw(t.url, '/docs/a.txt', { method: 'PUT', body: 'hello\n', headers: ALICE });
      await refusesNames(t, ['n'.repeat(256), 'é'.repeat(128), 'n'.repeat(10_000)]);
    } finally {
      await t.close();
    }
  });

  // Git trees allow any length; the git backend refuses new names over 255 bytes as the folder
  // backend does (backends/git/live-names.ts), so a clone can check them out.
  it('the server refuses names over 255 bytes (git)', async () => {
    await refusesNames(s, ['n'.repeat(256), 'é'.repeat(128), 'n'.repeat(10_000)]);
  });
});

/** Every MKCOL, PUT and MOVE to each (URL-encoded) name is a 4xx, and alice's /docs is unchanged. */
async function refusesNames(t: TestServer, names: string[]): Promise<void> {
  // Disk-wide quota figures move with other processes' files: left out of the comparison.
  const state = async (): Promise<string> => (await raw(t.url, '/docs/', { method: 'PROPFIND', headers: { Depth: 'infinity', ...ALICE } })).text.replace(/<D:quota-[^>]*>[^<]*<\/D:quota-[^>]*>/g, '');
  const before = await state();
  const accepted: string[] = [];
  for (const name of names) {
    const enc = /%/.test(name) ? name : encodeURIComponent(name);
    const tries: Array<[string, string, Record<string, string>]> = [
      ['MKCOL', `/docs/${enc}/`, {}],
      ['PUT', `/docs/${enc}`, {}],
      ['MOVE', '/docs/a.txt', { Destination: `${t.url}/docs/${enc}`, Overwrite: 'F' }],
    ];
    for (const [method, path, headers] of tries) {
      const r = await raw(t.url, path, { method, headers: { ...ALICE, ...headers }, body: method === 'PUT' ? 'x' : undefined });
      if (!(r.status >= 400 && r.status < 500)) accepted.push(`${method} ${name.slice(0, 20)} (${name.length} chars): ${r.status}`);
    }
  }
  assert.deepEqual(accepted, [], 'every one refused with a 4xx');
  assert.equal(await state(), before, 'nothing changed');
}

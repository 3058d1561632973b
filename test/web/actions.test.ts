/**
 * A folder's actions in a real browser (lib/web/assets/actions.js): upload a folder of files and a
 * 200 MB file with the progress bars reaching 100%, make a folder, rename and move, delete after a
 * confirmation, download a folder as a zip and compare it with what was uploaded — without a login
 * and as a user with one, on git and (the lighter flows) on the folder backend.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, ElementHandle, Page } from 'puppeteer-core';
import { basic, raw, startTestServer, type BackendName, type TestServer } from '../helpers/server.js';
import { newPage, openBrowser, shoot } from './browser.js';
import { download, hashTree, makeAlbum, makeBigFile, readZip, sha256Url } from './actions-helpers.js';

const BIG = 200 * 1024 * 1024;

interface Case {
  backend: BackendName;
  login: boolean;
  big: boolean;
}
const CASES: Case[] = [
  { backend: 'git', login: false, big: true },
  { backend: 'git', login: true, big: true },
  { backend: 'fs', login: false, big: false },
];

for (const c of CASES) {
  describe(`web interface: folder actions (${c.backend}, ${c.login ? 'with a login' : 'no login'})`, function () {
    this.timeout(300_000);
    let s: TestServer;
    let browser: Browser | undefined;
    let page: Page;
    let answers: string[];
    let errors: string[];
    let tmp: string;
    let album: string;
    const auth: Record<string, string> = c.login ? basic('alice', 'alice-secret') : {};
    const home = (): string => `${s.url}/`;

    before(async function () {
      browser = await openBrowser(this);
      tmp = await mkdtemp(join(tmpdir(), 'gitdav-actions-'));
      album = await makeAlbum(tmp);
      s = await startTestServer({ backend: c.backend, ...(c.login && { users: { alice: 'alice-secret' } }) });
      ({ page, answers, errors } = await newPage(browser, c.login ? { user: 'alice', password: 'alice-secret' } : {}));
      await page.setViewport({ width: 1100, height: 720 });
      await page.goto(home(), { waitUntil: 'networkidle0' });
    });
    after(async () => {
      await browser?.close();
      await s?.close();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    const row = (name: string): string => `tr[data-name="${name}"]`;
    const clearNotice = (): Promise<unknown> => page.$eval('#notice', (n) => void (n.textContent = ''));
    const noticeMatching = (re: RegExp): Promise<unknown> => page.waitForFunction((src) => new RegExp(src).test(document.getElementById('notice')?.textContent ?? ''), { timeout: 150_000 }, re.source);

    it('offers the toolbar and row actions where the user may write', async () => {
      assert.equal(await page.$eval('body', (b) => b.dataset.writable), 'true');
      for (const a of ['upload-files', 'upload-folder', 'new-folder']) assert.ok(await page.$(`#toolbar button[data-action="${a}"]`), a);
      assert.ok(await page.$('input#upload-folder-input[type=file]'), 'actions.js added the folder picker');
    });

    it('uploads a whole folder through the folder picker: subfolders made, every file stored', async () => {
      const input = (await page.$('input#upload-folder-input')) as ElementHandle<HTMLInputElement>;
      await input.uploadFile(album);
      await noticeMatching(/Uploaded 4 files and 3 folders/);
      await page.waitForSelector(row('album'));
      assert.equal(await page.$$eval('#upload-list li.done', (l) => l.length), 4);
      for (const [rel, sha] of Object.entries(await hashTree(album))) {
        const got = await sha256Url(`${home()}album/${rel.split('/').map(encodeURIComponent).join('/')}`, auth);
        assert.equal(got.status, 200, rel);
        assert.equal(got.sha256, sha, rel);
      }
    });

    if (c.big) {
      it('uploads a 200 MB file with its progress bar and the total reaching 100%', async () => {
        const path = join(tmp, 'big.bin');
        const sha = await makeBigFile(path, BIG);
        try {
          const input = (await page.$('input#upload-files-input')) as ElementHandle<HTMLInputElement>;
          await input.uploadFile(path);
          // Progress is shown while it goes (the bar moves before the end).
          await page.waitForFunction(() => [...document.querySelectorAll('#upload-list li')].some((li) => li.textContent?.includes('big.bin')), { timeout: 60_000 });
          await page.waitForFunction(() => {
            const li = [...document.querySelectorAll('#upload-list li')].find((l) => l.textContent?.includes('big.bin'));
            return li?.classList.contains('done') && (li.querySelector('progress') as HTMLProgressElement).value === 100 && (document.getElementById('upload-total') as HTMLProgressElement).value === 100;
          }, { timeout: 170_000 });
          await page.waitForSelector(row('big.bin'));
          await shoot(page, 'web-upload');
          const got = await sha256Url(`${home()}big.bin`, auth);
          assert.equal(got.bytes, BIG);
          assert.equal(got.sha256, sha);
        } finally {
          await rm(path, { force: true });
        }
      });
    }

    it('resumes an upload cut off mid-way: the next PUT goes on from what the server holds', async () => {
      // A first piece of 256 KiB (a test hook; each next piece twice the last), and the second piece's connection cut once.
      await page.evaluate(() => ((window as unknown as { gitdavChunkBytes: number }).gitdavChunkBytes = 256 * 1024));
      const path = join(tmp, 'resumed.bin');
      const sha = await makeBigFile(path, 1024 * 1024 + 123);
      let cut = 0;
      const ranges: string[] = [];
      await page.setRequestInterception(true);
      const onRequest = (r: import('puppeteer-core').HTTPRequest): void => {
        if (r.isInterceptResolutionHandled()) return;
        const range = r.headers()['content-range'];
        if (r.method() === 'PUT' && r.url().endsWith('/resumed.bin')) ranges.push(range ?? 'whole');
        if (r.method() === 'PUT' && range?.startsWith('bytes 262144-') && cut++ === 0) void r.abort('connectionreset');
        else void r.continue();
      };
      page.on('request', onRequest);
      try {
        await clearNotice();
      await (await page.$('input#upload-files-input'))!.uploadFile(path);
        await noticeMatching(/Uploaded 1 file\b/);
        assert.equal(cut, 2, 'the cut chunk was sent again');
        assert.deepEqual(ranges, ['whole', 'bytes 262144-786431/1048699', 'bytes 262144-786431/1048699', 'bytes 786432-1048698/1048699']);
        const got = await sha256Url(`${home()}resumed.bin`, auth);
        assert.equal(got.sha256, sha);
      } finally {
        page.off('request', onRequest);
        await page.setRequestInterception(false);
        await page.evaluate(() => delete (window as unknown as { gitdavChunkBytes?: number }).gitdavChunkBytes);
        await rm(path, { force: true });
      }
    });

    it('uploads files dropped onto the folder', async () => {
      await clearNotice();
      await page.evaluate(() => {
        const dt = new DataTransfer();
        dt.items.add(new File(['dropped one\n'], 'dropped-1.txt', { type: 'text/plain' }));
        dt.items.add(new File(['dropped two\n'], 'dropped-2.txt', { type: 'text/plain' }));
        const main = document.querySelector('main#folder')!;
        main.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        main.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      });
      await noticeMatching(/Uploaded 2 files\./);
      await page.waitForSelector(row('dropped-2.txt'));
      assert.equal((await raw(s.url, '/dropped-1.txt', { headers: auth })).text, 'dropped one\n');
      assert.equal((await raw(s.url, '/dropped-2.txt', { headers: auth })).text, 'dropped two\n');
      assert.match(await page.$eval('#upload-summary', (p) => p.textContent ?? ''), /2 files: 100%/);
    });

    it('makes a folder (MKCOL), and refuses a bad name with a clear message before asking the server', async () => {
      answers.push('new stuff');
      await page.click('button[data-action="new-folder"]');
      await page.waitForSelector(row('new stuff'));
      assert.equal((await raw(s.url, '/new%20stuff/', { method: 'PROPFIND', headers: { Depth: '0', ...auth } })).status, 207);
      await clearNotice();
      answers.push('x/../y');
      await page.click('button[data-action="new-folder"]');
      await noticeMatching(/No folder was made: .*cannot contain "\/"/);
      await clearNotice();
      answers.push('z'.repeat(300));
      await page.click('button[data-action="new-folder"]');
      await noticeMatching(/255 bytes at most/);
      assert.equal(await page.$$eval('tr[data-name^="z"]', (r) => r.length), 0);
      // The server's own refusal (a folder that exists) is shown with its status and message.
      await clearNotice();
      answers.push('album');
      await page.click('button[data-action="new-folder"]');
      await noticeMatching(/^405 Method Not Allowed: \/album\/? already exists/);
      assert.equal(await page.$eval('#notice', (n) => n.className), 'error');
    });

    it('renames a file, moves it into a folder, and asks before replacing an existing name', async () => {
      answers.push('renamed.bin');
      await page.click(`${row('resumed.bin')} button[data-action="rename"]`);
      await page.waitForSelector(row('renamed.bin'));
      assert.equal((await raw(s.url, '/resumed.bin', { method: 'HEAD', headers: auth })).status, 404);
      // A move into a folder by a relative path.
      await clearNotice();
      answers.push('new stuff/moved.bin');
      await page.click(`${row('renamed.bin')} button[data-action="rename"]`);
      await page.waitForFunction(() => !document.querySelector('tr[data-name="renamed.bin"]'));
      await noticeMatching(/Moved "renamed.bin" to \/new stuff\/moved.bin/);
      assert.equal((await raw(s.url, '/new%20stuff/moved.bin', { method: 'HEAD', headers: auth })).status, 200);
      // Onto an existing name: 412 from the server, a question, and "no" keeps both.
      await raw(s.url, '/keep.txt', { method: 'PUT', body: 'keep\n', headers: auth });
      await raw(s.url, '/other.txt', { method: 'PUT', body: 'other\n', headers: auth });
      await page.reload({ waitUntil: 'networkidle0' });
      answers.push('keep.txt', 'dismiss');
      await page.click(`${row('other.txt')} button[data-action="rename"]`);
      await until(() => answers.length === 0);
      await settle(page);
      assert.equal((await raw(s.url, '/keep.txt', { headers: auth })).text, 'keep\n');
      assert.equal((await raw(s.url, '/other.txt', { headers: auth })).text, 'other\n');
      // "yes" replaces.
      answers.push('keep.txt', 'accept');
      await page.click(`${row('other.txt')} button[data-action="rename"]`);
      await page.waitForFunction(() => !document.querySelector('tr[data-name="other.txt"]'));
      assert.equal((await raw(s.url, '/keep.txt', { headers: auth })).text, 'other\n');
    });

    it('deletes after a confirmation; a dismissed confirmation deletes nothing', async () => {
      answers.push('dismiss');
      await page.click(`${row('keep.txt')} button[data-action="delete"]`);
      await until(() => answers.length === 0);
      await settle(page);
      assert.equal((await raw(s.url, '/keep.txt', { method: 'HEAD', headers: auth })).status, 200);
      await clearNotice();
      answers.push('accept');
      await page.click(`${row('new stuff')} button[data-action="delete"]`);
      await page.waitForFunction(() => !document.querySelector('tr[data-name="new stuff"]'));
      await noticeMatching(/Deleted "new stuff"/);
      assert.equal((await raw(s.url, '/new%20stuff/', { method: 'PROPFIND', headers: { Depth: '0', ...auth } })).status, 404);
      if (c.backend === 'git' && !c.login) await shoot(page, 'web-actions');
    });

    it('downloads the uploaded folder as a zip whose members are the uploaded files', async () => {
      const href = await page.$eval(`${row('album')} a`, (a) => (a as HTMLAnchorElement).href);
      const zipPath = join(tmp, 'album.zip');
      const r = await download(`${href}?zip=1`, zipPath, auth);
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/zip');
      assert.match(String(r.headers['content-disposition']), /^attachment; filename="album\.zip"; filename\*=UTF-8''album\.zip$/);
      const members = await readZip(zipPath);
      const expected: Record<string, string> = {};
      for (const [rel, sha] of Object.entries(await hashTree(album))) expected[`album/${rel}`] = sha;
      assert.deepEqual(members, expected);
      assert.deepEqual(errors.filter((e) => !/Failed to load resource|net::ERR_CONNECTION_RESET/.test(e)), []);
    });
  });
}

/** Waits (polling) until a condition in the test holds. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(cond(), 'the condition came true');
}

/** Lets the page finish what a dialog's answer started (no request in flight for a while). */
async function settle(page: Page): Promise<void> {
  await page.waitForNetworkIdle({ idleTime: 300, timeout: 30_000 });
}

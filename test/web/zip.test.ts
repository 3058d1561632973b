/**
 * A folder as a zip (lib/web/zip.ts): streamed (chunked, no Content-Length), members and bytes as
 * stored (read back by Python's zipfile), empty folders as directory members, /.history left out,
 * RFC 6266 names; a file's ?zip=1 is a 400; a folder over the limits (a real one of 100,000 files, and
 * the byte limit) is a 413 with a message before any byte, shown as a message on the page.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';
import { ZIP_LIMITS } from '../../lib/web/zip.js';
import { download, readZip } from './actions-helpers.js';
import { newPage, openBrowser } from './browser.js';
import { createHash } from 'node:crypto';

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

for (const backend of ['git', 'fs'] as const) {
  describe(`web interface: a folder as a zip (${backend})`, function () {
    this.timeout(120_000);
    let s: TestServer;
    let tmp: string;
    const files: Record<string, string> = { 'a.txt': 'alpha\n', 'sub/b.txt': 'beta\n', 'sub/deep/c.txt': 'gamma\n', 'photo.jpg': 'not really a jpeg' };
    before(async () => {
      tmp = await mkdtemp(join(tmpdir(), 'gitdav-zip-'));
      s = await startTestServer({ backend });
      for (const dir of ['/Fotos été', '/Fotos été/sub', '/Fotos été/sub/deep', '/Fotos été/empty', '/Fotos été/empty/inner']) {
        assert.equal((await raw(s.url, encodeURI(dir), { method: 'MKCOL' })).status, 201);
      }
      for (const [rel, body] of Object.entries(files)) assert.equal((await raw(s.url, encodeURI(`/Fotos été/${rel}`), { method: 'PUT', body })).status, 201);
      assert.equal((await raw(s.url, '/top.txt', { method: 'PUT', body: 'top\n' })).status, 201);
    });
    after(async () => {
      await s?.close();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    it('streams the folder: every file, empty folders as directory members, an RFC 6266 name', async () => {
      const path = join(tmp, 'f.zip');
      const r = await download(`${s.url}${encodeURI('/Fotos été/')}?zip=1`, path);
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/zip');
      assert.equal(r.headers['content-length'], undefined, 'streamed: the length is not known up front');
      assert.equal(r.headers['transfer-encoding'], 'chunked');
      assert.equal(r.headers['content-disposition'], `attachment; filename="Fotos _t_.zip"; filename*=UTF-8''Fotos%20%C3%A9t%C3%A9.zip`);
      const expected: Record<string, string> = { 'Fotos été/empty/inner/': 'dir' };
      for (const [rel, body] of Object.entries(files)) expected[`Fotos été/${rel}`] = sha(body);
      assert.deepEqual(await readZip(path), expected);
    });

    it('the root: its files, and no /.history', async () => {
      const path = join(tmp, 'root.zip');
      const r = await download(`${s.url}/?zip=1`, path);
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-disposition']), /filename="files\.zip"/);
      const names = Object.keys(await readZip(path));
      assert.ok(names.includes('files/top.txt'), names.join());
      assert.ok(names.includes('files/Fotos été/sub/deep/c.txt'));
      assert.ok(!names.some((n) => n.includes('.history')), 'no history in the zip');
    });

    it('HEAD answers the headers only; a file or a bad ?zip= value is a 400 with a message', async () => {
      const head = await raw(s.url, `${encodeURI('/Fotos été/')}?zip=1`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      const file = await raw(s.url, '/top.txt?zip=1');
      assert.equal(file.status, 400);
      assert.match(file.text, /is a file: only a folder can be downloaded as a zip/);
      assert.equal((await raw(s.url, '/?zip=yes')).status, 400);
      assert.equal((await raw(s.url, '/nope/?zip=1')).status, 404);
    });

    it('a folder over the byte limit is refused with 413 and a message, before any byte', async () => {
      const saved = ZIP_LIMITS.bytes;
      ZIP_LIMITS.bytes = 20;
      try {
        const r = await raw(s.url, `${encodeURI('/Fotos été/')}?zip=1`);
        assert.equal(r.status, 413);
        assert.doesNotMatch(r.headers['content-type'] as string, /zip/);
        assert.match(r.text, /too big to download as a zip/);
      } finally {
        ZIP_LIMITS.bytes = saved;
      }
    });
  });
}

describe('web interface: a zip of a folder with 100,000 files', function () {
  this.timeout(300_000);
  let s: TestServer;
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gitdav-zip-many-'));
    // Made on disk (the folder backend serves what is there): 100,000 uploads would take minutes.
    await mkdir(join(root, 'many'));
    const names = Array.from({ length: 100_000 }, (_, i) => `f${String(i).padStart(6, '0')}.txt`);
    for (let i = 0; i < names.length; i += 500) await Promise.all(names.slice(i, i + 500).map((n) => writeFile(join(root, 'many', n), 'x')));
    s = await startTestServer({ backend: 'fs', root });
  });
  after(async () => {
    await s?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('is refused with 413 and a message that says the limit', async () => {
    const r = await raw(s.url, '/many/?zip=1');
    assert.equal(r.status, 413);
    assert.match(r.text, new RegExp(`more than ${ZIP_LIMITS.files.toLocaleString('en')} files`));
    assert.match(r.text, /Download its subfolders one at a time/);
  });

  it('on the page, "Download as zip" shows that message instead of downloading', async function () {
    const browser = await openBrowser(this);
    try {
      const { page } = await newPage(browser);
      await page.goto(`${s.url}/many/`, { waitUntil: 'networkidle0' });
      await page.click('a[data-action="zip"]');
      await page.waitForFunction(() => /No zip: 413.*too big to download as a zip/.test(document.getElementById('notice')?.textContent ?? ''));
      assert.equal(await page.$eval('#notice', (n) => n.className), 'error');
    } finally {
      await browser.close();
    }
  });
});

/**
 * An upload cut off for real (lib/web/assets/actions.js, "Resuming" in docs/web.md): the page talks to
 * the server through a small proxy that, once, forwards part of a piece's body and then closes both
 * connections. The server keeps nothing of the cut piece (the file stays as the last whole piece left
 * it); the page learns that from a HEAD, sends the piece again, and the file ends up whole.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, ElementHandle } from 'puppeteer-core';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';
import { makeBigFile, sha256Url } from './actions-helpers.js';
import { newPage, openBrowser } from './browser.js';

const PIECE = 1024 * 1024;

describe('web interface: an upload cut off mid-body resumes', function () {
  this.timeout(180_000);
  let s: TestServer;
  let browser: Browser | undefined;
  let proxy: Server | undefined;
  let tmp: string;
  const seen: string[] = [];
  let heldAfterCut = -1;

  before(async function () {
    browser = await openBrowser(this);
    tmp = await mkdtemp(join(tmpdir(), 'gitdav-resume-'));
    s = await startTestServer({ backend: 'git' });
    const upstream = new URL(s.url);
    let cuts = 0;
    proxy = createServer((req, res) => {
      const range = req.headers['content-range'];
      if (req.method === 'PUT') seen.push(range ?? 'whole');
      const cut = req.method === 'PUT' && range?.startsWith(`bytes ${PIECE}-`) && cuts++ === 0;
      const up = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      if (!cut) {
        req.pipe(up);
        return;
      }
      // Half the second piece (2 × PIECE long: pieces double) reaches the server, then both connections drop, as on a network cut.
      let sent = 0;
      req.on('data', (c: Buffer) => {
        sent += c.length;
        up.write(c);
        if (sent >= PIECE) {
          req.pause();
          setTimeout(async () => {
            up.destroy();
            req.socket.destroy();
            // What the server holds right after the cut: the first piece, nothing of the second.
            heldAfterCut = Number((await raw(s.url, '/cut.bin', { method: 'HEAD' })).headers['content-length']);
          }, 200);
        }
      });
    });
    await new Promise<void>((resolve) => proxy!.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await browser?.close();
    proxy?.close();
    await s?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('the server keeps the whole pieces only; the page asks, sends the cut piece again (pieces double), and the file is whole', async () => {
    const path = join(tmp, 'cut.bin');
    const sha = await makeBigFile(path, 4 * PIECE + 5);
    const { page } = await newPage(browser!);
    await page.goto(`http://127.0.0.1:${(proxy!.address() as AddressInfo).port}/`, { waitUntil: 'networkidle0' });
    await page.evaluate((n) => ((window as unknown as { gitdavChunkBytes: number }).gitdavChunkBytes = n), PIECE);
    await ((await page.$('input#upload-files-input')) as ElementHandle<HTMLInputElement>).uploadFile(path);
    await page.waitForFunction(() => /Uploaded 1 file\./.test(document.getElementById('notice')?.textContent ?? ''), { timeout: 120_000 });
    assert.equal(heldAfterCut, PIECE, 'after the cut the server held the first piece only');
    const second = `bytes ${PIECE}-${3 * PIECE - 1}/${4 * PIECE + 5}`;
    assert.deepEqual(seen, ['whole', second, second, `bytes ${3 * PIECE}-${4 * PIECE + 4}/${4 * PIECE + 5}`]);
    const got = await sha256Url(`${s.url}/cut.bin`);
    assert.equal(got.sha256, sha);
    assert.equal(await page.$eval('progress#upload-total', (p) => (p as HTMLProgressElement).value), 100);
  });
});

/**
 * The folder page as HTML, without a browser: names with markup characters and any Unicode are
 * escaped everywhere they appear (row data, link text, title, breadcrumbs) and read back unchanged
 * through test/helpers/html-rows.ts (a fast-check property over real PUTs); and a person without
 * JavaScript browses by links alone — into a folder, sorting by a column, downloading a file, back by
 * the breadcrumbs — and sees the empty-folder message and the footer's counts.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { htmlRows } from '../helpers/html-rows.js';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** Every link of a page: its href (unescaped) and its text (tags dropped, unescaped). */
function links(html: string): Array<{ href: string; text: string; attrs: string }> {
  return [...html.matchAll(/<a ([^>]*)>(.*?)<\/a>/gs)].map((m) => ({ href: unescape(/href="([^"]*)"/.exec(m[1]!)?.[1] ?? ''), text: unescape(m[2]!.replace(/<[^>]*>/g, '')), attrs: m[1]! }));
}

/** The text of an element by a regex around it, unescaped. */
const textOf = (html: string, re: RegExp) => unescape(re.exec(html)?.[1] ?? '');

const seg = (name: string) => encodeURIComponent(name);

for (const backend of ['fs', 'git'] as const) {
  describe(`web folder page as HTML (${backend})`, function () {
    this.timeout(300_000);
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ backend });
    });
    after(async () => s?.close());

    it('names with < > & " \' and any Unicode are escaped and read back unchanged', async () => {
      const char = fc.constantFrom('<', '>', '&', '"', "'", 'a', 'Z', ' ', 'é', 'ß', '中', '😀', '\u0301', '=', '#', '%', '?', ';');
      const name = fc.array(char, { minLength: 1, maxLength: 10 }).map((a) => `Q${a.join('')}`); // a letter first: not "." or "..", and "<Q" is no tag of the page
      let run = 0;
      await fc.assert(
        fc.asyncProperty(name, fc.uniqueArray(name, { minLength: 1, maxLength: 4 }), async (folder, files) => {
          const dir = `/p${run++}-${seg(folder)}`;
          assert.equal((await raw(s.url, dir, { method: 'MKCOL' })).status, 201);
          for (const f of files) assert.equal((await raw(s.url, `${dir}/${seg(f)}`, { method: 'PUT', body: f })).status, 201, f);
          const r = await raw(s.url, `${dir}/`, { headers: { Accept: 'text/html' } });
          assert.equal(r.status, 200);
          const folderName = `p${run - 1}-${folder}`;
          assert.deepEqual(htmlRows(r.text).map((x) => x.name).sort(), [...files].sort(), 'data-name round-trips');
          const shown = links(r.text).filter((l) => files.includes(l.text)).map((l) => l.text);
          assert.deepEqual(shown.sort(), [...files].sort(), 'link text round-trips');
          for (const row of htmlRows(r.text)) assert.equal((await raw(s.url, row.href)).text, row.name, 'each href fetches its file');
          assert.equal(textOf(r.text, /<h1>(.*?)<\/h1>/s), folderName, 'title');
          assert.equal(textOf(r.text, /<span aria-current="page">(.*?)<\/span>/s), folderName, 'breadcrumb');
          assert.equal(textOf(r.text, /<title>(.*?) — gitdav<\/title>/s), folderName);
          // No name ever opens a tag: every name starts with Q, and no tag of the page does; and a
          // name with < or > never appears as it is; every & on the page starts an entity.
          assert.doesNotMatch(r.text, /<Q/);
          for (const n of [...files, folderName]) if (/[<>]/.test(n)) assert.equal(r.text.includes(n), false, n);
          assert.doesNotMatch(r.text, /&(?!(amp|lt|gt|quot|#39);)/);
        }),
        { numRuns: backend === 'git' ? 12 : 25 },
      );
    });

    it('browsing without JavaScript: links alone lead in, sort, download and back', async () => {
      await raw(s.url, '/docs', { method: 'MKCOL' });
      await raw(s.url, '/docs/empty', { method: 'MKCOL' });
      await raw(s.url, '/docs/big.txt', { method: 'PUT', body: 'b'.repeat(3000) });
      await raw(s.url, '/docs/small.txt', { method: 'PUT', body: 's' });
      await raw(s.url, '/docs/mid.md', { method: 'PUT', body: 'm'.repeat(200) });
      const get = async (href: string) => {
        const r = await raw(s.url, href, { headers: { Accept: 'text/html' } });
        assert.equal(r.status, 200, href);
        return r.text;
      };
      const follow = (html: string, text: string) => {
        const l = links(html).find((x) => x.text === text);
        assert.ok(l, `a link "${text}"`);
        return l.href;
      };
      const home = await get('/');
      const docs = await get(follow(home, 'docs/'));
      assert.deepEqual(htmlRows(docs).map((x) => x.name), ['empty/', 'big.txt', 'mid.md', 'small.txt']);
      assert.match(docs, /<p class="folder-stats">1 folder · 3 files · 3\.1 KiB<\/p>/);
      assert.match(docs, /<span class="icon icon-text" aria-hidden="true"><\/span><a href="\/docs\/mid.md">/);
      const bySize = await get(follow(docs, 'Size'));
      assert.deepEqual(htmlRows(bySize).map((x) => x.name), ['empty/', 'big.txt', 'mid.md', 'small.txt'], 'largest first, folders first');
      const smallFirst = await get(follow(bySize, 'Size▼'));
      assert.deepEqual(htmlRows(smallFirst).map((x) => x.name), ['empty/', 'small.txt', 'mid.md', 'big.txt'], 'the active column turns round');
      const file = await raw(s.url, follow(smallFirst, 'small.txt'));
      assert.equal(file.text, 's', 'the link downloads the file');
      const empty = await get(follow(docs, 'empty/'));
      assert.match(empty, /<p class="empty">This folder is empty\./);
      assert.match(empty, /0 folders · 0 files · 0 B/);
      assert.equal(await get(follow(empty, 'docs')), docs, 'breadcrumb back');
      assert.equal(await get(follow(empty, 'Home')), home);
      assert.equal(follow(empty, '../'), '/docs/');
      const history = links(docs).find((l) => l.text === 'History');
      if (backend === 'git') assert.equal(history?.href, '/docs/?view=history');
      else assert.equal(history, undefined, 'no history on a folder backend');
    });
  });
}

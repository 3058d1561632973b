/**
 * The folder page's sorting and paging over HTTP (lib/dav/listing.ts, lib/web/folder-page.ts), on
 * both backends: in each order (name, size, date; up and down) the pages, followed by their links
 * forward and then back, hold every row exactly once, folders first, in that order; bad `?sort=`,
 * `?order=` and cursors are a 400 with a message. The folder (1,040 files of many sizes and dates,
 * 12 folders: two pages) is written before the server starts: fs by files with set mtimes, git by one
 * `git fast-import` of three dated commits.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareKeys, PAGE_SIZE } from '../../lib/dav/listing.js';
import { pageLink } from '../helpers/html-rows.js';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';

const FILES = PAGE_SIZE + 40;
const FOLDERS = 12;
const fileName = (i: number) => `f${String((i * 7919) % FILES).padStart(4, '0')}.txt`;
const bodyOf = (i: number) => 'x'.repeat((i * 31) % 37);
const DAYS = [Date.UTC(2024, 0, 1), Date.UTC(2024, 5, 1), Date.UTC(2025, 0, 1)];

/** fs: the files written, each with one of three mtimes. */
function fsFolder(root: string): void {
  mkdirSync(join(root, 'big'));
  for (let d = 0; d < FOLDERS; d++) {
    mkdirSync(join(root, 'big', `d${String(d).padStart(2, '0')}`));
    writeFileSync(join(root, 'big', `d${String(d).padStart(2, '0')}`, 'x.txt'), 'x');
  }
  for (let i = 0; i < FILES; i++) {
    const p = join(root, 'big', fileName(i));
    writeFileSync(p, bodyOf(i));
    const t = new Date(DAYS[i % 3]! + i * 1000);
    utimesSync(p, t, t);
  }
}

/** git: a bare repository on main with three commits a few months apart, each adding a third of the files. */
function gitFolder(root: string): void {
  const init = spawnSync('git', ['init', '-q', '--bare', '-b', 'main', root], { encoding: 'utf8' });
  assert.equal(init.status, 0, init.stderr);
  const parts: string[] = [];
  for (let c = 0; c < 3; c++) {
    const msg = `commit ${c}`;
    parts.push(`commit refs/heads/main\ncommitter T <t@example.org> ${DAYS[c]! / 1000} +0000\ndata ${msg.length}\n${msg}\n`);
    if (c === 0) for (let d = 0; d < FOLDERS; d++) parts.push(`M 100644 inline big/d${String(d).padStart(2, '0')}/x.txt\ndata 1\nx\n`);
    for (let i = c; i < FILES; i += 3) parts.push(`M 100644 inline big/${fileName(i)}\ndata ${bodyOf(i).length}\n${bodyOf(i)}\n`);
  }
  const r = spawnSync('git', ['--git-dir', root, 'fast-import', '--quiet'], { input: parts.join(''), encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
}

interface Shown {
  name: string;
  folder: boolean;
  size: number;
  modified: number;
}

/** The rows of a page with their size and date (data attributes). */
function rowsOf(html: string): Shown[] {
  return [...html.matchAll(/<tr data-href="[^"]*" data-name="([^"]*)" data-kind="(file|collection)" data-size="(\d+)" data-modified="([^"]*)">/g)].map((m) => ({
    name: m[1]! + (m[2] === 'collection' ? '/' : ''),
    folder: m[2] === 'collection',
    size: Number(m[3]),
    modified: Date.parse(m[4]!),
  }));
}

/** The expected order, written out: folders first; then the field (ties by name, ascending) or names. */
function expected(rows: Shown[], sort: string, desc: boolean): string[] {
  const sign = desc ? -1 : 1;
  return [...rows]
    .sort((a, b) => {
      if (a.folder !== b.folder) return a.folder ? -1 : 1;
      if (sort === 'name') return sign * compareKeys(a.name, b.name);
      const field = sort === 'size' ? 'size' : 'modified';
      return sign * (a[field] - b[field]) || compareKeys(a.name, b.name);
    })
    .map((r) => r.name);
}

for (const backend of ['fs', 'git'] as const) {
  describe(`web folder page: sorting across pages (${backend})`, function () {
    this.timeout(300_000);
    let s: TestServer;
    let root: string;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), `gitdav-sort-${backend}-`));
      if (backend === 'git') gitFolder(root);
      else fsFolder(root);
      s = await startTestServer({ root, backend });
    });
    after(async () => {
      await s?.close();
      await rm(root, { recursive: true, force: true });
    });

    /** Every page forward by "next →", then back by "← previous" from the last one. */
    async function walk(start: string): Promise<{ forward: Shown[]; backward: Shown[]; pages: number }> {
      const pages: Shown[][] = [];
      let at: string | undefined = start;
      let html = '';
      for (let n = 0; at !== undefined && n < 10; n++) {
        const r = await raw(s.url, at);
        assert.equal(r.status, 200, `${at}: ${r.text.slice(0, 200)}`);
        html = r.text;
        pages.push(rowsOf(html).filter((x) => x.name !== '../'));
        at = pageLink(html, 'next');
      }
      const back: Shown[][] = [pages[pages.length - 1]!];
      for (let at2 = pageLink(html, 'prev'), n = 0; at2 !== undefined && n < 10; n++) {
        const r = await raw(s.url, at2);
        back.unshift(rowsOf(r.text));
        at2 = pageLink(r.text, 'prev');
      }
      return { forward: pages.flat(), backward: back.flat(), pages: pages.length };
    }

    for (const sort of ['name', 'size', 'modified']) {
      for (const order of ['asc', 'desc']) {
        it(`?sort=${sort}&order=${order}: every row exactly once, folders first, in order, both ways`, async () => {
          const { forward, backward, pages } = await walk(`/big/?sort=${sort}&order=${order}`);
          assert.equal(pages, 2, 'two pages');
          const names = forward.map((r) => r.name);
          assert.equal(names.length, FILES + FOLDERS, 'every row');
          assert.equal(new Set(names).size, names.length, 'none repeated');
          assert.deepEqual(names, expected(forward, sort, order === 'desc'), 'in order');
          assert.deepEqual(backward.map((r) => r.name), names, 'the same rows walking back');
          assert.ok(forward.slice(0, FOLDERS).every((r) => r.folder), 'folders first');
          if (sort !== 'name') assert.ok(new Set(forward.map((r) => r[sort === 'size' ? 'size' : 'modified'])).size > 2, 'the field varies');
        });
      }
    }

    it('numbered pages keep the sort; the default order is names, ascending, with plain links', async () => {
      const p2 = await raw(s.url, '/big/?sort=size&order=desc&page=2');
      assert.equal(p2.status, 200);
      assert.match(pageLink(p2.text, 'prev') ?? '', /\?sort=size&order=desc&page=1$/);
      const p1 = rowsOf((await raw(s.url, '/big/?sort=size&order=desc&page=1')).text);
      const all = [...p1, ...rowsOf(p2.text)].filter((r) => r.name !== '../').map((r) => r.name);
      assert.equal(new Set(all).size, FILES + FOLDERS);
      const plain = await raw(s.url, '/big/');
      assert.match(pageLink(plain.text, 'next') ?? '', /^\/big\/\?after=/);
      assert.deepEqual(rowsOf(plain.text).map((r) => r.name), rowsOf((await raw(s.url, '/big/?sort=name&order=asc')).text).map((r) => r.name));
      assert.match(plain.text, /<th scope="col" class="name sorted" aria-sort="ascending">/);
      assert.match(plain.text, new RegExp(`${FOLDERS} folders · ${FILES.toLocaleString('en')} files · `), 'the footer counts the whole folder');
    });

    it('column headers link to their sort; the active one has aria-sort and turns its order round', async () => {
      const r = await raw(s.url, '/big/?sort=size&order=desc');
      assert.match(r.text, /<th scope="col" class="n sorted" aria-sort="descending"><a class="sort" href="\/big\/\?sort=size&amp;order=asc"/);
      assert.match(r.text, /<th scope="col" class="name"><a class="sort" href="\/big\/\?sort=name&amp;order=asc"/);
      assert.match(r.text, /<th scope="col" class="when"><a class="sort" href="\/big\/\?sort=modified&amp;order=desc"/);
      assert.equal((r.text.match(/aria-sort=/g) ?? []).length, 1);
    });

    it('a bad ?sort=, ?order= or cursor is a 400 that says what is wrong', async () => {
      const cases: Array<[string, RegExp]> = [
        ['/big/?sort=colour', /\?sort= takes name, size, modified \(got "colour"\)/],
        ['/big/?sort=', /\?sort= takes/],
        ['/big/?order=up', /\?order= takes asc, desc \(got "up"\)/],
        ['/big/?sort=name&sort=size', /\?sort= takes/],
        ['/big/?sort=size&after=f0001.txt', /cursor/],
        ['/big/?sort=modified&before=x', /cursor/],
        ['/big/?sort=size&page=0', /\?page= takes a page number/],
      ];
      for (const [path, message] of cases) {
        const r = await raw(s.url, path);
        assert.equal(r.status, 400, path);
        assert.match(r.text, message, path);
      }
      assert.equal((await raw(s.url, '/big/d00/x.txt?sort=colour')).text, 'x', 'a file ignores ?sort=');
    });

    it(`History links: ${backend === 'git' ? 'the folder and each row link to ?view=history' : 'none on a folder backend'}`, async () => {
      const r = await raw(s.url, '/big/?sort=name');
      if (backend === 'git') {
        assert.match(r.text, /<a href="\/big\/\?view=history" class="history-link">History<\/a>/);
        assert.match(r.text, /<a class="row-history" href="\/big\/d00\/\?view=history" aria-label="History of d00\/">History<\/a>/);
      } else {
        assert.doesNotMatch(r.text, /view=history/);
      }
    });
  });
}

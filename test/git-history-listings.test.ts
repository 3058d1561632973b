/**
 * History listings that tell the truth (issue 14): each commit folder dated by its own commit, newest
 * first on PROPFIND and HTML, long listings paged for browsers and complete for WebDAV clients up to
 * the cap (a day beyond it lists its hours); deleted paths findable in versions/ and deleted/, and
 * restored by one COPY. Commits the test needs in bulk are written with `git fast-import`.
 */
import assert from 'node:assert/strict';
import { htmlRows, pageLink } from './helpers/html-rows.js';
import { elements, parseXml, textOf, type XmlElement } from '../lib/dav/xml/parse.js';
import { serveGitNow, type GitServed } from './helpers/history.js';
import { raw } from './helpers/server.js';
import { tool } from './helpers/tools.js';

interface Member {
  href: string;
  modified: Date;
  displayname: string;
  deleted?: string;
}

function find(el: XmlElement, local: string): XmlElement | undefined {
  for (const c of elements(el)) {
    if (c.local === local) return c;
    const deeper = find(c, local);
    if (deeper) return deeper;
  }
  return undefined;
}

type Served = GitServed;
const serve = serveGitNow;

async function propfind(s: Served, path: string, depth: '0' | '1'): Promise<Member[]> {
  const r = await raw(s.url, path, { method: 'PROPFIND', headers: { Depth: depth } });
  assert.equal(r.status, 207, `${path}: ${r.status} ${r.text.slice(0, 300)}`);
  return elements(parseXml(r.text)).map((resp) => {
    const deleted = find(resp, 'deleted');
    return {
      href: textOf(find(resp, 'href')!),
      modified: new Date(textOf(find(resp, 'getlastmodified')!)),
      displayname: textOf(find(resp, 'displayname')!),
      ...(deleted ? { deleted: textOf(deleted) } : {}),
    };
  });
}

/** The rows (name, date) and page links of an HTML listing. */
async function html(s: Served, path: string): Promise<{ rows: Array<{ name: string; date: string; deleted: boolean }>; next?: string; prev?: string }> {
  const r = await raw(s.url, path, { headers: { Accept: 'text/html' } });
  assert.equal(r.status, 200, `${path}: ${r.status}`);
  const rows = htmlRows(r.text).map((x) => ({ name: x.name, date: x.date, deleted: x.deleted }));
  return { rows, next: pageLink(r.text, 'next'), prev: pageLink(r.text, 'prev') };
}

const git = (s: Served, ...args: string[]) => tool('git', ['--git-dir', s.root, ...args]);

/** Appends commits to main with `git fast-import`, each changing one file, at the given times (unix seconds). */
async function appendCommits(s: Served, times: number[]): Promise<void> {
  const parent = (await git(s, 'rev-parse', '--verify', '-q', 'main')).stdout.trim();
  let stream = '';
  times.forEach((t, i) => {
    const body = `n${i}\n`;
    stream += `commit refs/heads/main\ncommitter T <t@example.org> ${t} +0000\ndata 2\nc\n`;
    if (i === 0 && parent) stream += `from ${parent}\n`;
    stream += `M 100644 inline bulk.txt\ndata ${Buffer.byteLength(body)}\n${body}\n`;
  });
  const r = await tool('git', ['--git-dir', s.root, 'fast-import', '--quiet', '--force'], { input: stream });
  assert.equal(r.code, 0, r.stderr);
}

const DAY = Date.UTC(2024, 2, 5) / 1000; // 2024-03-05T00:00:00Z

describe('history listings: dates, order, paging', () => {
  let s: Served;
  before(async () => {
    s = await serve();
    await raw(s.url, '/a.txt', { method: 'PUT', body: 'a' });
    // Two commits on one day and one on the next, hours apart: each folder must show its own date.
    await appendCommits(s, [DAY + 10 * 3600, DAY + 11 * 3600, DAY + 86400 + 9 * 3600]);
  });
  after(() => s.close());

  it('commits/ lists newest first, each dated by its own commit, at Depth 1, Depth 0 and in HTML', async () => {
    const shas = (await git(s, 'rev-list', 'main')).stdout.trim().split('\n');
    const members = (await propfind(s, '/.history/commits/', '1')).slice(1);
    assert.deepEqual(members.map((m) => m.href), shas.map((c) => `/.history/commits/${c.slice(0, 12)}/`));
    assert.deepEqual(members.slice(0, 3).map((m) => m.modified.toISOString()), ['2024-03-06T09:00:00.000Z', '2024-03-05T11:00:00.000Z', '2024-03-05T10:00:00.000Z']);
    const one = await propfind(s, `/.history/commits/${shas[1]!.slice(0, 12)}/`, '0');
    assert.equal(one[0]!.modified.toISOString(), '2024-03-05T11:00:00.000Z');
    const page = await html(s, '/.history/commits/');
    assert.deepEqual(page.rows.map((r) => r.name), shas.map((c) => `${c.slice(0, 12)}/`));
    assert.deepEqual(page.rows.slice(0, 3).map((r) => r.date), ['2024-03-06 09:00:00', '2024-03-05 11:00:00', '2024-03-05 10:00:00']);
  });

  it('by-date: years, months, days and a day\'s commits newest first, each dated by its newest commit', async () => {
    const days = (await propfind(s, '/.history/by-date/2024/03/', '1')).slice(1);
    assert.deepEqual(days.map((d) => d.href), ['/.history/by-date/2024/03/06/', '/.history/by-date/2024/03/05/']);
    assert.deepEqual(days.map((d) => d.modified.toISOString()), ['2024-03-06T09:00:00.000Z', '2024-03-05T11:00:00.000Z']);
    const [self, ...commits] = await propfind(s, '/.history/by-date/2024/03/05/', '1');
    assert.equal(self!.modified.toISOString(), '2024-03-05T11:00:00.000Z');
    assert.deepEqual(commits.map((c) => c.modified.toISOString()), ['2024-03-05T11:00:00.000Z', '2024-03-05T10:00:00.000Z']);
    assert.ok(commits.every((c, i) => c.href.includes(i === 0 ? '/110000Z-' : '/100000Z-')));
    const depth0 = await propfind(s, '/.history/by-date/2024/03/05/', '0');
    assert.equal(depth0[0]!.modified.toISOString(), '2024-03-05T11:00:00.000Z');
    const years = (await propfind(s, '/.history/by-date/', '1')).slice(1).map((y) => y.href);
    assert.equal(years[years.length - 1], '/.history/by-date/2024/', 'this year first, 2024 last');
    const page = await html(s, '/.history/by-date/2024/03/05/');
    assert.deepEqual(page.rows.map((r) => r.date), ['2024-03-05 11:00:00', '2024-03-05 10:00:00']);
    assert.equal((await raw(s.url, '/.history/by-date/2024/03/07/', { method: 'PROPFIND', headers: { Depth: '0' } })).status, 404);
  });

  it('by-date folders are never immutable, and a commit in the same second as the last changes their ETag', async () => {
    const t = DAY + 20 * 86400 + 5 * 3600; // 2024-03-25T05:00:00Z, a day of its own
    await appendCommits(s, [t, t]);
    const paths = ['/.history/by-date/2024/', '/.history/by-date/2024/03/', '/.history/by-date/2024/03/25/', '/.history/by-date/2024/03/25/05/'];
    const before = [];
    for (const path of paths) {
      const r = await raw(s.url, path, { headers: { Accept: 'text/html' } });
      assert.equal(r.status, 200, path);
      assert.doesNotMatch(String(r.headers['cache-control'] ?? ''), /immutable/, path);
      before.push(String(r.headers.etag));
    }
    await appendCommits(s, [t]); // the same second again
    for (const [k, path] of paths.entries()) {
      const r = await raw(s.url, path, { headers: { Accept: 'text/html', 'If-None-Match': before[k]! } });
      assert.equal(r.status, 200, `${path}: a conditional GET with the old ETag gets the new listing`);
      assert.notEqual(String(r.headers.etag), before[k], path);
    }
    const day = (await propfind(s, '/.history/by-date/2024/03/25/', '1')).slice(1);
    assert.equal(day.length, 3);
  });

  it('a day of 1,500 commits: complete on PROPFIND Depth 1, paged newest first on HTML (cursor and ?page=N)', async () => {
    const times = Array.from({ length: 1500 }, (_, i) => DAY + 2 * 86400 + i * 7);
    await appendCommits(s, times);
    const path = '/.history/by-date/2024/03/07/';
    const members = (await propfind(s, path, '1')).slice(1);
    assert.equal(members.length, 1500);
    const dates = members.map((m) => m.modified.getTime());
    assert.deepEqual(dates, [...dates].sort((a, b) => b - a), 'newest first');
    assert.equal(new Set(members.map((m) => m.href)).size, 1500);
    // HTML: follow the next links to the end; every commit once, in the PROPFIND's order.
    const seen: string[] = [];
    let next: string | undefined = path;
    let pages = 0;
    while (next && pages++ < 20) {
      const page = await html(s, next);
      assert.ok(page.rows.length <= 250);
      seen.push(...page.rows.map((r) => r.name));
      next = page.next;
    }
    assert.deepEqual(seen, members.map((m) => m.href.slice(path.length)));
    assert.equal(pages, 6);
    const second = await html(s, `${path}?page=2`);
    assert.deepEqual(second.rows.map((r) => r.name), seen.slice(250, 500));
    assert.match(second.prev ?? '', /\?page=1$/);
    assert.match(second.next ?? '', /\?page=3$/);
  });
});

describe('history listings: ?page=N', () => {
  let s: Served;
  before(async () => {
    s = await serve();
    await appendCommits(s, Array.from({ length: 600 }, (_, i) => DAY + i * 7)); // 3 pages of 250
  });
  after(() => s.close());
  const path = '/.history/by-date/2024/03/05/';

  it('a page number that is not a whole number from 1 is a 400 that says so', async () => {
    for (const bad of ['abc', '0', '-1', '1.5', '', '2x']) {
      const r = await raw(s.url, `${path}?page=${encodeURIComponent(bad)}`, { headers: { Accept: 'text/html' } });
      assert.equal(r.status, 400, `?page=${bad}`);
      assert.match(r.text, /\?page= takes a page number from 1/, `?page=${bad}`);
    }
  });

  it('a page past the end shows the last page with rows, with a link back and none forward', async () => {
    const last = await html(s, `${path}?page=3`);
    assert.equal(last.rows.length, 100);
    assert.equal(last.next, undefined);
    for (const past of ['4', '99', '100', '1000000']) {
      const page = await html(s, `${path}?page=${past}`);
      assert.deepEqual(page.rows, last.rows, `?page=${past}`);
      assert.match(page.prev ?? '', /\?page=2$/);
      assert.equal(page.next, undefined);
    }
  });
});

describe('history listings: the cap (set low, 50): a day with more commits lists its hours', () => {
  const CAP = 50;
  let s: Served;
  // Hour 00: 40 commits, hour 01: 45, hour 02: 61 (more than the cap in one hour).
  const times = [
    ...Array.from({ length: 40 }, (_, i) => DAY + i * 90),
    ...Array.from({ length: 45 }, (_, i) => DAY + 3600 + i * 80),
    ...Array.from({ length: 61 }, (_, i) => DAY + 7200 + i * 10),
  ];
  before(async () => {
    s = await serve({ historyListCap: CAP });
    await raw(s.url, '/a.txt', { method: 'PUT', body: 'a' });
    await appendCommits(s, times);
  });
  after(() => s.close());

  it('by-date/DAY/ holds HH/ folders, newest first; each hour within the cap is complete; a commit answers under its day and its hour', async () => {
    const hours = (await propfind(s, '/.history/by-date/2024/03/05/', '1')).slice(1);
    assert.deepEqual(hours.map((h) => h.href.slice(-3)), ['02/', '01/', '00/']);
    assert.equal(hours[0]!.modified.toISOString(), '2024-03-05T02:10:00.000Z');
    const counts = [];
    for (const h of hours) counts.push((await propfind(s, new URL(h.href, s.url).pathname, '1')).length - 1);
    assert.deepEqual(counts, [CAP, 45, 40], 'hour 02 (61 commits) lists its newest 50');
    const head = (await git(s, 'rev-parse', '--short=7', 'main')).stdout.trim();
    assert.equal((await raw(s.url, `/.history/by-date/2024/03/05/02/021000Z-${head}/bulk.txt`)).text, `n${times.length - 1}\n`);
    assert.equal((await raw(s.url, `/.history/by-date/2024/03/05/021000Z-${head}/bulk.txt`)).text, `n${times.length - 1}\n`);
  });

  it('an hour past the cap lists its newest; the older ones answer by URL and in commits/ order', async () => {
    const listed = (await propfind(s, '/.history/by-date/2024/03/05/02/', '1')).slice(1).map((m) => m.href.split('/').at(-2)!);
    assert.equal(listed[0]!.slice(0, 7), '021000Z');
    assert.equal(listed[CAP - 1]!.slice(0, 7), '020150Z', 'the 50 newest: 02:10:00 down to 02:01:50');
    const shas = (await git(s, 'rev-list', 'main')).stdout.trim().split('\n');
    const oldest = shas[60]!; // the hour's first commit, at 02:00:00: not listed, but it answers
    assert.ok(!listed.some((n) => n.endsWith(oldest.slice(0, 7))));
    assert.equal((await raw(s.url, `/.history/by-date/2024/03/05/02/020000Z-${oldest.slice(0, 7)}/bulk.txt`)).text, 'n85\n');
    const commits = (await propfind(s, '/.history/commits/', '1')).slice(1);
    assert.deepEqual(commits.map((m) => m.href), shas.slice(0, CAP).map((c) => `/.history/commits/${c.slice(0, 12)}/`), 'commits/ shows the newest 50');
  });
});

describe('deleted paths are findable and restored by one COPY', () => {
  let s: Served;
  const put = (path: string, body: string) => raw(s.url, path, { method: 'PUT', body });
  before(async () => {
    s = await serve();
    for (const dir of ['/tree', '/tree/d4', '/tree/d4/b']) assert.equal((await raw(s.url, dir, { method: 'MKCOL' })).status, 201);
    await put('/tree/d4/b/x.txt', 'x one');
    await put('/tree/d4/b/y.txt', 'y one');
    await put('/tree/d4/keep.txt', 'keep');
    await put('/tree/gone.txt', 'gone');
    const patch = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example:z"><D:set><D:prop><Z:note>kept</Z:note></D:prop></D:set></D:propertyupdate>`;
    assert.equal((await raw(s.url, '/tree/gone.txt', { method: 'PROPPATCH', body: patch, headers: { 'Content-Type': 'application/xml' } })).status, 207);
    assert.equal((await raw(s.url, '/tree/d4/b', { method: 'DELETE' })).status, 204);
    assert.equal((await raw(s.url, '/tree/gone.txt', { method: 'DELETE' })).status, 204);
  });
  after(() => s.close());

  it('versions/<dir>/ lists deleted members, marked (displayname, urn:x-gitdav:deleted, HTML tag)', async () => {
    const members = (await propfind(s, '/.history/versions/tree/d4/', '1')).slice(1);
    const b = members.find((m) => m.href === '/.history/versions/tree/d4/b/')!;
    assert.equal(b.displayname, 'b (deleted)');
    assert.match(b.deleted ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const keep = members.find((m) => m.href === '/.history/versions/tree/d4/keep.txt/')!;
    assert.equal(keep.displayname, 'keep.txt');
    assert.equal(keep.deleted, undefined);
    const page = await html(s, '/.history/versions/tree/d4/');
    assert.deepEqual(page.rows.map((r) => [r.name, r.deleted]), [['b/', true], ['keep.txt/', false]]);
    const tree = (await propfind(s, '/.history/versions/tree/', '1')).slice(1);
    assert.equal(tree.find((m) => m.href.endsWith('/gone.txt/'))?.displayname, 'gone.txt (deleted)');
  });

  it('a folder that is gone answers in versions/, its members and versions too, and ../ leads back', async () => {
    const [self, ...inside] = await propfind(s, '/.history/versions/tree/d4/b/', '1');
    assert.equal(self!.displayname, 'b (deleted)');
    assert.deepEqual(inside.map((m) => [m.href, m.displayname]), [['/.history/versions/tree/d4/b/x.txt/', 'x.txt (deleted)'], ['/.history/versions/tree/d4/b/y.txt/', 'y.txt (deleted)']]);
    const versions = (await propfind(s, '/.history/versions/tree/d4/b/x.txt/', '1')).slice(1);
    assert.equal(versions.length, 1);
    assert.equal((await raw(s.url, new URL(versions[0]!.href, s.url).pathname)).text, 'x one');
    const up = await raw(s.url, '/.history/versions/tree/d4/b/x.txt/', { headers: { Accept: 'text/html' } });
    assert.match(up.text, /<a href="\/\.history\/versions\/tree\/d4\/b\/">\.\.\/<\/a>/);
    assert.equal((await raw(s.url, '/.history/versions/tree/d4/b/', { headers: { Accept: 'text/html' } })).status, 200);
    assert.equal((await raw(s.url, '/.history/versions/tree/never/', { method: 'PROPFIND', headers: { Depth: '0' } })).status, 404);
  });

  it('/.history/deleted/ lists deleting commits newest first, each holding what it removed as it was', async () => {
    assert.ok((await propfind(s, '/.history/', '1')).some((m) => m.href === '/.history/deleted/'));
    const commits = (await propfind(s, '/.history/deleted/', '1')).slice(1);
    assert.equal(commits.length, 2);
    const [newest, older] = commits;
    assert.match(newest!.href, /^\/\.history\/deleted\/\d{4}-\d{2}-\d{2}T\d{6}Z-[0-9a-f]{7}\/$/);
    const shas = (await git(s, 'rev-list', 'main')).stdout.trim().split('\n');
    assert.ok(newest!.href.endsWith(`-${shas[0]!.slice(0, 7)}/`) && older!.href.endsWith(`-${shas[1]!.slice(0, 7)}/`));
    assert.ok(newest!.modified >= older!.modified);
    assert.deepEqual((await propfind(s, new URL(newest!.href, s.url).pathname + 'tree/', '1')).slice(1).map((m) => m.href.slice(newest!.href.length)), ['tree/gone.txt']);
    const b = new URL(older!.href, s.url).pathname + 'tree/d4/b/';
    assert.deepEqual((await propfind(s, b, '1')).slice(1).map((m) => m.href.slice(b.length)), ['x.txt', 'y.txt']);
    assert.equal((await raw(s.url, `${b}y.txt`)).text, 'y one');
    const page = await html(s, '/.history/deleted/');
    assert.deepEqual(page.rows.map((r) => r.name), commits.map((c) => c.href.slice('/.history/deleted/'.length)));
  });

  it('a COPY of any folder deleted/ or versions/ lists restores it; a file\'s versions folder answers 409 naming what to copy', async () => {
    const commits = (await propfind(s, '/.history/deleted/', '1')).slice(1).map((c) => new URL(c.href, s.url).pathname);
    const copy = (from: string, to: string) => raw(s.url, from, { method: 'COPY', headers: { Destination: `${s.url}${to}` } });
    const names = async (dir: string) => (await propfind(s, dir, '1')).slice(1).map((m) => m.href.slice(dir.length)).sort();
    // A deleting commit's folder: a folder of what it removed, with the folders on the way.
    assert.equal((await copy(commits[1]!, '/r1/')).status, 201);
    assert.deepEqual(await names('/r1/tree/d4/b/'), ['x.txt', 'y.txt']);
    assert.deepEqual(await names('/r1/tree/d4/'), ['b/'], 'only what was removed: keep.txt stayed live');
    assert.equal((await raw(s.url, '/r1/tree/d4/b/x.txt')).text, 'x one');
    // A folder on the way.
    assert.equal((await copy(`${commits[1]}tree/d4/`, '/r2/')).status, 201);
    assert.deepEqual(await names('/r2/'), ['b/']);
    assert.equal((await raw(s.url, '/r2/b/y.txt')).text, 'y one');
    // A removed file keeps its properties in the folder made for it.
    assert.equal((await copy(commits[0]!, '/r3/')).status, 201);
    assert.equal((await raw(s.url, '/r3/tree/gone.txt')).text, 'gone');
    const props = await raw(s.url, '/r3/tree/gone.txt', { method: 'PROPFIND', headers: { Depth: '0' }, body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>' });
    assert.match(props.text, /<[^>]*note[^>]*>kept</);
    // A gone folder in versions/: as it last stood.
    assert.equal((await copy('/.history/versions/tree/d4/b/', '/r4/')).status, 201);
    assert.deepEqual(await names('/r4/'), ['x.txt', 'y.txt']);
    // A file's versions: no folder to restore; the 409 names the version to copy.
    const r = await copy('/.history/versions/tree/gone.txt/', '/r5/');
    assert.equal(r.status, 409);
    assert.match(r.text, /COPY \/\.history\/versions\/tree\/gone\.txt\/\d{4}-\d{2}-\d{2}T\d{6}Z-[0-9a-f]{7}\.txt/);
    assert.equal((await raw(s.url, '/r5/', { method: 'PROPFIND', headers: { Depth: '0' } })).status, 404);
  });

  it('one COPY from deleted/ restores a folder and a file; from versions/ a file', async () => {
    const commits = (await propfind(s, '/.history/deleted/', '1')).slice(1).map((c) => c.href);
    const copy = (from: string, to: string) => raw(s.url, from, { method: 'COPY', headers: { Destination: `${s.url}${to}` } });
    assert.equal((await copy(`${commits[1]}tree/d4/b/`, '/tree/d4/b/')).status, 201);
    assert.equal((await raw(s.url, '/tree/d4/b/x.txt')).text, 'x one');
    assert.equal((await raw(s.url, '/tree/d4/b/y.txt')).text, 'y one');
    assert.equal((await copy(`${commits[0]}tree/gone.txt`, '/tree/gone.txt')).status, 201);
    assert.equal((await raw(s.url, '/tree/gone.txt')).text, 'gone');
    // Restored paths are live again: no longer marked.
    const members = (await propfind(s, '/.history/versions/tree/d4/', '1')).slice(1);
    assert.equal(members.find((m) => m.href.endsWith('/b/'))?.displayname, 'b');
    assert.equal((await raw(s.url, '/tree/d4/b/x.txt', { method: 'DELETE' })).status, 204);
    const v = (await propfind(s, '/.history/versions/tree/d4/b/x.txt/', '1')).slice(1);
    assert.equal((await copy(new URL(v[0]!.href, s.url).pathname, '/tree/d4/b/x.txt')).status, 201);
    assert.equal((await raw(s.url, '/tree/d4/b/x.txt')).text, 'x one');
  });
});

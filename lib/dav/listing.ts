/**
 * A plain HTML listing of a folder, for people who open the URL in a browser. Paged by cursor:
 * `?after=KEY` shows the PAGE_SIZE rows after KEY, `?before=KEY` the PAGE_SIZE rows before it (a cursor
 * past either end shows that end's page; an empty one is none), where
 * a row's key is its name with a `/` after a folder's (folders first, then names in collation order,
 * ties by code points: a total order, so pages neither skip nor repeat a row while the folder stands
 * still). `?page=N` counts pages from the start instead (1 to MAX_PAGE; other values are a 400, a
 * page past the end shows the last page with rows). A page keeps only the rows it may show while the folder streams past: memory is bounded
 * by the page, not the folder (100,000 members list in a few MB).
 */
import type { Entry } from '../../backends/backend.js';
import type { DavRequest } from './context.js';
import { badRequest } from './errors/dav-error.js';
import { escapeAttr } from './xml/write.js';
import { renderFolderPage } from '../web/folder-page.js';
import { baseName } from '../../backends/backend.js';

export const PAGE_SIZE = 1000;

/**
 * Made on the first comparison, not at load: a collator loads ICU's collation data, 2.5 MB of RSS
 * for the process's life (docs/bench.md, issue 13 round 4), which a worker serving only WebDAV
 * clients (no browser listing of two or more rows) never needs.
 */
let collator: Intl.Collator | undefined;

/** The key a row sorts and pages by: its backend's sort key (history: newest first), else its name, folders with a trailing slash. */
function keyOf(e: Entry): string {
  return e.sortKey ?? nameOf(e);
}

/** A row's name as shown: folders carry a trailing slash. */
function nameOf(e: Entry): string {
  return baseName(e.path) + (e.kind === 'collection' ? '/' : '');
}

/** `?page=N` goes at most this far (it keeps N pages of rows while the folder streams past). */
const MAX_PAGE = 100;

/** Folders first, then collation order, then code points. */
export function compareKeys(a: string, b: string): number {
  const da = a.endsWith('/');
  if (da !== b.endsWith('/')) return da ? -1 : 1;
  return (collator ??= new Intl.Collator()).compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

interface Row {
  key: string;
  entry: Entry;
}

/**
 * The `limit` rows nearest past the cursor in the direction asked (ascending after it, descending
 * before it), in ascending order. Keeps at most 2 × limit rows at a time.
 */
export async function selectPage(entries: AsyncIterable<Entry>, cursor: { after?: string; before?: string; last?: boolean }, limit: number): Promise<Row[]> {
  const { after, before } = cursor;
  const sign = before !== undefined || cursor.last ? -1 : 1;
  const order = (a: Row, b: Row) => sign * compareKeys(a.key, b.key);
  let rows: Row[] = [];
  let worst: Row | undefined; // the last row kept at the latest cut: anything past it cannot be shown
  for await (const entry of entries) {
    const row = { key: keyOf(entry), entry };
    if (after !== undefined && compareKeys(row.key, after) <= 0) continue;
    if (before !== undefined && compareKeys(row.key, before) >= 0) continue;
    if (worst && order(row, worst) >= 0) continue;
    rows.push(row);
    if (rows.length >= 2 * limit) {
      rows = rows.sort(order).slice(0, limit);
      worst = rows[limit - 1];
    }
  }
  rows = rows.sort(order).slice(0, limit);
  return sign < 0 ? rows.reverse() : rows;
}

export async function renderListing(req: DavRequest, dir: Entry): Promise<string> {
  const query = req.ctx.query;
  const one = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const size = dir.pageRows ?? PAGE_SIZE;
  if (query.page !== undefined) return renderNumbered(req, dir, pageNumber(query.page), size);
  let cursor: { after?: string; before?: string; last?: boolean } = { after: one(query.after), before: one(query.before) };
  if (cursor.after !== undefined && cursor.before !== undefined) cursor.before = undefined;
  // Whether any row lies at or past the cursor on its own side: a link back that way leads somewhere.
  let behind = false;
  const noting = async function* (entries: AsyncIterable<Entry>): AsyncGenerator<Entry> {
    for await (const e of entries) {
      if (!behind) {
        const key = keyOf(e);
        behind = cursor.after !== undefined ? compareKeys(key, cursor.after) <= 0 : cursor.before !== undefined && compareKeys(key, cursor.before) >= 0;
      }
      yield e;
    }
  };
  // One row more than a page: tells whether there is a page beyond it in the direction read.
  let rows = await selectPage(noting(req.backend.list(dir.path)), cursor, size + 1);
  if (rows.length === 0 && (cursor.after !== undefined || cursor.before !== undefined)) {
    // A cursor past either end (an old link, a folder that shrank, a typed URL): that end's page, not an empty table.
    cursor = cursor.before !== undefined ? {} : { last: true };
    behind = false;
    rows = await selectPage(req.backend.list(dir.path), cursor, size + 1);
  }
  const backward = cursor.before !== undefined || cursor.last === true;
  const beyond = rows.length > size;
  const page = backward ? rows.slice(beyond ? 1 : 0) : rows.slice(0, size);
  const here = req.href(dir.path, true);
  const first = page[0]?.key;
  const last = page[page.length - 1]?.key;
  // The direction read has rows past the page if `beyond`; the other direction if any row lay behind the cursor.
  const hasPrevious = first !== undefined && (backward ? beyond : behind);
  const hasNext = last !== undefined && (backward ? behind : beyond);
  const link = (param: string, key: string, text: string) => `<a href="${escapeAttr(`${here}?${param}=${encodeURIComponent(key)}`)}" rel="${param === 'after' ? 'next' : 'prev'}">${text}</a>`;
  const nav = [hasPrevious && link('before', first!, '← previous'), hasNext && link('after', last!, 'next →')].filter(Boolean).join(' · ');
  return pageHtml(req, dir, page, nav);
}

/**
 * `?page=N`'s N: a whole number from 1. Anything else is a 400 that says so (a typo showing page 1
 * would look like the page asked for). Any size: one past the end is clamped (renderNumbered).
 */
function pageNumber(value: unknown): number {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== 'string' || !/^\d{1,15}$/.test(text) || Number(text) < 1) {
    throw badRequest(`?page= takes a page number from 1 (got "${String(text).slice(0, 40)}")`);
  }
  return Number(text);
}

/**
 * `?page=N`: the Nth page of `size` rows in the listing's order, with links to the pages beside it.
 * A page past the last one with rows shows the last one with rows (an old link to a folder that
 * shrank, a typed URL); past MAX_PAGE, where rows go on beyond it, a 400 says to follow the cursor
 * links (which have no such limit), since holding N pages of rows to reach page N does not scale.
 */
async function renderNumbered(req: DavRequest, dir: Entry, asked: number, size: number): Promise<string> {
  let n = Math.min(asked, MAX_PAGE);
  const rows = await selectPage(req.backend.list(dir.path), {}, n * size + 1);
  if (asked > MAX_PAGE && rows.length > MAX_PAGE * size) {
    throw badRequest(`?page= goes up to ${MAX_PAGE}; follow the "next →" links (?after=) to go further`);
  }
  if (rows.length <= (n - 1) * size) n = Math.max(1, Math.ceil(rows.length / size)); // past the end: the last page with rows
  const page = rows.slice((n - 1) * size, n * size);
  const here = req.href(dir.path, true);
  const link = (to: number, rel: string, text: string) => `<a href="${escapeAttr(`${here}?page=${to}`)}" rel="${rel}">${text}</a>`;
  const nav = [n > 1 && link(n - 1, 'prev', '← previous'), rows.length > n * size && n < MAX_PAGE && link(n + 1, 'next', 'next →')].filter(Boolean).join(' · ');
  return pageHtml(req, dir, page, nav);
}

/** The HTML of one page of rows: the web interface's folder page (../web/folder-page.ts). */
function pageHtml(req: DavRequest, dir: Entry, page: Row[], nav: string): Promise<string> {
  return renderFolderPage(req, dir, page, nav);
}

/**
 * A plain HTML listing of a folder, for people who open the URL in a browser. Paged by cursor:
 * `?after=KEY` shows the PAGE_SIZE rows after KEY, `?before=KEY` the PAGE_SIZE rows before it (a cursor
 * past either end shows that end's page; an empty one is none). Sorted by `?sort=name|size|modified`
 * and `?order=asc|desc` (docs/web.md, "Folder page"); folders always come first. A row's key is what
 * it sorts by and what a cursor carries: by default its name with a `/` after a folder's (or the
 * backend's sortKey: history lists newest first); for size and date `N:NAME` (the number, then the
 * name that breaks ties), so a cursor names one exact place in a total order and pages neither skip
 * nor repeat a row while the folder stands still. `?page=N` counts pages from the start instead
 * (1 to MAX_PAGE; other values are a 400, a page past the end shows the last page with rows). A page
 * keeps only the rows it may show while the folder streams past: memory is bounded by the page, not
 * the folder (100,000 members list in a few MB).
 */
import type { Entry } from '../../backends/backend.js';
import type { DavRequest } from './context.js';
import { badRequest } from './errors/dav-error.js';
import { escapeAttr } from './xml/write.js';
import { renderFolderPage, type FolderCounts, type FolderSort } from '../web/folder-page.js';
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

/** How a listing is ordered: its keys, their total order, and whether a cursor is a key of it. */
export interface Ordering {
  key(e: Entry): string;
  compare(a: string, b: string): number;
  /** Whether a cursor from a URL can be compared (a numeric sort needs `N:NAME`). */
  valid(cursor: string): boolean;
}

const NUMERIC_KEY = /^(-?\d{1,16}):(.*)$/s;

/** The number and name of a size or date key (`N:NAME`). */
function splitKey(key: string): [number, string] {
  // Keys and cursors are checked `N:NAME` before they get here (valid()); the number has no colon.
  const at = key.indexOf(':');
  return [Number(key.slice(0, at)), key.slice(at + 1)];
}

/** The order of `?sort=`/`?order=`: folders first in every order; ties of size or date by name, ascending. */
export function orderingOf(sort: FolderSort): Ordering {
  const sign = sort.desc ? -1 : 1;
  if (sort.field === 'default' || sort.field === 'name') {
    const key = sort.field === 'default' ? keyOf : nameOf;
    const compare = sort.desc ? (a: string, b: string) => (a.endsWith('/') !== b.endsWith('/') ? compareKeys(a, b) : -compareKeys(a, b)) : compareKeys;
    return { key, compare, valid: () => true };
  }
  const number = sort.field === 'size' ? (e: Entry) => (e.kind === 'collection' ? 0 : e.size) : (e: Entry) => e.modified.getTime();
  return {
    key: (e) => `${number(e)}:${nameOf(e)}`,
    compare(a, b) {
      const [na, a1] = splitKey(a);
      const [nb, b1] = splitKey(b);
      if (a1.endsWith('/') !== b1.endsWith('/')) return compareKeys(a1, b1);
      return sign * (na - nb) || compareKeys(a1, b1);
    },
    valid: (cursor) => NUMERIC_KEY.test(cursor),
  };
}

const DEFAULT_ORDERING = orderingOf({ field: 'default', desc: false });

interface Row {
  key: string;
  entry: Entry;
}

/**
 * The `limit` rows nearest past the cursor in the direction asked (ascending after it, descending
 * before it), in ascending order of `ordering`. Keeps at most 2 × limit rows at a time.
 */
export async function selectPage(entries: AsyncIterable<Entry>, cursor: { after?: string; before?: string; last?: boolean }, limit: number, ordering: Ordering = DEFAULT_ORDERING): Promise<Row[]> {
  const { after, before } = cursor;
  const cmp = ordering.compare;
  const sign = before !== undefined || cursor.last ? -1 : 1;
  const order = (a: Row, b: Row) => sign * cmp(a.key, b.key);
  let rows: Row[] = [];
  let worst: Row | undefined; // the last row kept at the latest cut: anything past it cannot be shown
  for await (const entry of entries) {
    const row = { key: ordering.key(entry), entry };
    if (after !== undefined && cmp(row.key, after) <= 0) continue;
    if (before !== undefined && cmp(row.key, before) >= 0) continue;
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

/** `?sort=` and `?order=`: one known value each, or a 400 that names the choices. */
export function parseSort(query: Record<string, unknown>): FolderSort {
  const one = (name: string, allowed: string[]): string | undefined => {
    const v = query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !allowed.includes(v)) {
      throw badRequest(`?${name}= takes ${allowed.join(', ')} (got "${String(Array.isArray(v) ? v.join(',') : v).slice(0, 40)}")`);
    }
    return v;
  };
  const field = one('sort', ['name', 'size', 'modified']) as FolderSort['field'] | undefined;
  const order = one('order', ['asc', 'desc']);
  return { field: field ?? 'default', desc: order === 'desc', explicit: field !== undefined || order !== undefined };
}

/** The query string that keeps a sort across page links (empty for the default order: `?after=` as before). */
export function sortQuery(sort: FolderSort): string {
  if (!sort.explicit) return '';
  return `${sort.field === 'default' ? '' : `sort=${sort.field}&`}order=${sort.desc ? 'desc' : 'asc'}&`;
}

/** Counts every member as it streams past (the footer line), holding nothing. */
function counting(entries: AsyncIterable<Entry>, counts: FolderCounts): AsyncGenerator<Entry> {
  return (async function* () {
    for await (const e of entries) {
      if (e.kind === 'collection') counts.folders++;
      else {
        counts.files++;
        counts.bytes += e.size;
      }
      yield e;
    }
  })();
}

const noCounts = (): FolderCounts => ({ folders: 0, files: 0, bytes: 0 });

export async function renderListing(req: DavRequest, dir: Entry): Promise<string> {
  const query = req.ctx.query;
  const one = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const size = dir.pageRows ?? PAGE_SIZE;
  const sort = parseSort(query);
  const ordering = orderingOf(sort);
  if (query.page !== undefined) return renderNumbered(req, dir, pageNumber(query.page), size, sort, ordering);
  let cursor: { after?: string; before?: string; last?: boolean } = { after: one(query.after), before: one(query.before) };
  if (cursor.after !== undefined && cursor.before !== undefined) cursor.before = undefined;
  for (const c of [cursor.after, cursor.before]) {
    if (c !== undefined && !ordering.valid(c)) throw badRequest(`this cursor is not one of a listing sorted by ${sort.field} (follow the page links)`);
  }
  // Whether any row lies at or past the cursor on its own side: a link back that way leads somewhere.
  let behind = false;
  const cmp = ordering.compare;
  const noting = async function* (entries: AsyncIterable<Entry>): AsyncGenerator<Entry> {
    for await (const e of entries) {
      if (!behind) {
        const key = ordering.key(e);
        behind = cursor.after !== undefined ? cmp(key, cursor.after) <= 0 : cursor.before !== undefined && cmp(key, cursor.before) >= 0;
      }
      yield e;
    }
  };
  let counts = noCounts();
  // One row more than a page: tells whether there is a page beyond it in the direction read.
  let rows = await selectPage(noting(counting(req.backend.list(dir.path), counts)), cursor, size + 1, ordering);
  if (rows.length === 0 && (cursor.after !== undefined || cursor.before !== undefined)) {
    // A cursor past either end (an old link, a folder that shrank, a typed URL): that end's page, not an empty table.
    cursor = cursor.before !== undefined ? {} : { last: true };
    behind = false;
    counts = noCounts();
    rows = await selectPage(counting(req.backend.list(dir.path), counts), cursor, size + 1, ordering);
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
  const keep = sortQuery(sort);
  const link = (param: string, key: string, text: string) => `<a href="${escapeAttr(`${here}?${keep}${param}=${encodeURIComponent(key)}`)}" rel="${param === 'after' ? 'next' : 'prev'}">${text}</a>`;
  const nav = [hasPrevious && link('before', first!, '← previous'), hasNext && link('after', last!, 'next →')].filter(Boolean).join(' · ');
  return renderFolderPage(req, dir, page, nav, { sort, counts });
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
async function renderNumbered(req: DavRequest, dir: Entry, asked: number, size: number, sort: FolderSort, ordering: Ordering): Promise<string> {
  let n = Math.min(asked, MAX_PAGE);
  const counts = noCounts();
  const rows = await selectPage(counting(req.backend.list(dir.path), counts), {}, n * size + 1, ordering);
  if (asked > MAX_PAGE && rows.length > MAX_PAGE * size) {
    throw badRequest(`?page= goes up to ${MAX_PAGE}; follow the "next →" links (?after=) to go further`);
  }
  if (rows.length <= (n - 1) * size) n = Math.max(1, Math.ceil(rows.length / size)); // past the end: the last page with rows
  const page = rows.slice((n - 1) * size, n * size);
  const here = req.href(dir.path, true);
  const keep = sortQuery(sort);
  const link = (to: number, rel: string, text: string) => `<a href="${escapeAttr(`${here}?${keep}page=${to}`)}" rel="${rel}">${text}</a>`;
  const nav = [n > 1 && link(n - 1, 'prev', '← previous'), rows.length > n * size && n < MAX_PAGE && link(n + 1, 'next', 'next →')].filter(Boolean).join(' · ');
  return renderFolderPage(req, dir, page, nav, { sort, counts });
}

/**
 * What the history pages (./log-page.ts, ./commit-page.ts, ./diff-page.ts, ./summary.ts) share: the
 * repository's history reader where there is one (HistoryLog, backends/capabilities.ts: git only),
 * the live path a history path stands for, query parameters checked (a bad one is a 400 that says
 * what is wanted), and the small pieces of HTML every history page shows about a commit.
 */
import { isHistoryLog, type HistoryReader, type LogCommit } from '../../../backends/capabilities.js';
import type { DavRequest } from '../../dav/context.js';
import { badRequest } from '../../dav/errors/dav-error.js';
import { escapeAttr, escapeText } from '../../dav/xml/write.js';
import { renderPage, sendPage } from '../page.js';
import { timeTag } from '../format.js';

/** 4–40 hex digits: a commit id or a unique prefix (what /.history/commits/ takes). */
export const REVISION = /^[0-9a-f]{4,40}$/i;

/** The history `path` is in, or null (the folder backend; another user's share). */
export function readerFor(req: DavRequest, path: string): HistoryReader | null {
  const b = req.backend;
  return isHistoryLog(b) ? b.historyOf(path) : null;
}

/** The page a path without history gets: a 404 that says why. */
export function sendNoHistory(req: DavRequest, collection: boolean): void {
  const main = `<p class="no-history">There is no history here: history needs the git backend (<code>--backend git</code>), and another user's shared folder keeps its history with its owner.</p>`;
  sendPage(req, renderPage(req, { title: 'No history', path: req.path, collection, main, view: 'history' }), { status: 404 });
}

/**
 * The live path a path stands for: itself, or for a path in history the live path it shows
 * (`versions/<path>/…`, `commits|branches|tags/<name>/<path>`); `version` says a version file was named.
 */
export function livePathOf(path: string, root: string): { path: string; inHistory: boolean } {
  if (path !== root && !path.startsWith(root + '/')) return { path, inHistory: false };
  const segs = path.slice(root.length).split('/').filter(Boolean);
  const [area, ...rest] = segs;
  if (area === 'versions') {
    // versions/<file>/<YYYY-MM-DDTHHMMSSZ-sha7[.ext]>: the file, not a member of it
    if (rest.length >= 2 && /^\d{4}-\d{2}-\d{2}T\d{6}Z-[0-9a-f]{7}/.test(rest[rest.length - 1]!)) rest.pop();
    return { path: '/' + rest.join('/'), inHistory: true };
  }
  if (area === 'commits' || area === 'branches' || area === 'tags') return { path: '/' + rest.slice(1).join('/'), inHistory: true };
  return { path: '/', inHistory: true };
}

/** A query parameter given once (as ../route.ts `one`, which this cannot import: route → views → here). */
function one(value: unknown, name: string): string {
  if (typeof value !== 'string') throw badRequest(`?${name}= must be given once`);
  return value;
}

/** `?page=N`: a whole number from 1 to `max` (absent: 1). */
export function pageParam(req: DavRequest, max: number): number {
  const q = req.ctx.query.page;
  if (q === undefined) return 1;
  const text = one(q, 'page');
  if (!/^[1-9]\d{0,6}$/.test(text) || Number(text) > max) throw badRequest(`?page= must be a whole number from 1 to ${max}, not "${text.slice(0, 20)}"`);
  return Number(text);
}

/** `?layout=unified|split` (absent: unified). */
export function layoutParam(req: DavRequest): 'unified' | 'split' {
  const q = req.ctx.query.layout;
  if (q === undefined) return 'unified';
  const text = one(q, 'layout');
  if (text !== 'unified' && text !== 'split') throw badRequest(`?layout= is "unified" or "split", not "${text.slice(0, 20)}"`);
  return text;
}

/** A revision parameter (`id`, `from`, `to`): a commit id or a unique prefix of 4–40 hex digits. */
export function revisionParam(req: DavRequest, name: string, required: true): string;
export function revisionParam(req: DavRequest, name: string, required: false): string | undefined;
export function revisionParam(req: DavRequest, name: string, required: boolean): string | undefined {
  const q = req.ctx.query[name];
  if (q === undefined || q === '') {
    if (required) throw badRequest(`?${name}= is missing: give a commit id (4 to 40 hex digits)`);
    return undefined;
  }
  const text = one(q, name);
  if (!REVISION.test(text)) throw badRequest(`?${name}= must be a commit id (4 to 40 hex digits), not "${text.slice(0, 60)}"`);
  return text.toLowerCase();
}

/** A link to a view of `path` with query parameters (escaped for an attribute). */
export function viewHref(req: DavRequest, path: string, collection: boolean, params: Record<string, string>): string {
  return `${req.href(path, collection)}?${new URLSearchParams(params).toString()}`;
}

/** A commit's line: subject (a link to its commit view), author, age, short id. */
export function commitLine(req: DavRequest, at: string, collection: boolean, c: LogCommit): string {
  const href = viewHref(req, at, collection, { view: 'commit', id: c.id });
  return `<a class="subject" href="${escapeAttr(href)}">${escapeText(c.subject || '(no message)')}</a> <span class="meta"><span class="author">${escapeText(c.author)}</span> · ${timeTag(c.time)} · <code class="sha" title="${escapeAttr(c.id)}">${escapeText(c.short)}</code></span>`;
}

/** The fragment id of a changed file's section in the commit view. */
export function fileAnchor(path: string): string {
  return `f-${encodeURIComponent(path)}`;
}

/** The restore button history.js wires (docs/web.md): a COPY from `from` (in history) to `to`. */
export function restoreButton(req: DavRequest, from: string, to: string, collection: boolean, label: string, described: string): string {
  return `<button type="button" data-action="restore" data-from="${escapeAttr(req.href(from, collection))}" data-to="${escapeAttr(req.href(to, collection))}" aria-label="${escapeAttr(described)}">${escapeText(label)}</button>`;
}

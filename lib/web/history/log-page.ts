/**
 * `?view=history` on a file or folder (docs/web.md, "History pages"): its commits newest first,
 * PER_PAGE a page (`?page=N`, at most MAX_PAGE), each with subject, author, age, the files it changed
 * there, links to the commit and to that version, and for a file a "Restore this version" button (a
 * COPY from history, history.js). A folder's page lists its deleted members with a Restore button
 * each, and every page a branch and tag switcher. On a path in `/.history/versions/` it shows the
 * live path's history, so a deleted file's history is reachable from its versions folder.
 */
import { baseName, type Entry } from '../../../backends/backend.js';
import type { HistoryReader, LogEntry } from '../../../backends/capabilities.js';
import type { DavRequest } from '../../dav/context.js';
import { notFound } from '../../dav/errors/dav-error.js';
import { escapeAttr, escapeText } from '../../dav/xml/write.js';
import { canWrite } from '../access.js';
import { timeTag } from '../format.js';
import { renderPage, sendPage } from '../page.js';
import { commitLine, fileAnchor, livePathOf, pageParam, readerFor, restoreButton, sendNoHistory, viewHref } from './common.js';

/** Commits a page shows. */
export const PER_PAGE = 50;
/** Pages a history has at most by `?page=` (10,000 commits of one path: 200 pages; this leaves room). */
export const MAX_PAGE = 10_000;
/** Changed files shown per commit (the commit view lists them all, up to its own bound). */
const FILES_PER_COMMIT = 20;
/** Deleted members of a folder listed at most (all of them: /.history/versions/<folder>/). */
const DELETED_SHOWN = 100;

export async function historyView(req: DavRequest, entry: Entry): Promise<void> {
  const collection = entry.kind === 'collection';
  const reader = readerFor(req, req.path);
  if (!reader) return sendNoHistory(req, collection);
  const live = livePathOf(req.path, reader.root);
  const page = pageParam(req, MAX_PAGE);
  const { total, commits } = await reader.log(live.path, (page - 1) * PER_PAGE, PER_PAGE, FILES_PER_COMMIT);
  const pages = Math.max(1, Math.ceil(total / PER_PAGE));
  if (page > pages) throw notFound(`${live.path} has ${total} commit${total === 1 ? '' : 's'}: there is no page ${page} (the last is ${pages})`);
  // What the live path is: a version of it says (a deleted file's history is reached from history).
  const newest = commits.find((c) => c.version)?.version;
  const isFolder = live.inHistory ? (newest ? newest.kind === 'collection' : collection) : collection;
  const liveKind = live.inHistory ? (await req.backend.stat(live.path))?.kind ?? null : entry.kind;
  const writable = canWrite(req, live.path);
  const items = commits.map((c, k) => item(req, c, live.path, isFolder, writable && !(page === 1 && k === 0 && liveKind !== null)));
  const nav = pager(req, page, pages, total);
  const deleted = isFolder ? await deletedSection(req, reader, live.path, writable) : '';
  const main = `${await switcher(req, reader, live.path, isFolder)}
<p class="history-count">${total.toLocaleString('en')} commit${total === 1 ? '' : 's'} changed ${escapeText(live.path)}${liveKind === null ? ' <span class="deleted">deleted</span>' : ''}.</p>
<ol id="commits" class="commits" start="${(page - 1) * PER_PAGE + 1}">
${items.join('\n')}
</ol>${nav}${deleted}`;
  const links = [
    liveKind !== null ? `<a href="${escapeAttr(req.href(live.path, isFolder))}">${isFolder ? 'Open folder' : 'Open file'}</a>` : '',
    `<a href="${escapeAttr(req.href(`${reader.root}/versions${live.path === '/' ? '' : live.path}`, true))}">All versions${isFolder ? ' and deleted files' : ''}</a>`,
    !isFolder && liveKind !== null ? `<a href="${escapeAttr(viewHref(req, live.path, false, { view: 'blame' }))}">Blame</a>` : '',
  ].filter(Boolean);
  const title = `History of ${live.path === '/' ? 'Home' : baseName(live.path)}`;
  sendPage(req, renderPage(req, { title, path: live.path, collection: isFolder, main, view: 'history', links }));
}

function item(req: DavRequest, c: LogEntry, path: string, isFolder: boolean, restorable: boolean): string {
  const files = c.changed.map((f) => `<li><span class="change change-${f.change}" title="${CHANGE[f.change]}">${f.change}</span> <a href="${escapeAttr(`${viewHref(req, '/', true, { view: 'commit', id: c.id })}#${fileAnchor(f.path)}`)}">${escapeText(f.path.slice(1))}</a></li>`);
  if (c.more > 0) files.push(`<li class="more">and ${c.more.toLocaleString('en')}${c.moreCapped ? '+' : ''} more</li>`);
  const actions: string[] = [];
  if (c.version) {
    actions.push(`<a href="${escapeAttr(req.href(c.version.path, c.version.kind === 'collection'))}" data-action="version">${isFolder ? 'Browse this version' : 'View this version'}</a>`);
    if (!isFolder) actions.push(`<a href="${escapeAttr(viewHref(req, path, false, { view: 'diff', from: c.id }))}">Compare with now</a>`);
    if (!isFolder && c.parents[0]) actions.push(`<a href="${escapeAttr(viewHref(req, path, false, { view: 'diff', from: c.parents[0], to: c.id }))}">Diff</a>`);
    if (restorable && c.version.kind === 'file') actions.push(restoreButton(req, c.version.path, path, false, 'Restore this version', `Restore ${baseName(path)} as of ${c.short}`));
    // A folder as this commit left it, in place of what is there (a COPY with Overwrite: T replaces it); never the root.
    if (restorable && c.version.kind === 'collection' && path !== '/') actions.push(restoreButton(req, c.version.path, path, true, 'Restore folder as of this commit', `Restore folder ${baseName(path)} as of ${c.short}`));
  } else {
    actions.push(`<span class="deleted">deleted here</span>`);
  }
  return `<li class="commit" data-id="${escapeAttr(c.id)}">
<div class="line">${commitLine(req, '/', true, c)}</div>
${files.length ? `<ul class="files">${files.join('')}</ul>` : ''}
<div class="actions">${actions.join(' ')}</div>
</li>`;
}

const CHANGE: Record<string, string> = { A: 'added', M: 'modified', D: 'deleted' };

function pager(req: DavRequest, page: number, pages: number, total: number): string {
  if (pages <= 1) return '';
  const link = (n: number, label: string, rel: string) => `<a href="${escapeAttr(viewHref(req, req.path, req.trailingSlash, { view: 'history', page: String(n) }))}" rel="${rel}">${label}</a>`;
  const prev = page > 1 ? link(page - 1, '← Newer', 'prev') : '';
  const next = page < pages ? link(page + 1, 'Older →', 'next') : '';
  return `<nav class="pages" aria-label="Pages">${prev} <span>page ${page} of ${pages} (${total.toLocaleString('en')} commits)</span> ${next}</nav>`;
}

async function deletedSection(req: DavRequest, reader: HistoryReader, dir: string, writable: boolean): Promise<string> {
  const gone = await reader.deletedIn(dir, DELETED_SHOWN);
  const all = `<a href="${escapeAttr(req.href(`${reader.root}/versions${dir === '/' ? '' : dir}`, true))}">every name ever in this folder</a>`;
  if (gone.length === 0) return `<section id="deleted" aria-labelledby="deleted-h"><h2 id="deleted-h">Deleted files</h2><p>Nothing deleted here (see ${all}).</p></section>`;
  const rows = gone.map((g) => {
    const folder = g.kind === 'collection';
    const name = baseName(g.path) + (folder ? '/' : '');
    const restore = writable ? restoreButton(req, g.restoreFrom, g.path, folder, 'Restore', `Restore ${name}`) : '';
    return `<li data-path="${escapeAttr(g.path)}"><a href="${escapeAttr(req.href(`${reader.root}/versions${g.path}`, true))}">${escapeText(name)}</a> <span class="meta">deleted ${timeTag(g.removed.time)} by ${escapeText(g.removed.author)} in <a href="${escapeAttr(viewHref(req, '/', true, { view: 'commit', id: g.removed.id }))}">${escapeText(g.removed.short)}</a></span> ${restore}</li>`;
  });
  return `<section id="deleted" aria-labelledby="deleted-h"><h2 id="deleted-h">Deleted files</h2><ul class="deleted-list">${rows.join('')}</ul><p>Newest first, at most ${DELETED_SHOWN}; see also ${all}.</p></section>`;
}

/** Links to this path on each branch and tag (history's folders: read-only snapshots). */
async function switcher(req: DavRequest, reader: HistoryReader, path: string, isFolder: boolean): Promise<string> {
  const refs = await reader.refs();
  const at = (area: string, name: string) => req.href(`${reader.root}/${area}/${name.replace(/\//g, '~')}${path === '/' ? '' : path}`, isFolder);
  const options = (area: string, names: string[]) =>
    names.map((n) => `<li><a href="${escapeAttr(at(area, n))}"${area === 'branches' && n === refs.current ? ' aria-current="true"' : ''}>${escapeText(n)}</a></li>`).join('');
  const tags = refs.tags.length ? `<span>Tags:</span><ul>${options('tags', refs.tags)}</ul>` : '';
  return `<nav id="refs" class="refs" aria-label="Branches and tags"><span title="Each link opens this ${isFolder ? 'folder' : 'file'} as it is on that branch or tag (read-only)">Served: <strong>${escapeText(refs.current)}</strong>. Branches:</span><ul>${options('branches', refs.branches)}</ul>${tags}</nav>`;
}

/**
 * A folder's page (docs/web.md, "Folder page"): one page of rows (../dav/listing.ts pages and sorts
 * them), folders first, with icons, sizes, times, column headers that sort (links: no JavaScript
 * needed), a footer line counting the whole folder, History links where the backend keeps versions,
 * and — where the user may write — the actions actions.js wires (upload, new folder, rename, delete).
 * DOM hooks the scripts rely on are listed in docs/web.md.
 */
import { baseName, type Entry } from '../../backends/backend.js';
import { isVersioned } from '../../backends/capabilities.js';
import type { DavRequest } from '../dav/context.js';
import { escapeAttr, escapeText } from '../dav/xml/write.js';
import { canWrite, inHistory } from './access.js';
import { GROUPWARE, groupwareStates } from './calendars/negotiate.js';
import { humanSize, iconClass, timeTag } from './format.js';
import { readerFor } from './history/common.js';
import { folderSummary } from './history/summary.js';
import { renderPage } from './page.js';

export interface FolderRow {
  entry: Entry;
}

/** `?sort=`/`?order=` as asked: `default` is the backend's own order (names; history: newest first). */
export interface FolderSort {
  field: 'default' | 'name' | 'size' | 'modified';
  desc: boolean;
  /** Whether the URL asked for a sort (page links then carry it). */
  explicit?: boolean;
}

/** The whole folder, counted as it streamed past (not just this page). */
export interface FolderCounts {
  folders: number;
  files: number;
  bytes: number;
}

export interface FolderPageInfo {
  sort: FolderSort;
  counts?: FolderCounts;
}


export async function renderFolderPage(req: DavRequest, dir: Entry, page: FolderRow[], nav: string, info: FolderPageInfo = { sort: { field: 'default', desc: false } }): Promise<string> {
  const here = req.href(dir.path, true);
  // Calendar and address book pages: only where CalDAV is on and the path can be one (their module
  // loads CalDAV's code, which a --no-caldav server never loads).
  const special = groupwareStates(req) && GROUPWARE.test(dir.path) ? await (await import('./calendars/index.js')).collectionPage(req, dir) : null;
  const writable = canWrite(req, dir.path);
  // History links only where there is history to show: a versioned backend, outside /.history itself.
  // (readerFor: null in another user's share and on fs, whose rows would otherwise link to a 404.)
  const versioned = isVersioned(req.backend) && !inHistory(dir.path) && readerFor(req, dir.path) !== null;
  const rows = page.map(({ entry: e }) => row(req, e, writable, versioned));
  const up = dir.path === '/' ? '' : `<tr class="up"><td><span class="icon icon-up" aria-hidden="true"></span><a href="${escapeAttr(req.href(dir.path.slice(0, dir.path.lastIndexOf('/')) || '/', true))}">../</a></td><td class="n"></td><td class="when"></td><td class="actions"></td></tr>`;
  const toolbar = writable
    ? `<div id="toolbar" role="toolbar" aria-label="Folder actions">
<button type="button" data-action="upload-files">Upload files</button>
<button type="button" data-action="upload-folder">Upload a folder</button>
<button type="button" data-action="new-folder">New folder</button>
</div>
<section id="uploads" hidden aria-label="Uploads"><progress id="upload-total" max="100" value="0"></progress><ul id="upload-list"></ul></section>`
    : '';
  // History folders come newest first by their own key: no column is "the" order until one is asked for.
  const ownOrder = info.sort.field === 'default' && page.some((r) => r.entry.sortKey !== undefined);
  const head = (['name', 'size', 'modified'] as const).map((col) => header(here, col, info.sort, ownOrder)).join('');
  const table = `<table id="entries">
<caption class="visually-hidden">Contents of ${escapeText(dir.path === '/' ? 'Home' : baseName(dir.path))}${ownOrder ? ', newest first' : ''}</caption>
<thead><tr>${head}<th scope="col" class="actions"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>
${up}${rows.join('\n')}
</tbody></table>${info.counts && info.counts.folders + info.counts.files === 0 ? `<p class="empty">This folder is empty.${writable ? ' Drop files here or use “Upload files”.' : ''}</p>` : ''}${nav ? `<p class="pages">${nav}</p>` : ''}${info.counts ? footer(info.counts) : ''}`;
  const main = `${await folderSummary(req, dir)}${special ? special.main : ''}${toolbar}${table}`;
  const links = [`<a href="${escapeAttr(`${here}?zip=1`)}" data-action="zip" download>Download as zip</a>`];
  if (versioned) links.unshift(`<a href="${escapeAttr(`${here}?view=history`)}" class="history-link">History</a>`);
  return renderPage(req, { title: special?.title ?? (dir.path === '/' ? 'Home' : baseName(dir.path)), path: dir.path, collection: true, main, view: 'folder', links });
}

const LABELS = { name: 'Name', size: 'Size', modified: 'Modified' } as const;

/**
 * A column header: a link that sorts by it (a first click: names A→Z, sizes largest and dates newest
 * first; the active column's link turns its order round), `aria-sort` and an arrow on the active one.
 */
function header(here: string, col: 'name' | 'size' | 'modified', sort: FolderSort, ownOrder: boolean): string {
  const active = sort.field === col || (col === 'name' && sort.field === 'default' && !ownOrder);
  const desc = active ? !sort.desc : col !== 'name';
  const href = `${here}?sort=${col}&order=${desc ? 'desc' : 'asc'}`;
  const state = active ? ` aria-sort="${sort.desc ? 'descending' : 'ascending'}"` : '';
  const arrow = active ? `<span class="arrow" aria-hidden="true">${sort.desc ? '▼' : '▲'}</span>` : '';
  const label = `Sort by ${LABELS[col].toLowerCase()}, ${desc ? (col === 'name' ? 'Z to A' : col === 'size' ? 'largest first' : 'newest first') : col === 'name' ? 'A to Z' : col === 'size' ? 'smallest first' : 'oldest first'}`;
  const cls = col === 'size' ? 'n' : col === 'modified' ? 'when' : 'name';
  return `<th scope="col" class="${cls}${active ? ' sorted' : ''}"${state}><a class="sort" href="${escapeAttr(href)}" title="${escapeAttr(label)}" data-sort="${col}">${LABELS[col]}${arrow}</a></th>`;
}

/** "3 folders · 12 files · 4.2 MiB": the whole folder, whatever page this is. */
function footer(c: FolderCounts): string {
  const n = (k: number, one: string, many: string) => `${k.toLocaleString('en')} ${k === 1 ? one : many}`;
  return `<p class="folder-stats">${n(c.folders, 'folder', 'folders')} · ${n(c.files, 'file', 'files')} · ${humanSize(c.bytes)}</p>`;
}

function row(req: DavRequest, e: Entry, writable: boolean, versioned: boolean): string {
  const collection = e.kind === 'collection';
  const name = baseName(e.path) + (collection ? '/' : '');
  const href = req.href(e.path, collection);
  const size = collection ? '' : humanSize(e.size);
  const tag = e.deleted ? ` <span class="deleted">deleted</span>` : '';
  const history = versioned && !inHistory(e.path) && readerFor(req, e.path) !== null ? `<a class="row-history" href="${escapeAttr(`${href}?view=history`)}" aria-label="History of ${escapeAttr(name)}">History</a> ` : '';
  // Per row too: a member may be a read-only part (/.history in the root) or a read-only share's mount point.
  const actions = writable && !e.deleted && canWrite(req, e.path)
    ? `<button type="button" data-action="rename" aria-label="Rename or move ${escapeAttr(name)}">Rename</button> <button type="button" data-action="delete" aria-label="Delete ${escapeAttr(name)}">Delete</button>`
    : '';
  return `<tr data-href="${escapeAttr(href)}" data-name="${escapeAttr(baseName(e.path))}" data-kind="${collection ? 'collection' : 'file'}" data-size="${e.size}" data-modified="${e.modified.toISOString()}"><td class="name"><span class="${iconClass(name, collection)}" aria-hidden="true"></span><a href="${escapeAttr(href)}">${escapeText(name)}</a>${tag}</td><td class="n">${size}</td><td class="when">${timeTag(e.modified)}</td><td class="actions">${history}${actions}</td></tr>`;
}

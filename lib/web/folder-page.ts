/**
 * A folder's page (docs/web.md, "Folder page"): one page of rows (../dav/listing.ts pages them),
 * folders first, with icons, sizes, times, and — where the user may write — the actions app.js wires
 * (upload, new folder, rename, delete). DOM hooks app.js relies on are listed in docs/web.md.
 */
import { baseName, type Entry } from '../../backends/backend.js';
import type { DavRequest } from '../dav/context.js';
import { escapeAttr, escapeText } from '../dav/xml/write.js';
import { canWrite } from './access.js';
import { collectionPage } from './calendars/index.js';
import { humanSize, iconClass, timeTag } from './format.js';
import { folderSummary } from './history/summary.js';
import { renderPage } from './page.js';

export interface FolderRow {
  entry: Entry;
}

export async function renderFolderPage(req: DavRequest, dir: Entry, page: FolderRow[], nav: string): Promise<string> {
  const here = req.href(dir.path, true);
  const special = await collectionPage(req, dir);
  const writable = canWrite(req, dir.path);
  const rows = page.map(({ entry: e }) => row(req, e, writable));
  const up = dir.path === '/' ? '' : `<tr class="up"><td><a href="${escapeAttr(req.href(dir.path.slice(0, dir.path.lastIndexOf('/')) || '/', true))}">../</a></td><td></td><td></td><td></td></tr>`;
  const toolbar = writable
    ? `<div id="toolbar" role="toolbar" aria-label="Folder actions">
<button type="button" data-action="upload-files">Upload files</button>
<button type="button" data-action="upload-folder">Upload a folder</button>
<button type="button" data-action="new-folder">New folder</button>
</div>
<section id="uploads" hidden aria-label="Uploads"><progress id="upload-total" max="100" value="0"></progress><ul id="upload-list"></ul></section>`
    : '';
  const table = `<table id="entries">
<thead><tr><th scope="col">Name</th><th scope="col" class="n">Size</th><th scope="col">Modified</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>
${up}${rows.join('\n')}
</tbody></table>${nav ? `<p class="pages">${nav}</p>` : ''}`;
  const main = `${await folderSummary(req, dir)}${special ? special.main : ''}${toolbar}${table}`;
  const links = [`<a href="${escapeAttr(`${here}?zip=1`)}" data-action="zip" download>Download as zip</a>`];
  return renderPage(req, { title: special?.title ?? (dir.path === '/' ? 'Home' : baseName(dir.path)), path: dir.path, collection: true, main, view: 'folder', links });
}

function row(req: DavRequest, e: Entry, writable: boolean): string {
  const collection = e.kind === 'collection';
  const name = baseName(e.path) + (collection ? '/' : '');
  const href = req.href(e.path, collection);
  const size = collection ? '' : humanSize(e.size);
  const tag = e.deleted ? ` <span class="deleted">deleted</span>` : '';
  const actions = writable && !e.deleted
    ? `<button type="button" data-action="rename" aria-label="Rename or move ${escapeAttr(name)}">Rename</button> <button type="button" data-action="delete" aria-label="Delete ${escapeAttr(name)}">Delete</button>`
    : '';
  return `<tr data-href="${escapeAttr(href)}" data-name="${escapeAttr(baseName(e.path))}" data-kind="${collection ? 'collection' : 'file'}" data-size="${e.size}" data-modified="${e.modified.toISOString()}"><td><span class="${iconClass(name, collection)}" aria-hidden="true"></span><a href="${escapeAttr(href)}">${escapeText(name)}</a>${tag}</td><td class="n">${size}</td><td>${timeTag(e.modified)}</td><td class="actions">${actions}</td></tr>`;
}

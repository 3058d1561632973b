/** A plain HTML listing of a folder, for people who open the URL in a browser. */
import type { Entry } from '../../backends/backend.js';
import type { DavRequest } from './context.js';
import { escapeAttr, escapeText } from './xml/write.js';
import { baseName } from '../../backends/backend.js';

const MAX_ROWS = 10_000;

export async function renderListing(req: DavRequest, dir: Entry): Promise<string> {
  const entries: Entry[] = [];
  for await (const e of req.backend.list(dir.path)) {
    entries.push(e);
    if (entries.length > MAX_ROWS) break;
  }
  entries.sort((a, b) => (a.kind !== b.kind ? (a.kind === 'collection' ? -1 : 1) : baseName(a.path).localeCompare(baseName(b.path))));
  const title = escapeText(req.href(dir.path, true));
  const rows = entries.slice(0, MAX_ROWS).map((e) => {
    const name = baseName(e.path) + (e.kind === 'collection' ? '/' : '');
    const size = e.kind === 'collection' ? '' : humanSize(e.size);
    return `<tr><td><a href="${escapeAttr(req.href(e.path, e.kind === 'collection'))}">${escapeText(name)}</a></td><td class="n">${size}</td><td>${e.modified.toISOString().slice(0, 19).replace('T', ' ')}</td></tr>`;
  });
  const up = dir.path === '/' ? '' : `<tr><td><a href="${escapeAttr(req.href(dir.path.slice(0, dir.path.lastIndexOf('/')) || '/', true))}">../</a></td><td></td><td></td></tr>`;
  const more = entries.length > MAX_ROWS ? `<p>Only the first ${MAX_ROWS} entries are shown.</p>` : '';
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Index of ${title}</title>
<style>body{font-family:sans-serif;margin:2em}td{padding:.2em 1em}td.n{text-align:right}th{text-align:left;padding:.2em 1em}</style>
</head><body><h1>Index of ${title}</h1>
<table><tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr>
${up}${rows.join('\n')}
</table>${more}</body></html>
`;
}

function humanSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

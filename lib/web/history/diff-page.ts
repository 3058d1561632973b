/**
 * `?view=diff&from=REV&to=REV` on a file (docs/web.md, "History pages"): the diff between the file
 * as two commits left it; without `to`, against the live file. A malformed revision is a 400, one
 * that does not exist (or where the file was not) a 404; a folder is a 400. Both sides are read up to
 * TEXT_MAX bytes (./diff-render.ts): past it the file is summarised by size, never buffered whole.
 */
import type { Entry } from '../../../backends/backend.js';
import type { HistoryReader, LogCommit } from '../../../backends/capabilities.js';
import type { DavRequest } from '../../dav/context.js';
import { badRequest, notFound } from '../../dav/errors/dav-error.js';
import { escapeAttr, escapeText } from '../../dav/xml/write.js';
import { renderPage, sendPage } from '../page.js';
import { commitLine, layoutParam, livePathOf, readerFor, revisionParam, sendNoHistory, viewHref } from './common.js';
import { layoutLinks, renderFileDiff, TEXT_MAX, type Layout, type Side } from './diff-render.js';

export async function diffView(req: DavRequest, entry: Entry): Promise<void> {
  if (entry.kind !== 'file') throw badRequest(`?view=diff is for a file; ${req.path} is a folder (see ?view=history)`);
  const from = revisionParam(req, 'from', true);
  const to = revisionParam(req, 'to', false);
  const layout = layoutParam(req);
  const reader = readerFor(req, req.path);
  if (!reader) return sendNoHistory(req, false);
  const path = livePathOf(req.path, reader.root).path;
  const a = await version(reader, path, from);
  const b = to ? await version(reader, path, to) : null;
  // "Now" is the live file, also when the page was asked at a version's URL in /.history.
  const live = path === req.path ? entry : await req.backend.stat(path);
  const after: Side = b ? b.side : live && live.kind === 'file' ? await liveSide(req, live) : null;
  const label = (v: { commit: LogCommit } | null) => (v ? `<span class="side">${commitLine(req, '/', true, v.commit)}</span>` : `<span class="side">the current file</span>`);
  const params = (l: Layout): Record<string, string> => ({ view: 'diff', from, ...(to ? { to } : {}), ...(l === 'split' ? { layout: 'split' } : {}) });
  const main = `<section class="diff-sides">
<p><span class="minus">From</span> ${label(a)}</p>
<p><span class="plus">To</span> ${label(b)}</p>
</section>
${layoutLinks((l) => viewHref(req, req.path, false, params(l)), layout)}
<div id="diffs" class="diffs ${layout}"><section class="file-diff" data-path="${escapeAttr(path)}">
<h3>${escapeText(path.slice(1))} <span class="file-links"><a href="${escapeAttr(viewHref(req, path, false, { view: 'history' }))}">History</a></span></h3>
${renderFileDiff(a.side, after, layout)}
</section></div>`;
  sendPage(req, renderPage(req, { title: `Changes to ${path.slice(1)}`, path, collection: false, main, view: 'diff' }));
}

/** The file as commit `rev` left it: a 404 where there is no such commit or no such file in it. */
async function version(reader: HistoryReader, path: string, rev: string): Promise<{ commit: LogCommit; side: Side }> {
  const at = await reader.fileAt(path, rev);
  if (!at) throw notFound(`there is no version of ${path} at revision ${rev} (no such commit, or the file was not there then)`);
  const blob = await reader.blob(at.blob, TEXT_MAX);
  return { commit: at.commit, side: blob };
}

/** The live file, read up to TEXT_MAX bytes (a larger one is summarised by its size, not read). */
async function liveSide(req: DavRequest, entry: Entry): Promise<Side> {
  // The entry's own path: the live file's (never the version URL the page may have been asked at).
  if (entry.size > TEXT_MAX) return { size: entry.size, bytes: null };
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of await req.backend.read(entry.path, undefined, entry)) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    n += buf.length;
    if (n > TEXT_MAX) return { size: entry.size, bytes: null };
    chunks.push(buf);
  }
  return { size: n, bytes: Buffer.concat(chunks) };
}

/**
 * `?view=commit&id=SHA` on any path (docs/web.md, "History pages"): one commit's message, author,
 * time, parents and changed files, and the diff of each changed text file (./diff-render.ts), unified
 * or side by side (`&layout=split`). Bounded: the files listed are the reader's bound (1,000, "and N
 * more"), and blobs are read for diffs up to DIFF_BUDGET bytes in all; past it a file is listed with a
 * link to its own diff. A malformed id is a 400, an unknown one a 404.
 */
import type { Entry } from '../../../backends/backend.js';
import type { ChangedFile, CommitDetail, HistoryReader } from '../../../backends/capabilities.js';
import type { DavRequest } from '../../dav/context.js';
import { notFound } from '../../dav/errors/dav-error.js';
import { escapeAttr, escapeText } from '../../dav/xml/write.js';
import { humanSize, timeTag } from '../format.js';
import { renderPage, sendPage } from '../page.js';
import { fileAnchor, layoutParam, readerFor, revisionParam, sendNoHistory, viewHref } from './common.js';
import { layoutLinks, renderFileDiff, TEXT_MAX, type Layout, type Side } from './diff-render.js';

/** Blob bytes one commit page reads for its diffs at most (two sides of up to 1 MiB each, many times over). */
export const DIFF_BUDGET = 32 * 1024 * 1024;

export async function commitView(req: DavRequest, entry: Entry): Promise<void> {
  const collection = entry.kind === 'collection';
  const id = revisionParam(req, 'id', true);
  const layout = layoutParam(req);
  const reader = readerFor(req, req.path);
  if (!reader) return sendNoHistory(req, collection);
  const c = await reader.commit(id);
  if (!c) throw notFound(`there is no commit ${id} in this repository (or the prefix names several)`);
  const here = (params: Record<string, string>) => viewHref(req, req.path, collection, params);
  const sections: string[] = [];
  let budget = DIFF_BUDGET;
  for (const f of c.files) {
    const need = (f.oldId ? TEXT_MAX : 0) + (f.newId ? TEXT_MAX : 0);
    const shown = budget >= need;
    if (shown) budget -= need;
    sections.push(await fileSection(req, reader, c, f, layout, shown));
  }
  const more = c.more > 0 ? `<p class="more">and ${c.more.toLocaleString('en')}${c.moreCapped ? '+' : ''} more files, not listed.</p>` : '';
  const parents = c.parents.map((p) => `<a href="${escapeAttr(here({ view: 'commit', id: p }))}"><code>${escapeText(p.slice(0, 7))}</code></a>`).join(', ');
  const toc = c.files.map((f) => `<li><span class="change change-${f.change}">${f.change}</span> <a href="#${escapeAttr(fileAnchor(f.path))}">${escapeText(f.path.slice(1))}</a></li>`).join('');
  const main = `<section class="commit-head" data-id="${escapeAttr(c.id)}">
<h2 class="subject">${escapeText(c.subject || '(no message)')}</h2>
${c.body ? `<pre class="message">${escapeText(c.body)}</pre>` : ''}
<dl class="facts">
<dt>Author</dt><dd><span class="author">${escapeText(c.author)}</span>${c.email ? ` &lt;${escapeText(c.email)}&gt;` : ''}</dd>
<dt>Date</dt><dd>${timeTag(c.time)}</dd>
<dt>Commit</dt><dd><code class="sha">${escapeText(c.id)}</code></dd>
<dt>Parent${c.parents.length === 1 ? '' : 's'}</dt><dd>${parents || 'none (the first commit)'}</dd>
</dl>
</section>
${layoutLinks((l: Layout) => here({ view: 'commit', id: c.id, ...(l === 'split' ? { layout: 'split' } : {}) }), layout)}
<h2>${c.files.length + c.more} changed file${c.files.length + c.more === 1 ? '' : 's'}</h2>
<ul class="files toc">${toc}</ul>${more}
<div id="diffs" class="diffs ${layout}">
${sections.join('\n')}
</div>`;
  const links = [`<a href="${escapeAttr(req.href(`${reader.root}/commits/${c.id}`, true))}">Browse files at this commit</a>`];
  sendPage(req, renderPage(req, { title: `Commit ${c.short}`, path: req.path, collection, main, view: 'commit', links }));
}

async function fileSection(req: DavRequest, reader: HistoryReader, c: CommitDetail, f: ChangedFile, layout: Layout, shown: boolean): Promise<string> {
  const name = f.path.slice(1);
  const mode = f.oldMode && f.newMode && f.oldMode !== f.newMode ? ` <span class="mode">mode ${escapeText(f.oldMode)} → ${escapeText(f.newMode)}</span>` : '';
  const links: string[] = [];
  if (f.newId) links.push(`<a href="${escapeAttr(req.href(`${reader.root}/commits/${c.id}${f.path}`, false))}">View file</a>`);
  else if (c.parents[0]) links.push(`<a href="${escapeAttr(req.href(`${reader.root}/commits/${c.parents[0]}${f.path}`, false))}">View deleted file</a>`);
  // A deleted file's history is reached from its versions folder (its own URL is a 404 now).
  const history = f.change === 'D' ? viewHref(req, `${reader.root}/versions${f.path}`, true, { view: 'history' }) : viewHref(req, f.path, false, { view: 'history' });
  links.push(`<a href="${escapeAttr(history)}">History</a>`);
  let body: string;
  if (!shown) {
    body = `<p class="binary">Diff not shown: this commit's diffs are over ${humanSize(DIFF_BUDGET)}.</p>`;
  } else {
    const side = async (oid: string | null): Promise<Side> => (oid ? reader.blob(oid, TEXT_MAX) : null);
    const [before, after] = await Promise.all([side(f.oldId), side(f.newId)]);
    body = renderFileDiff(before, after, layout);
  }
  return `<section class="file-diff" id="${escapeAttr(fileAnchor(f.path))}" data-path="${escapeAttr(f.path)}" data-change="${f.change}">
<h3><span class="change change-${f.change}">${f.change}</span> ${escapeText(name)}${mode} <span class="file-links">${links.join(' ')}</span></h3>
${body}
</section>`;
}

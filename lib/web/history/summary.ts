/**
 * The folder page's line about its folder's last commit (docs/web.md, "History pages"): subject (a
 * link to the commit view), author, age, and a link to the folder's history. '' where there is no
 * history (the folder backend, another user's share) or nothing was ever committed there.
 */
import type { Entry } from '../../../backends/backend.js';
import type { DavRequest } from '../../dav/context.js';
import { escapeAttr } from '../../dav/xml/write.js';
import { commitLine, livePathOf, readerFor, viewHref } from './common.js';

/** The folder page's line about the folder's last commit (HTML), '' where there is no history. */
export async function folderSummary(req: DavRequest, dir: Entry): Promise<string> {
  const reader = readerFor(req, dir.path);
  if (!reader) return '';
  const live = livePathOf(dir.path, reader.root);
  if (live.inHistory) return ''; // history's own folders: their page is the history
  const last = await reader.last(dir.path);
  if (!last) return '';
  const history = viewHref(req, dir.path, true, { view: 'history' });
  return `<p class="last-commit">Last change: ${commitLine(req, '/', true, last)} · <a href="${escapeAttr(history)}" data-action="history">History</a></p>\n`;
}

/**
 * `?view=blame` on a text file (docs/web.md, "History pages"; wired by lib/web/views.ts): each line
 * of the file as it is with the commit that last changed it. Made from the file's versions, oldest
 * to newest, each compared with the one before by the `diff` library (lines kept keep their commit,
 * lines added take the new one). Bounded: the newest MAX_VERSIONS versions (lines older than that
 * are marked "at or before" the oldest one read), LINE_BUDGET lines over all versions read, each side
 * TEXT_MAX bytes, and jsdiff's edit and time bounds (a version too far from the one before is taken as all new).
 */
import { diffArrays } from 'diff';
import type { Entry } from '../../../backends/backend.js';
import type { LogCommit } from '../../../backends/capabilities.js';
import type { DavRequest } from '../../dav/context.js';
import { badRequest } from '../../dav/errors/dav-error.js';
import { escapeAttr, escapeText } from '../../dav/xml/write.js';
import { timeTag } from '../format.js';
import { renderPage, sendPage } from '../page.js';
import { livePathOf, readerFor, sendNoHistory, viewHref } from './common.js';
import { BINARY_SNIFF, MAX_EDIT, TEXT_MAX } from './diff-render.js';

/** Versions read at most (newest first): 100 reads of up to 1 MiB. */
export const MAX_VERSIONS = 100;
/**
 * Lines of all versions read together at most: each comparison is synchronous (jsdiff), ~1 ms per
 * 1,000 lines here, so one request blocks the event loop for ~200 ms at worst, not for seconds
 * (100 versions of a 300,000-line file took 15–30 s). Older versions are then not read ("or before").
 */
export const LINE_BUDGET = 200_000;
/** And each comparison gives up after this long (taken as all new lines, as past the edit bound). */
const DIFF_TIMEOUT_MS = 100;

export interface BlameLine {
  text: string;
  commit: LogCommit;
  /** The line is older than the oldest version read: it was last changed at or before `commit`. */
  before: boolean;
}

/** Lines of a text (a last newline ends the last line, it does not start another). */
function linesOf(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Blame from versions oldest first; `complete`: the first is the file's first version. */
export function blame(versions: Array<{ commit: LogCommit; text: string }>, complete: boolean): BlameLine[] {
  let out: BlameLine[] = [];
  versions.forEach((v, k) => {
    const next = linesOf(v.text);
    if (k === 0) {
      out = next.map((text) => ({ text, commit: v.commit, before: !complete }));
      return;
    }
    const changes = diffArrays(out.map((l) => l.text), next, { maxEditLength: MAX_EDIT, timeout: DIFF_TIMEOUT_MS });
    if (!changes) {
      out = next.map((text) => ({ text, commit: v.commit, before: false }));
      return;
    }
    const merged: BlameLine[] = [];
    let i = 0;
    for (const c of changes) {
      if (c.removed) i += c.count;
      else if (c.added) for (const text of c.value) merged.push({ text, commit: v.commit, before: false });
      else for (let n = 0; n < c.count; n++) merged.push(out[i++]!);
    }
    out = merged;
  });
  return out;
}

export async function blameView(req: DavRequest, entry: Entry): Promise<void> {
  if (entry.kind !== 'file') throw badRequest(`?view=blame is for a file; ${req.path} is a folder (see ?view=history)`);
  const reader = readerFor(req, req.path);
  if (!reader) return sendNoHistory(req, false);
  const path = livePathOf(req.path, reader.root).path;
  const { total, commits } = await reader.log(path, 0, MAX_VERSIONS, 0);
  const versions: Array<{ commit: LogCommit; text: string }> = [];
  let lineCount = 0;
  for (const c of commits) {
    if (!c.version) break; // removed here: what came before is another life of the path
    const at = await reader.fileAt(path, c.id);
    const blob = at && (await reader.blob(at.blob, TEXT_MAX));
    if (!blob || blob.bytes === null || blob.bytes.subarray(0, BINARY_SNIFF).includes(0)) {
      throw badRequest(`blame is for text files up to ${TEXT_MAX} bytes; a version of ${path} (${c.short}) is binary or larger`);
    }
    const text = blob.bytes.toString('utf8');
    lineCount += linesOf(text).length;
    if (versions.length > 0 && lineCount > LINE_BUDGET) break;
    versions.push({ commit: c, text });
  }
  const complete = versions.length === total;
  const lines = blame(versions.reverse(), complete);
  const rows = lines.map((l, i) => {
    const first = i === 0 || lines[i - 1]!.commit.id !== l.commit.id;
    const who = first
      ? `<a href="${escapeAttr(viewHref(req, '/', true, { view: 'commit', id: l.commit.id }))}" title="${escapeAttr(l.commit.subject)}"><code>${escapeText(l.commit.short)}</code></a> ${l.before ? 'or before ' : ''}<span class="author">${escapeText(l.commit.author)}</span> ${timeTag(l.commit.time)}`
      : '';
    return `<tr${first ? ' class="first"' : ''}><td class="who">${who}</td><td class="ln">${i + 1}</td><td class="code">${escapeText(l.text)}</td></tr>`;
  });
  const note = complete ? '' : `<p class="more">Only the newest ${versions.length} versions were read: older lines are marked "or before".</p>`;
  const main = `${note}<table class="diff blame" id="blame"><tbody>${rows.join('')}</tbody></table>`;
  const links = [`<a href="${escapeAttr(viewHref(req, path, false, { view: 'history' }))}">History</a>`];
  sendPage(req, renderPage(req, { title: `Blame of ${path.slice(1)}`, path, collection: false, main, view: 'blame', links }));
}

/**
 * One file's diff as HTML, unified or side by side, computed by the `diff` library (jsdiff's
 * structuredPatch: Myers' algorithm, 3 lines of context), syntax-neutral (plain text, escaped).
 * Bounded: a side over TEXT_MAX bytes or with a NUL byte in its first BINARY_SNIFF bytes is summarised
 * by its sizes, a diff of more than MAX_EDIT edits is not computed (jsdiff's maxEditLength gives up),
 * one of more than COLLAPSE lines is collapsed in a <details>, and at most MAX_ROWS lines are rendered.
 */
import { structuredPatch, type StructuredPatchHunk } from 'diff';
import { escapeAttr, escapeText } from '../../dav/xml/write.js';
import { humanSize } from '../format.js';

/** Bytes of a side read whole for a diff at most (past it: summarised as a large file). */
export const TEXT_MAX = 1024 * 1024;
/** A NUL byte within these first bytes makes a file binary (git's own test). */
export const BINARY_SNIFF = 8 * 1024;
/** Diffs longer than this many lines start collapsed. */
export const COLLAPSE = 500;
/** Edits jsdiff looks for at most: its work grows with their square (20,000 took 35 s on a rewrite of 30,000 lines; 2,000 well under a second). */
export const MAX_EDIT = 2_000;
/** Diff lines rendered per file at most (the rest is counted). */
export const MAX_ROWS = 5_000;
/** A comparison gives up after this long: jsdiff is synchronous, and a commit page compares up to ~16 big files (32 MiB read), so at most ~1.6 s of event loop, not minutes. */
const DIFF_TIMEOUT_MS = 100;

/** One side of a diff: its size and bytes (null: over TEXT_MAX, not read); null when the file is absent there. */
export type Side = { size: number; bytes: Buffer | null } | null;

export type Layout = 'unified' | 'split';

function isBinary(s: Side): boolean {
  if (!s) return false;
  return s.bytes === null || s.bytes.subarray(0, BINARY_SNIFF).includes(0);
}

/** The diff of one file between two sides, as HTML (a table, or a paragraph saying why there is none). */
export function renderFileDiff(before: Side, after: Side, layout: Layout): string {
  if (isBinary(before) || isBinary(after)) {
    const size = (s: Side) => (s ? humanSize(s.size) : 'absent');
    const what = (before?.bytes === null || after?.bytes === null) ? `Large file (over ${humanSize(TEXT_MAX)})` : 'Binary file';
    return `<p class="binary">${what}, not shown: ${size(before)} → ${size(after)}.</p>`;
  }
  const a = before?.bytes?.toString('utf8') ?? '';
  const b = after?.bytes?.toString('utf8') ?? '';
  if (a === b) return `<p class="same">No change in content.</p>`;
  // A file added or removed whole is one hunk (jsdiff would spend an edit per line on it).
  const patch = a === '' || b === '' ? { hunks: [wholeHunk(a === '' ? b : a, a === '' ? '+' : '-')] } : structuredPatch('a', 'b', a, b, '', '', { context: 3, maxEditLength: MAX_EDIT, timeout: DIFF_TIMEOUT_MS });
  if (!patch) return `<p class="binary">Too many changes to show (over ${MAX_EDIT.toLocaleString('en')} edits, or too slow to compare): ${humanSize(before?.size ?? 0)} → ${humanSize(after?.size ?? 0)}.</p>`;
  const lines = patch.hunks.reduce((n, h) => n + h.lines.length, 0);
  const cut = capped(patch.hunks);
  const rest = cut.left > 0 ? `<p class="more">and ${cut.left.toLocaleString('en')} more lines, not shown: download the versions to compare them.</p>` : '';
  const table = (layout === 'split' ? splitTable(cut.hunks) : unifiedTable(cut.hunks)) + rest;
  const stats = count(patch.hunks);
  const head = `<span class="stat"><span class="plus">+${stats.add}</span> <span class="minus">−${stats.del}</span></span>`;
  if (lines > COLLAPSE) return `<details class="large"><summary>Large diff: ${lines.toLocaleString('en')} lines ${head} — show</summary>${table}</details>`;
  return `${head}${table}`;
}

/** All of a file's lines as one hunk of `sign` lines. */
function wholeHunk(text: string, sign: '+' | '-'): StructuredPatchHunk {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const n = lines.length;
  return { oldStart: sign === '-' ? 1 : 0, oldLines: sign === '-' ? n : 0, newStart: sign === '+' ? 1 : 0, newLines: sign === '+' ? n : 0, lines: lines.map((l) => sign + l) };
}

/** Hunks cut to MAX_ROWS lines in all (a 1 MiB file is 30,000 rows of HTML); how many were left out. */
function capped(hunks: StructuredPatchHunk[]): { hunks: StructuredPatchHunk[]; left: number } {
  let room = MAX_ROWS;
  let left = 0;
  const out: StructuredPatchHunk[] = [];
  for (const h of hunks) {
    if (room <= 0) {
      left += h.lines.length;
      continue;
    }
    out.push(h.lines.length <= room ? h : { ...h, lines: h.lines.slice(0, room) });
    left += Math.max(0, h.lines.length - room);
    room -= h.lines.length;
  }
  return { hunks: out, left };
}

function count(hunks: StructuredPatchHunk[]): { add: number; del: number } {
  let add = 0;
  let del = 0;
  for (const h of hunks) for (const l of h.lines) l[0] === '+' ? add++ : l[0] === '-' ? del++ : 0;
  return { add, del };
}

function hunkHeader(h: StructuredPatchHunk): string {
  return `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`;
}

const CLASS: Record<string, string> = { '+': 'add', '-': 'del', ' ': 'ctx' };

function code(sign: string, text: string): string {
  return `<span class="sign" aria-hidden="true">${sign === ' ' ? '&nbsp;' : sign}</span>${escapeText(text)}`;
}

function unifiedTable(hunks: StructuredPatchHunk[]): string {
  const rows: string[] = [];
  for (const h of hunks) {
    rows.push(`<tr class="hunk"><td class="ln"></td><td class="ln"></td><td class="code">${escapeText(hunkHeader(h))}</td></tr>`);
    let o = h.oldStart;
    let n = h.newStart;
    for (const line of h.lines) {
      const sign = line[0]!;
      if (sign === '\\') continue; // "No newline at end of file"
      const text = line.slice(1);
      const old = sign === '+' ? '' : String(o++);
      const neu = sign === '-' ? '' : String(n++);
      rows.push(`<tr class="${CLASS[sign]}"><td class="ln">${old}</td><td class="ln">${neu}</td><td class="code">${code(sign, text)}</td></tr>`);
    }
  }
  return `<table class="diff unified"><tbody>${rows.join('')}</tbody></table>`;
}

/** Side by side: a run of removed lines faces the run of added lines after it, row by row. */
function splitTable(hunks: StructuredPatchHunk[]): string {
  const rows: string[] = [];
  const cell = (ln: number | null, sign: string, text: string | null) =>
    text === null ? `<td class="ln"></td><td class="code empty"></td>` : `<td class="ln">${ln}</td><td class="code ${CLASS[sign]}">${code(sign, text)}</td>`;
  for (const h of hunks) {
    rows.push(`<tr class="hunk"><td class="ln"></td><td class="code" colspan="3">${escapeText(hunkHeader(h))}</td></tr>`);
    let o = h.oldStart;
    let n = h.newStart;
    const lines = h.lines.filter((l) => l[0] !== '\\');
    for (let i = 0; i < lines.length; ) {
      if (lines[i]![0] === ' ') {
        const text = lines[i]!.slice(1);
        rows.push(`<tr class="ctx">${cell(o++, ' ', text)}${cell(n++, ' ', text)}</tr>`);
        i++;
        continue;
      }
      const dels: string[] = [];
      const adds: string[] = [];
      while (i < lines.length && lines[i]![0] === '-') dels.push(lines[i++]!.slice(1));
      while (i < lines.length && lines[i]![0] === '+') adds.push(lines[i++]!.slice(1));
      for (let k = 0; k < Math.max(dels.length, adds.length); k++) {
        const d = k < dels.length ? dels[k]! : null;
        const a = k < adds.length ? adds[k]! : null;
        rows.push(`<tr class="change">${cell(d === null ? null : o++, '-', d)}${cell(a === null ? null : n++, '+', a)}</tr>`);
      }
    }
  }
  return `<table class="diff split"><tbody>${rows.join('')}</tbody></table>`;
}

/** The links that switch a diff's layout (history.js swaps the page without a reload). */
export function layoutLinks(hrefOf: (layout: Layout) => string, current: Layout): string {
  const link = (l: Layout, label: string) =>
    `<a href="${escapeAttr(hrefOf(l))}" data-action="layout" data-layout="${l}"${l === current ? ' aria-current="true" class="current"' : ''}>${label}</a>`;
  return `<nav class="layout" aria-label="Diff layout">${link('unified', 'Unified')} ${link('split', 'Side by side')}</nav>`;
}

/**
 * The history pages' diff rendering (lib/web/history/diff-render.ts) on its own: unified rows with
 * line numbers, side by side pairing removed and added runs, escaping, binary and large files
 * summarised, long diffs collapsed, a diff too costly to compute refused with a message.
 */
import assert from 'node:assert/strict';
import { COLLAPSE, MAX_ROWS, renderFileDiff, TEXT_MAX, type Side } from '../../lib/web/history/diff-render.js';

const side = (text: string): Side => ({ size: Buffer.byteLength(text), bytes: Buffer.from(text) });
const rows = (html: string, cls: string) => [...html.matchAll(new RegExp(`<tr class="${cls}">(.*?)</tr>`, 'g'))].map((m) => m[1]!.replace(/<[^>]+>/g, '|').replace(/\|+/g, '|'));

describe('history diff rendering', () => {
  it('unified: removed and added lines with their old and new line numbers, escaped', () => {
    const html = renderFileDiff(side('a\nb <i>\nc\n'), side('a\nB & co\nc\nd\n'), 'unified');
    assert.deepEqual(rows(html, 'del'), ['|2|-|b &lt;i&gt;|']);
    assert.deepEqual(rows(html, 'add'), ['|2|+|B &amp; co|', '|4|+|d|']);
    assert.match(html, /@@ -1,3 \+1,4 @@/);
    assert.match(html, /\+2<\/span> <span class="minus">−1/);
  });

  it('side by side: a run of removed lines faces the added run after it', () => {
    const html = renderFileDiff(side('x\n1\n2\ny\n'), side('x\nA\ny\nz\n'), 'split');
    const change = [...html.matchAll(/<tr class="change">(.*?)<\/tr>/g)].map((m) => m[1]!);
    assert.equal(change.length, 3, '2 removed facing 1 added, then 1 added alone');
    assert.match(change[0]!, /<td class="code del">.*1<\/td>.*<td class="code add">.*A<\/td>/);
    assert.match(change[1]!, /<td class="code del">.*2<\/td><td class="ln"><\/td><td class="code empty"><\/td>/);
    assert.match(change[2]!, /<td class="ln"><\/td><td class="code empty"><\/td><td class="ln">4<\/td><td class="code add">/);
  });

  it('binary (a NUL byte) and large files are summarised by size; absent sides too', () => {
    assert.match(renderFileDiff(side('a\u0000b'), side('text'), 'unified'), /Binary file, not shown: 3 B → 4 B/);
    assert.match(renderFileDiff(null, { size: TEXT_MAX + 1, bytes: null }, 'unified'), /Large file \(over 1\.0 MiB\), not shown: absent → 1\.0 MiB/);
    assert.match(renderFileDiff(side('same'), side('same'), 'unified'), /No change in content/);
  });

  it(`collapses a diff of more than ${COLLAPSE} lines, and refuses one with too many edits`, () => {
    const many = Array.from({ length: 600 }, (_, i) => `l${i}`).join('\n') + '\n';
    assert.match(renderFileDiff(null, side(many), 'unified'), /^<details class="large"><summary>Large diff: 600 lines/);
    assert.doesNotMatch(renderFileDiff(side('a\n'), side('b\n'), 'unified'), /<details/);
    const added = renderFileDiff(null, side(Array.from({ length: 30_000 }, (_, i) => `n${i}`).join('\n') + '\n'), 'unified');
    assert.match(added, /Large diff: 30,000 lines/, 'a file added whole needs no edit search');
    assert.equal([...added.matchAll(/<tr class="add">/g)].length, MAX_ROWS);
    assert.match(added, /and 25,000 more lines, not shown/);
    const a = Array.from({ length: 30_000 }, (_, i) => `a${i}`).join('\n');
    const b = Array.from({ length: 30_000 }, (_, i) => `b${i}`).join('\n');
    assert.match(renderFileDiff(side(a), side(b), 'unified'), /Too many changes to show/);
  });
});

/**
 * The committed mark as the live state watches it (backends/git/journal/committed-mark.ts MarkWatch):
 * read again only when a stat says the file changed, every rise seen, and a corrupt, truncated,
 * foreign or missing file counts as no mark (never trusted, never a throw).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MARK_FILE, MarkWatch, raiseMark } from '../../backends/git/journal/committed-mark.js';

const ID = 'a'.repeat(32);
const OTHER = 'b'.repeat(32);

describe('the committed mark, watched by a stat', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'gitdav-mark-'))));
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('sees every rise, and a missing file as no mark', async () => {
    const watch = new MarkWatch(dir);
    assert.equal(watch.seqFor(ID), 0);
    for (const seq of [1, 2, 7, 1000]) {
      await raiseMark(dir, ID, seq);
      assert.equal(watch.seqFor(ID), seq);
      assert.equal(watch.seqFor(ID), seq, 'unchanged: the same answer');
    }
    await rm(join(dir, MARK_FILE));
    assert.equal(watch.seqFor(ID), 0);
  });

  it('an unchanged stat reads nothing; a changed one reads once; fresh always reads', async () => {
    const watch = new MarkWatch(dir);
    watch.seqFor(ID);
    assert.deepEqual(watch.work, { stats: 1, reads: 0 }, 'missing: nothing to read');
    await raiseMark(dir, ID, 3);
    for (let i = 0; i < 5; i++) assert.equal(watch.seqFor(ID), 3);
    assert.deepEqual(watch.work, { stats: 6, reads: 1 });
    await raiseMark(dir, ID, 4); // temp + rename: a new inode (the old file still holds its own while the temp is written)
    assert.equal(watch.seqFor(ID), 4);
    assert.deepEqual(watch.work, { stats: 7, reads: 2 });
    assert.equal(watch.seqFor(ID, true), 4);
    assert.deepEqual(watch.work, { stats: 8, reads: 3 });
  });

  it("another journal's mark is no mark for ours", async () => {
    const watch = new MarkWatch(dir);
    await raiseMark(dir, OTHER, 9);
    assert.equal(watch.seqFor(ID), 0);
    assert.equal(watch.seqFor(OTHER), 9);
  });

  for (const [what, text] of [
    ['truncated', '{"id":"' + ID + '","se'],
    ['not JSON', 'garbage\n'],
    ['an extra field', JSON.stringify({ id: ID, seq: 3, x: 1 })],
    ['a negative seq', JSON.stringify({ id: ID, seq: -1 })],
    ['a fractional seq', JSON.stringify({ id: ID, seq: 1.5 })],
    ['a bad id', JSON.stringify({ id: 'zz', seq: 3 })],
    ['an array', '[1,2]'],
    ['empty', ''],
  ] as const) {
    it(`a mark file that is ${what} counts as none`, async () => {
      const watch = new MarkWatch(dir);
      await raiseMark(dir, ID, 4);
      assert.equal(watch.seqFor(ID), 4);
      await writeFile(join(dir, MARK_FILE), text);
      assert.equal(watch.seqFor(ID), 0);
    });
  }
});

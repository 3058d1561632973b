/** The persisted object index's file (lib/caldav/state/object-index.ts): round trip, bounds, and distrust. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INDEX_FORMAT, ObjectIndex, parseIndex } from '../../lib/caldav/state/object-index.js';
import { EMPTY, OPEN, type ObjectBounds } from '../../lib/caldav/ical/bounds.js';

const b = (lo: number, hi: number, extra: Partial<ObjectBounds> = {}): ObjectBounds => ({ uid: 'u', type: 'VEVENT', span: { lo, hi }, alarms: EMPTY, ...extra });

describe('CalDAV object index file', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-index-'));
    file = join(dir, 'state', 'caldav-index.json');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function reopen(limit?: number): Promise<ObjectIndex> {
    const index = new ObjectIndex(file, limit);
    await index.ready();
    return index;
  }

  it('round-trips summaries, open and empty spans included, through temp + rename', async () => {
    const index = await reopen();
    index.set('"a"', b(1, 2));
    index.set('"b"', { uid: null, type: 'VTODO', span: OPEN, alarms: { lo: 5, hi: Infinity } });
    index.set('"c"', b(10, 20, { alarms: EMPTY }));
    index.set('"d"', b(30, 40, { exact: true }));
    index.set('"e"', b(30, 400, { gaps: 7 }));
    await index.close();
    assert.deepEqual(await readdir(join(dir, 'state')), ['caldav-index.json'], 'no temp file left');
    const again = await reopen();
    assert.deepEqual(again.get('"a"'), b(1, 2));
    assert.deepEqual(again.get('"b"'), { uid: null, type: 'VTODO', span: OPEN, alarms: { lo: 5, hi: Infinity } });
    assert.deepEqual(again.get('"c"')!.alarms.lo > again.get('"c"')!.alarms.hi, true, 'still empty');
    assert.deepEqual(again.get('"d"'), b(30, 40, { exact: true }));
    assert.deepEqual(again.get('"e"'), b(30, 400, { gaps: 7 }));
    assert.equal(again.get('"a"')!.exact, undefined);
    assert.equal(again.get('"nope"'), undefined);
  });

  it('saves of several processes merge: none loses another’s entries; a full index drops theirs before its own', async () => {
    const one = await reopen();
    const two = await reopen(); // both loaded before either saved (two workers)
    one.set('"a"', b(1, 2));
    two.set('"b"', b(3, 4));
    await one.close();
    await two.close(); // merges "a" in before it writes
    const three = await reopen();
    assert.ok(three.get('"a"') && three.get('"b"'), 'both kept');
    assert.ok(two.get('"a"'), 'and the saver learnt the other’s entry');
    one.set('"c"', b(5, 6));
    await one.close();
    const small = await reopen(2); // another process saves from here on: its bound is 2
    await writeFile(file, await readFile(file, 'utf8')); // (a save of another process: a new stamp)
    small.set('"d"', b(7, 8));
    small.set('"e"', b(9, 10)); // bounded: "d", "e"
    await small.close(); // the file's a, b, c merged in as older, then dropped by the bound
    const after = await reopen();
    assert.deepEqual([after.get('"d"'), after.get('"e"')].map(Boolean), [true, true]);
    assert.equal(after.size, 2);
  });

  it('keeps at most `limit` entries, dropping the least recently used', async () => {
    const index = await reopen(2);
    index.set('"a"', b(1, 2));
    index.set('"b"', b(3, 4));
    index.get('"a"');
    index.set('"c"', b(5, 6));
    assert.equal(index.size, 2);
    assert.equal(index.get('"b"'), undefined);
    assert.ok(index.get('"a"') && index.get('"c"'));
    await index.close();
  });

  it('ignores a truncated, altered, foreign or malformed file (as if there were none)', async () => {
    const index = await reopen();
    index.set('"a"', b(1, 2));
    await index.close();
    const good = await readFile(file, 'utf8');
    assert.ok(parseIndex(good));
    const altered = good.replace(',1,2,', ',1,3,');
    assert.notEqual(altered, good);
    for (const bad of [good.slice(0, good.length - 5), altered, good.replace('gitdav-caldav-index/2', 'gitdav-caldav-index/1'), '', 'null', '{"format":"\\', '\u0000']) {
      await writeFile(file, bad);
      assert.equal(parseIndex(bad), null, JSON.stringify(bad.slice(0, 60)));
      assert.equal((await reopen()).size, 0);
    }
  });

  it('ignores a file written under another version of the time-zone data (its verdicts used other offsets)', async () => {
    const index = await reopen();
    index.set('"a"', b(1, 2, { exact: true }));
    await index.close();
    const good = await readFile(file, 'utf8');
    assert.match(INDEX_FORMAT, /;tz=[^"]+$/);
    assert.equal((await reopen()).get('"a"')?.exact, true, 'read back under the same tz data');
    // The same rows and a right checksum, but another tz version in the format: nothing is used.
    await writeFile(file, good.replace(INDEX_FORMAT, INDEX_FORMAT.replace(/;tz=.*$/, ';tz=1970a')));
    const other = await reopen();
    assert.equal(other.get('"a"'), undefined);
    assert.equal(other.size, 0);
  });

  it('drops rows of the wrong shape from an otherwise valid file', async () => {
    const { createHash } = await import('node:crypto');
    const rows = JSON.stringify([
      ['"a"', 'u', 'VEVENT', 1, 2, 1, 0, 0, null],
      ['"b"', 'u', 'VCARD', 1, 2, 1, 0, 0, null],
      ['"c"', 7, 'VEVENT', 1, 2, 1, 0, 0, null],
      ['"d"', 'u', 'VEVENT', 'x', 2, 1, 0, 0, null],
      ['"e"', 'u', 'VEVENT', 1, 2, 1, 0, 0],
      ['"f"', 'u', 'VEVENT', 1, 2, 1, 0, 2, null],
      ['"g"', 'u', 'VTODO', 1, 2, 1, 0, 1, null],
      ['"h"', 'u', 'VEVENT', null, 2, 1, 0, 1, null],
      ['"i"', 'u', 'VEVENT', 3, 2, 1, 0, 1, null],
      ['"j"', 'u', 'VEVENT', 1, 2, 1, 0, 1, null],
      ['"k"', 'u', 'VEVENT', 1, 20, 1, 0, 0, 5],
      ['"l"', 'u', 'VEVENT', 1, 20, 1, 0, 0, -1],
      ['"m"', 'u', 'VTODO', 1, 20, 1, 0, 0, 5],
      ['"n"', 'u', 'VEVENT', 1, null, 1, 0, 0, 5],
      ['"o"', 'u', 'VEVENT', 1, 20, 1, 0, 0, 'x'],
    ]);
    await writeFile(file.replace('state/', ''), `{"format":${JSON.stringify(INDEX_FORMAT)},"sha1":"${createHash('sha1').update(rows).digest('hex')}","entries":${rows}}\n`);
    const index = new ObjectIndex(file.replace('state/', ''));
    await index.ready();
    assert.deepEqual(['"a"', '"j"', '"k"'].map((e) => index.get(e)?.exact), [undefined, true, undefined]);
    assert.equal(index.get('"k"')?.gaps, 5);
    assert.equal(index.size, 3, 'exact and gaps only on an ordered, finite VEVENT span; 9 columns, exact 0 or 1, gaps a length or null');
  });
});

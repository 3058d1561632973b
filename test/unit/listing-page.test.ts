import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Entry } from '../../backends/backend.js';
import { compareKeys, selectPage } from '../../lib/dav/listing.js';

const entry = (name: string, dir: boolean): Entry => ({ path: `/f/${name}`, kind: dir ? 'collection' : 'file', size: 1, etag: '"x"', modified: new Date(0) });

async function* stream(entries: Entry[]): AsyncGenerator<Entry> {
  yield* entries;
}

const keyOf = (e: Entry) => e.path.slice(3) + (e.kind === 'collection' ? '/' : '');

/** Every page forward from the start (after = last key), then backward from the end (before = first key). */
async function walk(entries: Entry[], size: number, direction: 'after' | 'before'): Promise<string[]> {
  const seen: string[][] = [];
  let cursor: string | undefined;
  for (let steps = 0; steps <= entries.length + 1; steps++) {
    const rows = await selectPage(stream(entries), direction === 'after' ? { after: cursor } : { before: cursor ?? '\uffff\uffff' }, size);
    if (rows.length === 0) break;
    const keys = rows.map((r) => r.key);
    seen.push(keys);
    cursor = direction === 'after' ? keys[keys.length - 1] : keys[0];
  }
  return (direction === 'after' ? seen : seen.reverse()).flat();
}

describe('listing pages (lib/dav/listing.ts selectPage)', () => {
  const names = fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 6 }).filter((s) => !s.includes('/')), fc.boolean()), { selector: ([n]) => n, maxLength: 60 });

  it('forward pages, joined, are the whole folder in order: none skipped, none repeated', async () => {
    await fc.assert(
      fc.asyncProperty(names, fc.integer({ min: 1, max: 7 }), async (list, size) => {
        const entries = list.map(([n, d]) => entry(n, d));
        const sorted = entries.map(keyOf).sort(compareKeys);
        assert.deepEqual(await walk(entries, size, 'after'), sorted);
      }),
    );
  });

  it('backward pages, joined, are the same order', async () => {
    await fc.assert(
      fc.asyncProperty(names, fc.integer({ min: 1, max: 7 }), async (list, size) => {
        const entries = list.map(([n, d]) => entry(n, d));
        assert.deepEqual(await walk(entries, size, 'before'), entries.map(keyOf).sort(compareKeys));
      }),
    );
  });

  it('the last page (no cursor, from the end) is the folder’s last rows, in order', async () => {
    await fc.assert(
      fc.asyncProperty(names, fc.integer({ min: 1, max: 7 }), async (list, size) => {
        const entries = list.map(([n, d]) => entry(n, d));
        const keys = (await selectPage(stream(entries), { last: true }, size)).map((r) => r.key);
        assert.deepEqual(keys, entries.map(keyOf).sort(compareKeys).slice(-size));
      }),
    );
  });

  it('folders come first; the order is total (code points break collation ties)', () => {
    assert.ok(compareKeys('z/', 'a') < 0);
    assert.ok(compareKeys('a', 'b') < 0);
    assert.notEqual(compareKeys('e\u0301', '\u00e9'), 0);
    assert.equal(compareKeys('x', 'x'), 0);
  });

  it('an entry\'s sortKey orders and pages its rows (history lists newest first), walking both ways', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 7 }), async (count, size) => {
        // Named oldest first, keyed newest first, as history's commits are.
        const entries = Array.from({ length: count }, (_, i) => ({ ...entry(`c${String(i).padStart(3, '0')}`, true), sortKey: String(1e12 - i).padStart(13, '0') }));
        const newestFirst = entries.map((e) => e.sortKey).reverse();
        const shuffled = [...entries.filter((_, i) => i % 2), ...entries.filter((_, i) => !(i % 2))]; // any order in: the keys decide
        assert.deepEqual(await walk(shuffled, size, 'after'), newestFirst);
        assert.deepEqual(await walk(shuffled, size, 'before'), newestFirst);
      }),
    );
  });
});

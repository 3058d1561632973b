/**
 * The folder page's sorts (lib/dav/listing.ts orderingOf, selectPage, parseSort): in every order,
 * pages walked by cursor forward and backward join to the whole folder sorted (folders first,
 * ties of size or date by name), with page sizes and folders fast-check picks.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Entry } from '../../backends/backend.js';
import { compareKeys, orderingOf, parseSort, selectPage, type Ordering } from '../../lib/dav/listing.js';
import type { FolderSort } from '../../lib/web/folder-page.js';

const entry = (name: string, dir: boolean, size: number, time: number): Entry => ({ path: `/f/${name}`, kind: dir ? 'collection' : 'file', size: dir ? 0 : size, etag: '"x"', modified: new Date(time) });

async function* stream(entries: Entry[]): AsyncGenerator<Entry> {
  yield* entries;
}

async function walk(entries: Entry[], size: number, direction: 'after' | 'before', ordering: Ordering): Promise<string[]> {
  const seen: string[][] = [];
  let cursor: string | undefined;
  for (let steps = 0; steps <= entries.length + 1; steps++) {
    const c = direction === 'after' ? { after: cursor } : cursor === undefined ? { last: true } : { before: cursor };
    const rows = await selectPage(stream(entries), c, size, ordering);
    if (rows.length === 0) break;
    seen.push(rows.map((r) => r.entry.path));
    cursor = direction === 'after' ? rows[rows.length - 1]!.key : rows[0]!.key;
    if (rows.length < size) break;
  }
  return (direction === 'after' ? seen : seen.reverse()).flat();
}

/** The order written out independently of listing.ts's key strings. */
function sorted(entries: Entry[], sort: FolderSort): string[] {
  const name = (e: Entry) => e.path.slice(3) + (e.kind === 'collection' ? '/' : '');
  const sign = sort.desc ? -1 : 1;
  return [...entries]
    .sort((a, b) => {
      if (a.kind !== b.kind) return a.kind === 'collection' ? -1 : 1;
      if (sort.field === 'size') return sign * (a.size - b.size) || compareKeys(name(a), name(b));
      if (sort.field === 'modified') return sign * (a.modified.getTime() - b.modified.getTime()) || compareKeys(name(a), name(b));
      return sign * compareKeys(name(a), name(b));
    })
    .map((e) => e.path);
}

describe('folder page sorts (lib/dav/listing.ts orderingOf)', () => {
  const folder = fc.uniqueArray(
    fc.tuple(fc.string({ minLength: 1, maxLength: 5 }).filter((s) => !s.includes('/')), fc.boolean(), fc.nat(5), fc.integer({ min: -3, max: 3 })),
    { selector: ([n]) => n, maxLength: 40 },
  );
  const sorts = fc.record({ field: fc.constantFrom('name' as const, 'size' as const, 'modified' as const), desc: fc.boolean() });

  it('pages forward, joined, are the folder in the asked order: none skipped, none repeated', async () => {
    await fc.assert(
      fc.asyncProperty(folder, sorts, fc.integer({ min: 1, max: 6 }), async (list, sort, size) => {
        const entries = list.map(([n, d, b, t]) => entry(n, d, b, t * 86_400_000));
        assert.deepEqual(await walk(entries, size, 'after', orderingOf(sort)), sorted(entries, sort));
      }),
    );
  });

  it('pages backward from the end, joined, are the same order', async () => {
    await fc.assert(
      fc.asyncProperty(folder, sorts, fc.integer({ min: 1, max: 6 }), async (list, sort, size) => {
        const entries = list.map(([n, d, b, t]) => entry(n, d, b, t * 86_400_000));
        assert.deepEqual(await walk(entries, size, 'before', orderingOf(sort)), sorted(entries, sort));
      }),
    );
  });

  it('a numeric sort takes only its own cursors (N:NAME); a name sort any', () => {
    assert.equal(orderingOf({ field: 'size', desc: false }).valid('12:a.txt'), true);
    assert.equal(orderingOf({ field: 'modified', desc: true }).valid('-5:a/'), true);
    assert.equal(orderingOf({ field: 'size', desc: false }).valid('a.txt'), false);
    assert.equal(orderingOf({ field: 'name', desc: false }).valid('12:a.txt'), true);
  });

  it('parseSort: the default, the known values, and a 400 for anything else', () => {
    assert.deepEqual(parseSort({}), { field: 'default', desc: false, explicit: false });
    assert.deepEqual(parseSort({ sort: 'size', order: 'desc' }), { field: 'size', desc: true, explicit: true });
    for (const q of [{ sort: 'Size' }, { order: 'down' }, { sort: ['name', 'size'] }, { sort: '' }]) {
      assert.throws(() => parseSort(q), (e: { status?: number }) => e.status === 400, JSON.stringify(q));
    }
  });
});

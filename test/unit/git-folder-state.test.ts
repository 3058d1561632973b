/**
 * The pure parts behind an edited folder's ETag and sync token (issue 14, B4): which record last
 * changed a folder (backends/git/journal-touches.ts) against a plain scan of the records, and the
 * sync token's delta blob (backends/git/sync-delta.ts) parsed strictly: its own output round-trips,
 * anything else (truncated, corrupt, odd) is no delta, never a crash.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parentOf } from '../../backends/backend.js';
import { JournalTouches, TouchIndex } from '../../backends/git/journal-touches.js';
import type { JournalRecord } from '../../backends/git/journal/record.js';
import { parseDelta } from '../../backends/git/sync-delta.js';

const PATHS = ['/', '/a', '/a/b', '/a/b/c.txt', '/a/d.txt', '/e', '/e/f.txt'];

function record(seq: number, paths: string[]): JournalRecord {
  return { seq, time: seq, meta: { op: 'PUT', path: paths[0] ?? '/' }, effects: paths.map((path) => ({ path, slot: null })) };
}

/** The last seq ≤ bound with an effect at, inside or above `path`: the definition, by scanning. */
function scan(records: JournalRecord[], path: string, bound: number): number {
  let best = 0;
  for (const r of records) {
    if (r.seq > bound) continue;
    for (const e of r.effects) {
      const inside = e.path === path || e.path.startsWith(path === '/' ? '/' : `${path}/`);
      let above = false;
      for (let p = path; p !== '/'; ) {
        p = parentOf(p);
        if (p === e.path) above = true;
      }
      if (inside || above) best = Math.max(best, r.seq);
    }
  }
  return best;
}

describe('git: the record that last changed a folder (journal-touches.ts)', () => {
  it('agrees with a scan of the records, for every path and bound, as records are appended (property)', () => {
    const effects = fc.array(fc.constantFrom(...PATHS), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.array(effects, { maxLength: 30 }), (first, list) => {
        const records = list.map((paths, i) => record(first + i, paths));
        const touches = new JournalTouches();
        const paths = new Set<string>(); // one lineage: one shared set
        for (let n = 0; n <= records.length; n++) {
          const view = { records: records.slice(0, n), paths, appliedSeq: n ? records[n - 1]!.seq : first - 1 };
          for (const p of PATHS) for (const bound of [view.appliedSeq, first + Math.floor(n / 2)]) {
            assert.equal(touches.lastTouch({ ...view, appliedSeq: Math.min(bound, view.appliedSeq) }, p), scan(view.records, p, Math.min(bound, view.appliedSeq)), `${p} ≤ ${bound} after ${n}`);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a view whose records do not extend the indexed ones in order gets an index of its own', () => {
    const index = new TouchIndex();
    assert.equal(index.extend([record(1, ['/a/x']), record(2, ['/e/f.txt'])]), true);
    assert.equal(index.extend([record(1, ['/a/x']), record(3, ['/a/y'])]), false, 'another record where seq 2 was');
    const touches = new JournalTouches();
    const paths = new Set<string>();
    assert.equal(touches.lastTouch({ records: [record(1, ['/a/x']), record(2, ['/e/f.txt'])], paths, appliedSeq: 2 }, '/a'), 1);
    assert.equal(touches.lastTouch({ records: [record(1, ['/a/x']), record(3, ['/a/y'])], paths, appliedSeq: 3 }, '/a'), 3);
    assert.equal(touches.lastTouch({ records: [record(1, ['/a/x']), record(3, ['/a/y'])], paths, appliedSeq: 3 }, '/e'), 0);
  });
});

describe('git: the chained digest of the records behind a folder ETag (journal-touches.ts)', () => {
  const put = (seq: number, path: string, oid: string): JournalRecord => ({ seq, time: seq, meta: { op: 'PUT', path }, effects: [{ path, slot: { kind: 'file', mode: '100644', oid } }] });

  it('a record renumbered with the same seq but other effects (a failed append) gets another chain; the same records the same one', () => {
    const [a, b] = ['a'.repeat(40), 'b'.repeat(40)];
    const one = new JournalTouches();
    const two = new JournalTouches();
    const seen = { records: [put(1, '/d/f', a), put(2, '/d/x', a)], paths: new Set<string>(), appliedSeq: 2 };
    const renumbered = { records: [put(1, '/d/f', a), put(2, '/d/y', b)], paths: new Set<string>(), appliedSeq: 2 };
    const t1 = one.touch(seen, '/d');
    const t2 = two.touch(renumbered, '/d');
    assert.equal(t1.seq, t2.seq);
    assert.match(t1.chain, /^[0-9a-f]{16}$/);
    assert.notEqual(t1.chain, t2.chain, 'same seq, other content: another chain');
    assert.deepEqual(two.touch({ ...seen, paths: new Set() }, '/d'), t1, 'the same records in another process: the same chain');
    // A different record in the same lineage's slot (same paths set) is not taken for the indexed one.
    assert.deepEqual(one.touch({ ...renumbered, paths: seen.paths }, '/d'), t2);
    // An earlier record's content is in the chain too (a record that does not touch the folder counts).
    const other = { records: [put(1, '/e/g', b), put(2, '/d/x', a)], paths: new Set<string>(), appliedSeq: 2 };
    assert.notEqual(new JournalTouches().touch(other, '/d').chain, t1.chain);
  });
});

describe('git: the sync token delta blob (sync-delta.ts)', () => {
  const OID = 'a'.repeat(40);
  const MARKER = `${'c'.repeat(40)}-${'d'.repeat(32)}-3-7-${'e'.repeat(16)}`;
  const valid = { 'gitdav-sync-delta': 1, base: 'b'.repeat(40), members: [['x.ics', '100644', OID], ['gone.ics'], ['sub', '40000', '', MARKER]] };

  it('reads what the server writes', () => {
    const state = parseDelta(Buffer.from(JSON.stringify(valid)))!;
    assert.equal(state.tree, 'b'.repeat(40));
    assert.deepEqual([...state.delta!], [['x.ics', { mode: '100644', name: 'x.ics', oid: OID }], ['gone.ics', null], ['sub', { mode: '40000', name: 'sub', oid: '', marker: MARKER }]]);
  });

  it('refuses anything else: truncated, odd fields, bad names, modes or ids', () => {
    const text = JSON.stringify(valid);
    for (let n = 0; n < text.length; n++) assert.equal(parseDelta(Buffer.from(text.slice(0, n))), null, `truncated at ${n}`);
    const odd = [
      { ...valid, extra: 1 },
      { ...valid, 'gitdav-sync-delta': 2 },
      { ...valid, base: 'B'.repeat(40) },
      { ...valid, members: {} },
      { ...valid, members: [['a/b', '100644', OID]] },
      { ...valid, members: [['..']] },
      { ...valid, members: [['']] },
      { ...valid, members: [['x', '100644']] },
      { ...valid, members: [['x', '777', OID]] },
      { ...valid, members: [['x', '100644', '']] },
      { ...valid, members: [['x'], ['x']] },
      { ...valid, members: [['sub', '40000', '']] }, // an edited folder without its marker: could not tell its states apart
      { ...valid, members: [['sub', '40000', '', 'not-a-marker']] },
      { ...valid, members: [['sub', '40000', OID, MARKER]] },
      { ...valid, members: [['x', '100644', OID, MARKER]] },
      { ...valid, members: [['sub', '40000', '', MARKER, 'x']] },
      { ...valid, members: [[1, '100644', OID]] },
      [],
      null,
    ];
    for (const o of odd) assert.equal(parseDelta(Buffer.from(JSON.stringify(o))), null, JSON.stringify(o));
  });

  it('never throws on arbitrary bytes or JSON (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => void parseDelta(Buffer.from(bytes))));
    fc.assert(fc.property(fc.jsonValue(), (v) => void parseDelta(Buffer.from(JSON.stringify(v) ?? ''))));
  });
});

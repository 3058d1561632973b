/**
 * backends/sync-diff.ts (sync-collection's diff, both backends) against a straightforward reference
 * (fast-check): every name of both states sorted, the changed ones taken up to the limit, applied to
 * a copy of the previous state. The fast path (only changed names sorted; `reached` is `current`
 * itself when nothing is truncated) must give the same changes, order, truncation and state reached.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { diffMembers, type Fingerprints } from '../../backends/sync-diff.js';

function reference(previous: Fingerprints, current: Fingerprints, limit: number) {
  const names = [...new Set([...previous.keys(), ...current.keys()])].sort();
  const changes = names.filter((n) => previous.get(n) !== current.get(n));
  const taken = changes.slice(0, Math.max(0, limit));
  const reached = new Map(previous);
  const changed: string[] = [];
  const removed: string[] = [];
  for (const name of taken) {
    const now = current.get(name);
    if (now === undefined) {
      reached.delete(name);
      removed.push(name);
    } else {
      reached.set(name, now);
      changed.push(name);
    }
  }
  return { changed, removed, reached, truncated: taken.length < changes.length };
}

// Few short names and prints, so states overlap and collide often; names with lone and paired
// surrogates (sort compares UTF-16 units).
const name = fc.oneof(
  fc.constantFrom('a', 'b', 'c', 'ab', 'B', '\ud800', '\udc00', '\ud83d\ude00', 'a\ud800', 'é'),
  fc.string({ unit: 'binary', maxLength: 3 }),
);
const state = fc.array(fc.tuple(name, fc.constantFrom('"1"', '"2"', '"3" {}')), { maxLength: 12 }).map((pairs) => new Map(pairs));
const limit = fc.oneof(fc.constantFrom(Infinity, 0, 1, 2, 3, NaN, -1), fc.integer({ min: 0, max: 15 }));

describe('diffMembers', () => {
  it('gives what the reference gives: changed, removed, truncated and the state reached', () => {
    fc.assert(
      fc.property(state, state, limit, (previous, current, max) => {
        const got = diffMembers(previous, current, max);
        const want = reference(previous, current, max);
        assert.deepEqual(got.changed, want.changed);
        assert.deepEqual(got.removed, want.removed);
        assert.equal(got.truncated, want.truncated);
        // The same content (a Map's order is not part of the contract: the snapshot sorts).
        assert.deepEqual([...got.reached].sort(), [...want.reached].sort());
      }),
      { numRuns: 5000 },
    );
  });

  it('a state compared with an equal one (or a copy) has no changes and reaches it', () => {
    fc.assert(
      fc.property(state, (s) => {
        const d = diffMembers(s, new Map(s));
        assert.deepEqual([d.changed, d.removed, d.truncated], [[], [], false]);
        assert.deepEqual([...d.reached].sort(), [...s].sort());
      }),
    );
  });
});

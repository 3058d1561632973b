/** LayeredEntries (backends/git/layered-entries.ts) behaves as a copied Map: forks never see each other's edits. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LayeredEntries } from '../../backends/git/layered-entries.js';

describe('git layered folder entries', () => {
  it('matches a Map copied at each fork, whatever the edits (property)', () => {
    const name = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
    const step = fc.oneof(
      fc.record({ k: fc.constant('set' as const), name, v: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ k: fc.constant('delete' as const), name }),
      fc.record({ k: fc.constant('fork' as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const base = new Map([['a', 1], ['b', 2], ['c', 3]]);
        let model = new Map(base);
        let layered = LayeredEntries.fork<number>(base);
        const snapshots: Array<[Map<string, number>, LayeredEntries<number>]> = [];
        for (const s of steps) {
          if (s.k === 'set') (model.set(s.name, s.v), layered.set(s.name, s.v));
          else if (s.k === 'delete') assert.equal(layered.delete(s.name), model.delete(s.name));
          else {
            snapshots.push([model, layered]);
            model = new Map(model);
            layered = LayeredEntries.fork(layered);
          }
        }
        for (const [m, l] of [...snapshots, [model, layered] as [Map<string, number>, LayeredEntries<number>]]) {
          assert.equal(l.size, m.size);
          assert.deepEqual(new Map(l), m);
          for (const n of ['a', 'b', 'c', 'd', 'e', 'f']) assert.equal(l.get(n), m.get(n));
        }
        assert.deepEqual([...base], [['a', 1], ['b', 2], ['c', 3]], 'the base is never changed');
      }),
    );
  });
});

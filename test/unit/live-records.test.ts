/**
 * The live views' records log (backends/git/live-records.ts): runs share one append-only log, and each
 * run (a published view's records) always reads exactly its own prefix, whatever is appended, reset or
 * forked after it. Work is counted in elements (pushed, copied), never time.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { appendRecords, noRecords, recordLogWork } from '../../backends/git/live-records.js';
import type { JournalRecord } from '../../backends/git/journal/record.js';

let nextSeq = 1;
const records = (n: number): JournalRecord[] => Array.from({ length: n }, () => ({ seq: nextSeq++ }) as unknown as JournalRecord);

/** `run` answers as the plain array `model` does, through every way the readers use it. */
function same(run: readonly JournalRecord[], model: readonly JournalRecord[]): void {
  assert.ok(Array.isArray(run));
  assert.equal(run.length, model.length);
  assert.deepEqual([...run], model);
  for (let i = 0; i < model.length; i++) assert.equal(run[i], model[i]);
  assert.equal(run[model.length], undefined);
  assert.equal(model.length in run, false);
  assert.deepEqual(run.slice(1, 3), model.slice(1, 3));
  assert.equal(run.at(-1), model.at(-1));
  assert.deepEqual(Object.keys(run), Object.keys(model));
  assert.equal(JSON.stringify(run), JSON.stringify(model));
}

type Op = { kind: 'append'; from: number; n: number } | { kind: 'reset' };

describe('the live records log', () => {
  it('every run sees exactly its prefix, whatever interleaving of appends (from any run), resets and snapshots follows', () => {
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), from: fc.nat(), n: fc.integer({ min: 0, max: 4 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const) }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.boolean(), (ops, fromLatest) => {
        const snaps: { run: readonly JournalRecord[]; model: JournalRecord[] }[] = [{ run: noRecords(), model: [] }];
        for (const o of ops) {
          if (o.kind === 'reset') snaps.push({ run: noRecords(), model: [] });
          else {
            const base = snaps[fromLatest ? snaps.length - 1 : o.from % snaps.length]!;
            const added = records(o.n);
            snaps.push({ run: appendRecords(base.run, added), model: [...base.model, ...added] });
          }
          for (const s of snaps) same(s.run, s.model);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a run cannot be written to', () => {
    const run = appendRecords(noRecords(), records(2)) as JournalRecord[];
    const [a, b] = run;
    assert.throws(() => run.push(records(1)[0]!), TypeError);
    assert.throws(() => {
      run[0] = b!;
    }, TypeError);
    assert.throws(() => {
      run.length = 0;
    }, TypeError);
    assert.throws(() => delete run[0], TypeError);
    assert.throws(() => Object.freeze(run), TypeError);
    same(run, [a!, b!]);
  });

  it('a burst of n appends, each from the latest run, costs n elements pushed and none copied', () => {
    const before = { ...recordLogWork };
    let run = noRecords();
    const runs: (readonly JournalRecord[])[] = [];
    const n = 15_000;
    for (let i = 0; i < n; i++) runs.push((run = appendRecords(run, records(1))));
    assert.equal(recordLogWork.pushed - before.pushed, n);
    assert.equal(recordLogWork.copied - before.copied, 0);
    assert.equal(runs[99]!.length, 100);
    assert.equal(run.length, n);
    assert.equal(runs[99]![99], run[99]);
  });

  it('extending an older run forks: a copy of its prefix, counted, and the newer runs keep theirs', () => {
    const one = appendRecords(noRecords(), records(3));
    const two = appendRecords(one, records(2));
    const before = recordLogWork.copied;
    const fork = appendRecords(one, records(1));
    assert.equal(recordLogWork.copied - before, 3);
    assert.equal(two.length, 5);
    assert.equal(fork.length, 4);
    assert.notEqual(two[3], fork[3]);
    assert.equal(fork[2], two[2]);
  });

  it('a plain array is copied once, then extended in place', () => {
    const before = recordLogWork.copied;
    const plain = records(4);
    const run = appendRecords(plain, records(1));
    const next = appendRecords(run, records(1));
    assert.equal(recordLogWork.copied - before, 4);
    assert.equal(next.length, 6);
    assert.equal(plain.length, 4);
  });
});

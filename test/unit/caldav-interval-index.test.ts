/** The interval index over objects' bounds against a brute-force scan (fast-check). */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IntervalIndex } from '../../lib/caldav/state/interval-index.js';

// A small integer grid, so touching ends, zero-length intervals and ranges are common, not rare.
const point = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: -20, max: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom(-Infinity, Infinity) },
);
const interval = fc.tuple(point, point);
/** A range endpoint: often one of the intervals' own endpoints, or one off it. */
const near = (ivs: [number, number][]) =>
  ivs.length === 0
    ? point
    : fc.oneof(point, fc.tuple(fc.constantFrom(...ivs.flat()), fc.constantFrom(-1, 0, 0, 1)).map(([p, d]) => p + d));

describe('IntervalIndex', () => {
  const sort = (xs: number[]) => [...xs].sort((a, b) => a - b);
  function check(ivs: [number, number][], always: number[], start: number, end: number): void {
    const items = ivs.map(([lo, hi], i) => ({ lo, hi, item: i }));
    const index = new IntervalIndex(items, always);
    const got = index.overlapping(start, end);
    const open = items.filter((iv) => iv.lo <= iv.hi && (!Number.isFinite(iv.lo) || !Number.isFinite(iv.hi))).map((iv) => iv.item);
    const meeting = items.filter((iv) => iv.lo <= iv.hi && Number.isFinite(iv.lo) && Number.isFinite(iv.hi) && iv.lo <= end && iv.hi >= start).map((iv) => iv.item);
    assert.deepEqual(sort(got), sort([...meeting, ...open, ...always]));
  }

  it('returns exactly the intervals a scan finds meeting [start, end] (open ones always, empty ones never)', () => {
    const input = fc
      .array(interval, { minLength: 0, maxLength: 300, size: 'max' })
      .chain((ivs) => fc.tuple(fc.constant(ivs), fc.array(fc.integer({ min: -1000, max: -1 }), { maxLength: 5 }), near(ivs), near(ivs)));
    fc.assert(
      fc.property(input, ([ivs, always, start, end]) => check(ivs, always, start, end)),
      { numRuns: 1000 },
    );
  });

  it('counts touching and zero-length intervals and ranges as meeting', () => {
    const ivs: [number, number][] = [[0, 5], [5, 5], [5, 9], [10, 12], [-3, 0], [7, 7], [0, 0], [2, 1]];
    for (const [start, end] of [[5, 5], [0, 0], [9, 10], [12, 12], [7, 7], [-3, -3], [6, 6], [13, 20], [1, 2], [-10, -4]] as [number, number][]) check(ivs, [], start, end);
    const index = new IntervalIndex(ivs.map(([lo, hi], i) => ({ lo, hi, item: i })));
    assert.deepEqual(sort(index.overlapping(5, 5)), [0, 1, 2], 'touching at both sides, and zero length');
    assert.deepEqual(sort(index.overlapping(12, 12)), [3], 'touching an end');
    assert.deepEqual(sort(index.overlapping(6, 6)), [2], 'inside only');
  });

  it('answers a one-month range over 10,000 short events as a scan does', () => {
    const DAY = 86_400_000;
    const items = Array.from({ length: 10_000 }, (_, i) => ({ lo: i * 7 * 3_600_000, hi: i * 7 * 3_600_000 + 6 * DAY, item: i }));
    const index = new IntervalIndex(items);
    const got = index.overlapping(400 * DAY, 431 * DAY);
    assert.equal(got.length, items.filter((iv) => iv.lo <= 431 * DAY && iv.hi >= 400 * DAY).length);
  });
});

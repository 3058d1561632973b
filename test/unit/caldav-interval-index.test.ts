/** The interval index over objects' bounds against a brute-force scan (fast-check). */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IntervalIndex } from '../../lib/caldav/state/interval-index.js';

const point = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -1000, max: 1000 }) },
  { weight: 1, arbitrary: fc.constantFrom(-Infinity, Infinity) },
);
const interval = fc.tuple(point, point);

describe('IntervalIndex', () => {
  it('returns exactly the intervals a scan finds meeting [start, end] (open ones always, empty ones never)', () => {
    fc.assert(
      fc.property(fc.array(interval, { maxLength: 200 }), fc.array(fc.integer(), { maxLength: 5 }), point, point, (ivs, always, start, end) => {
        const items = ivs.map(([lo, hi], i) => ({ lo, hi, item: i }));
        const index = new IntervalIndex(items, always.map((a) => -1 - Math.abs(a)));
        const got = index.overlapping(start, end);
        const open = items.filter((iv) => iv.lo <= iv.hi && (!Number.isFinite(iv.lo) || !Number.isFinite(iv.hi))).map((iv) => iv.item);
        const meeting = items.filter((iv) => iv.lo <= iv.hi && Number.isFinite(iv.lo) && Number.isFinite(iv.hi) && iv.lo <= end && iv.hi >= start).map((iv) => iv.item);
        const sort = (xs: number[]) => [...xs].sort((a, b) => a - b);
        assert.deepEqual(sort(got), sort([...meeting, ...open, ...always.map((a) => -1 - Math.abs(a))]));
      }),
      { numRuns: 500 },
    );
  });

  it('answers a one-month range over 10,000 short events as a scan does', () => {
    const DAY = 86_400_000;
    const items = Array.from({ length: 10_000 }, (_, i) => ({ lo: i * 7 * 3_600_000, hi: i * 7 * 3_600_000 + 6 * DAY, item: i }));
    const index = new IntervalIndex(items);
    const got = index.overlapping(400 * DAY, 431 * DAY);
    assert.equal(got.length, items.filter((iv) => iv.lo <= 431 * DAY && iv.hi >= 400 * DAY).length);
  });
});

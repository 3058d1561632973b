/**
 * backends/util/lru.ts, the one weighted LRU every cache uses (git trees, commits, sizes and pack
 * windows, parsed .davprops sidecars, time zones, digests, verified logins): bounded by total weight,
 * least recently used out first, the newest item always kept.
 */
import assert from 'node:assert/strict';
import { Lru } from '../../backends/util/lru.js';

describe('Lru (weighted)', () => {
  it('evicts the least recently used past the total weight, and get refreshes recency', () => {
    const lru = new Lru<string>(10, (v) => v.length);
    lru.set('a', 'aaaa'); // 4
    lru.set('b', 'bbbb'); // 8
    assert.equal(lru.get('a'), 'aaaa'); // b is now the least recently used
    lru.set('c', 'cccc'); // 12 > 10: b goes
    assert.equal(lru.get('b'), undefined);
    assert.equal(lru.get('a'), 'aaaa');
    assert.equal(lru.get('c'), 'cccc');
    assert.equal(lru.weightHeld, 8);
    assert.equal(lru.size, 2);
  });

  it('keeps the newest item even when it alone is heavier than the bound', () => {
    const lru = new Lru<string>(4, (v) => v.length);
    lru.set('small', 'x');
    lru.set('big', 'y'.repeat(100));
    assert.equal(lru.size, 1);
    assert.equal(lru.get('big')?.length, 100);
    assert.equal(lru.weightHeld, 100);
    lru.set('next', 'z');
    assert.deepEqual([lru.get('big'), lru.get('next')], [undefined, 'z']);
  });

  it('a value set again is weighed again; delete and clear give the weight back', () => {
    const lru = new Lru<string>(100, (v) => v.length);
    lru.set('k', 'ab');
    lru.set('k', 'abcdef');
    assert.equal(lru.weightHeld, 6);
    lru.set('j', 'xyz');
    lru.delete('k');
    lru.delete('missing');
    assert.equal(lru.weightHeld, 3);
    lru.clear();
    assert.equal(lru.size, 0);
    assert.equal(lru.weightHeld, 0);
    assert.equal(lru.get('j'), undefined);
  });

  it('counts entries when no weight is given', () => {
    const lru = new Lru<number>(3);
    for (let i = 0; i < 10; i++) lru.set(String(i), i);
    assert.equal(lru.size, 3);
    assert.deepEqual(['7', '8', '9'].map((k) => lru.get(k)), [7, 8, 9]);
  });
});

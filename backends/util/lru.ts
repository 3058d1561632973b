/**
 * A least-recently-used map bounded by total weight, not by count: tree caches hold one entry per
 * tree version, and a calendar of 10,000 members makes a new 10,000-entry tree with every commit, so
 * "5,000 trees" meant gigabytes (1.8 GB RSS after a 10,000-PUT upload). The newest item always stays.
 */
import type { CacheCounts } from './stats.js';

export class Lru<V> {
  /** Each value with the weight it was counted at, so a value whose weight grows can be set again. */
  private readonly map = new Map<string, { v: V; w: number }>();
  private total = 0;

  constructor(
    private readonly capacity: number,
    /** A value's weight (bytes, usually); the key is given for caches whose keys are the bulk. */
    private readonly weight: (v: V, k: string) => number = () => 1,
    /** Where lookups are counted as hits and misses (statistics: backends/util/stats.ts). */
    private readonly counts?: CacheCounts,
  ) {}

  get(k: string): V | undefined {
    const e = this.map.get(k);
    if (e !== undefined) {
      this.map.delete(k);
      this.map.set(k, e);
    }
    if (this.counts) this.counts[e === undefined ? 'misses' : 'hits']++;
    return e?.v;
  }

  /** The value of `k` without using it: neither made recent nor counted as a hit or a miss. */
  peek(k: string): V | undefined {
    return this.map.get(k)?.v;
  }

  /** Adds or replaces `k` (weighing `v` now) and evicts the least recently used past the capacity. */
  set(k: string, v: V): void {
    const old = this.map.get(k);
    if (old !== undefined) {
      this.total -= old.w;
      this.map.delete(k);
    }
    const w = this.weight(v, k);
    this.map.set(k, { v, w });
    this.total += w;
    while (this.total > this.capacity && this.map.size > 1) {
      const [oldest, e] = this.map.entries().next().value!;
      this.map.delete(oldest);
      this.total -= e.w;
    }
  }

  /** Forgets `k` (a value that turned out bad, such as a failed read's promise). */
  delete(k: string): void {
    const e = this.map.get(k);
    if (e === undefined) return;
    this.map.delete(k);
    this.total -= e.w;
  }

  /** Forgets everything (what it holds went stale at once, such as logins after a password change). */
  clear(): void {
    this.map.clear();
    this.total = 0;
  }

  get size(): number {
    return this.map.size;
  }

  /** The weight held now (for tests and statistics). */
  get weightHeld(): number {
    return this.total;
  }
}

/**
 * A string as bytes a cache may keep, or null for one over `max` bytes. In its own memory
 * (allocUnsafeSlow), not a slice of Node's shared 8 KiB pool as Buffer.from gives for small strings,
 * whose slab a kept slice would keep alive whole: a cache's byte bound counts all the memory an entry
 * holds.
 */
export function ownedBytes(text: string, max: number): Buffer | null {
  // UTF-8 never has fewer bytes than UTF-16 units: a long string is refused without measuring it
  // (Buffer.byteLength flattens a big concatenated string into a copy first).
  if (text.length > max) return null;
  const n = Buffer.byteLength(text);
  if (n > max) return null;
  const bytes = Buffer.allocUnsafeSlow(n);
  bytes.write(text, 'utf8');
  return bytes;
}

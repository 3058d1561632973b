/**
 * A least-recently-used map bounded by total weight, not by count: tree caches hold one entry per
 * tree version, and a calendar of 10,000 members makes a new 10,000-entry tree with every commit, so
 * "5,000 trees" meant gigabytes (1.8 GB RSS after a 10,000-PUT upload). The newest item always stays.
 */
export class Lru<V> {
  private readonly map = new Map<string, V>();
  private total = 0;

  constructor(
    private readonly capacity: number,
    private readonly weight: (v: V) => number = () => 1,
  ) {}

  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }

  set(k: string, v: V): void {
    const old = this.map.get(k);
    if (old !== undefined) {
      this.total -= this.weight(old);
      this.map.delete(k);
    }
    this.map.set(k, v);
    this.total += this.weight(v);
    while (this.total > this.capacity && this.map.size > 1) {
      const [oldest, value] = this.map.entries().next().value!;
      this.map.delete(oldest);
      this.total -= this.weight(value);
    }
  }

  get size(): number {
    return this.map.size;
  }
}

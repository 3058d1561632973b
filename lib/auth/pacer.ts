/**
 * One password check per interval for a key (a user past the per-user ceiling), handed out in turn
 * to the address prefixes asking: a prefix joins a queue on its first try, and the interval's check
 * goes to the prefix at its head. So a client that retries (Retry-After: 1) gets its turn after the
 * prefixes that were already waiting, however many requests a botnet sends: its place in the queue
 * does not depend on who else sends faster, and those who join later queue behind it. A prefix that
 * stops asking (no try for `staleMs`) leaves the queue. Bounded: `maxWaiting` prefixes waiting
 * over all keys (~100 bytes each; a newcomer when all are taken is told to come back: filling it
 * means 10,000 requests a second from 100,000 prefixes, a flood for the network to stop), `maxKeys`
 * keys (least recently used dropped).
 */
export interface PacerOptions {
  intervalMs: number;
  /** A waiting prefix that has not asked again for this long leaves the queue. */
  staleMs: number;
  /** Prefixes waiting, over all keys. */
  maxWaiting: number;
  maxKeys: number;
}

export const DEFAULT_PACER: PacerOptions = { intervalMs: 1000, staleMs: 10_000, maxWaiting: 100_000, maxKeys: 10_000 };

interface Lane {
  /** No check before this time. */
  next: number;
  /** Waiting prefixes in the order they came, with the time each last asked. */
  waiting: Map<string, number>;
}

export class Pacer {
  private readonly lanes = new Map<string, Lane>();
  private total = 0;

  constructor(
    private readonly options: PacerOptions = DEFAULT_PACER,
    private readonly now: () => number = Date.now,
  ) {}

  /** 0: `who` may have the key's check now; more: the milliseconds to wait before asking again. */
  take(key: string, who: string): number {
    const now = this.now();
    let lane = this.lanes.get(key);
    if (lane) this.lanes.delete(key);
    lane ??= { next: 0, waiting: new Map() };
    this.lanes.set(key, lane);
    if (this.lanes.size > this.options.maxKeys) {
      const [oldest, dropped] = this.lanes.entries().next().value!;
      this.total -= dropped.waiting.size;
      this.lanes.delete(oldest);
    }
    for (const [prefix, asked] of lane.waiting) {
      if (now - asked <= this.options.staleMs) break;
      lane.waiting.delete(prefix);
      this.total--;
    }
    if (!lane.waiting.has(who)) {
      if (this.total >= this.options.maxWaiting) return this.options.intervalMs;
      this.total++;
    }
    lane.waiting.set(who, now);
    const head = lane.waiting.keys().next().value;
    if (now >= lane.next && head === who) {
      lane.waiting.delete(who);
      this.total--;
      lane.next = now + this.options.intervalMs;
      return 0;
    }
    return head === who ? Math.max(1, lane.next - now) : this.options.intervalMs;
  }

  /** Prefixes waiting for the key (for tests). */
  waiting(key: string): number {
    return this.lanes.get(key)?.waiting.size ?? 0;
  }
}

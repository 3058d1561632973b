/**
 * Plain counters and events the storage layers keep for the server's statistics. Nothing here knows
 * Prometheus: lib/metrics reads the counters and listens to the events when a metrics port is on,
 * and with nobody listening an event costs a loop over an empty set. Process-wide, like the caches
 * they count (one worker process, one set of counts).
 */

/** Lookups of one cache: found, or not (and then usually read and added). */
export interface CacheCounts {
  hits: number;
  misses: number;
}

const caches = new Map<string, CacheCounts>();

/**
 * The counts of the cache called `name`, one object per name: every instance of a cache (one per
 * repository or pack) adds to the same counts, so the names, and a metric's labels, stay few.
 */
export function cacheCounts(name: string): CacheCounts {
  let counts = caches.get(name);
  if (!counts) caches.set(name, (counts = { hits: 0, misses: 0 }));
  return counts;
}

/** Every cache counted so far, by name. */
export function allCacheCounts(): ReadonlyMap<string, Readonly<CacheCounts>> {
  return caches;
}

/** Something that happens now and then with a value (a commit and its size), told to whoever listens. */
export class StatsEvent<T> {
  private readonly listeners = new Set<(value: T) => void>();

  emit(value: T): void {
    for (const listen of this.listeners) listen(value);
  }

  /** Listens until the returned function is called. */
  listen(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** A git commit landed on its branch with `operations` requests' changes in it (group commit). */
export const commitLanded = new StatsEvent<{ operations: number }>();

/**
 * `fn` over a sequence with up to `width` calls in flight, results in input order. For I/O-bound
 * loops (a calendar query reading 10,000 objects): one await per item at a time leaves the disk
 * and libuv's thread pool idle between round trips.
 */
export async function* mapOrdered<T, R>(items: Iterable<T> | AsyncIterable<T>, width: number, fn: (item: T) => Promise<R>): AsyncGenerator<R> {
  const window: Promise<R>[] = [];
  try {
    for await (const item of items) {
      const p = fn(item);
      p.catch(() => undefined); // awaited below, in order; not an unhandled rejection meanwhile
      window.push(p);
      if (window.length >= width) yield await window.shift()!;
    }
    while (window.length) yield await window.shift()!;
  } finally {
    // Abandoned early (a consumer's break or error): let the calls still running settle quietly.
    for (const p of window) p.catch(() => undefined);
  }
}

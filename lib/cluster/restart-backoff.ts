/**
 * How long the supervisor waits before it replaces a worker that died: the first at once, then
 * doubling from `baseMs` up to `capMs`, so a crash loop (a root that cannot be opened, a bug hit by
 * every request) costs a start now and then instead of a spinning CPU. A worker that had served
 * for `resetAfterMs` before it died starts the count afresh: one crash a day is not a loop.
 */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 100, capMs: 30_000, resetAfterMs: 60_000 };

export class RestartBackoff {
  private failures = 0;

  constructor(private readonly options: BackoffOptions = DEFAULT_BACKOFF) {}

  /**
   * A worker died: the delay before its replacement, ms. `servedMs`: how long it had been ready
   * (undefined: it died before it was ready).
   */
  next(servedMs: number | undefined): number {
    if (servedMs !== undefined && servedMs >= this.options.resetAfterMs) this.failures = 0;
    const delay = this.failures === 0 ? 0 : Math.min(this.options.capMs, this.options.baseMs * 2 ** (this.failures - 1));
    this.failures++;
    return delay;
  }

  /** Crashes counted since the last reset. */
  get count(): number {
    return this.failures;
  }
}

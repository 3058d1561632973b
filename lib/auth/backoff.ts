/**
 * Back-off on failed logins, per key (a user and address pair, an address, a user). An attempt is
 * reserved before its password is checked (`begin`) and settled after (`finish`), so attempts sent
 * all at once cannot all slip past the count: at most `free` attempts can be in flight or failed
 * before waiting starts; from then on one attempt at a time, each failure doubling the wait.
 * Bounded: the least recently used keys are dropped past `maxKeys` (those still free first), so a
 * flood of names cannot grow memory; a key quiet for `forgetMs` starts again from nothing.
 */
export interface BackoffOptions {
  /** Attempts (failed, or in flight) allowed before waiting starts. */
  free: number;
  baseMs: number;
  maxMs: number;
  maxKeys: number;
  /** Failures are forgotten after this long without a new one (default a day). */
  forgetMs?: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { free: 5, baseMs: 1000, maxMs: 15 * 60_000, maxKeys: 100_000 };

const DAY_MS = 24 * 3600_000;

/** The login knobs in the config file's `limits` (the trade between guessers and the guessed). */
export interface LoginLimits {
  /** Failed logins per (user, client address) before waiting starts. */
  loginFreeFailures: number;
  /** The longest wait the doubling reaches, ms. */
  loginMaxBackoffMs: number;
  /** Failed logins from one address, over all users, before that address waits, except for users who logged in from it before. */
  loginFreeFailuresPerAddress: number;
  /** Failed logins of one user, over all addresses, before that user's logins from addresses they never logged in from are paced (one check a second). */
  loginFreeFailuresPerUser: number;
  /** Threads that check passwords (bcrypt), off the event loop. */
  loginHashThreads: number;
  /** Password checks that may wait for a thread; beyond that a login gets 503 with Retry-After. */
  loginHashQueue: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  loginFreeFailures: DEFAULT_BACKOFF.free,
  loginMaxBackoffMs: DEFAULT_BACKOFF.maxMs,
  loginFreeFailuresPerAddress: 100,
  loginFreeFailuresPerUser: 100,
  loginHashThreads: 2,
  loginHashQueue: 64,
};

interface Entry {
  failures: number;
  inFlight: number;
  /** No attempt before this time, once over the free count. */
  until: number;
  /** Time of the last failure. */
  last: number;
}

export class Backoff {
  private readonly entries = new Map<string, Entry>();
  private readonly forgetMs: number;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly now: () => number = Date.now,
  ) {
    this.forgetMs = options.forgetMs ?? Math.max(DAY_MS, options.maxMs);
  }

  /**
   * Reserves an attempt: 0 means go ahead (and `finish` it later); more is the milliseconds to
   * wait. Past the free count only one attempt is let through at a time, after the wait.
   */
  begin(key: string): number {
    const e = this.entry(key, true)!;
    if (e.failures + e.inFlight >= this.options.free) {
      const wait = e.until - this.now();
      if (wait > 0) return wait;
      if (e.inFlight > 0) return this.options.baseMs;
    }
    e.inFlight++;
    return 0;
  }

  /** Settles an attempt `begin` let through: failed, or not (a success, or never checked). */
  finish(key: string, failed: boolean): void {
    const e = this.entries.get(key);
    if (e && e.inFlight > 0) e.inFlight--;
    if (failed) this.fail(key);
    else if (e && e.failures === 0 && e.inFlight === 0) this.entries.delete(key);
  }

  /** Counts a failure (of an attempt that was not reserved, or from `finish`). */
  fail(key: string): void {
    const e = this.entry(key, true)!;
    const now = this.now();
    e.failures++;
    e.last = now;
    const over = e.failures - this.options.free;
    if (over >= 0) e.until = now + Math.min(this.options.maxMs, this.options.baseMs * 2 ** Math.min(over, 40));
  }

  /** Forgets the key's failures (attempts still in flight stay counted). */
  succeed(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    if (e.inFlight === 0) this.entries.delete(key);
    else Object.assign(e, { failures: 0, until: 0 });
  }

  /** Milliseconds until the key may try again (0: now). */
  wait(key: string): number {
    const e = this.entry(key, false);
    if (!e || e.failures + e.inFlight < this.options.free) return 0;
    return Math.max(0, e.until - this.now());
  }

  /** Failures counted for the key (for tests and logs). */
  failures(key: string): number {
    return this.entry(key, false)?.failures ?? 0;
  }

  private entry(key: string, create: boolean): Entry | undefined {
    let e = this.entries.get(key);
    if (e && e.inFlight === 0 && e.failures > 0 && this.now() - e.last > this.forgetMs) {
      this.entries.delete(key);
      e = undefined;
    }
    if (!create) return e;
    e ??= { failures: 0, inFlight: 0, until: 0, last: 0 };
    // Re-insert: Map order is then least recently used first, and the oldest go past maxKeys.
    this.entries.delete(key);
    this.entries.set(key, e);
    if (this.entries.size > this.options.maxKeys) this.evictOne(key);
    return e;
  }

  /**
   * Drops the least recently used key, preferring (among the 64 oldest) one below its free count:
   * a flood of new keys should not give a guesser that reached the wait a fresh start.
   */
  private evictOne(keep: string): void {
    let seen = 0;
    for (const [key, e] of this.entries) {
      if (key !== keep && e.failures < this.options.free && e.inFlight === 0) return void this.entries.delete(key);
      if (++seen >= 64) break;
    }
    this.entries.delete(this.entries.keys().next().value!);
  }
}

/**
 * Back-off on failed logins, per key (a user name, a client address): the first few failures are
 * free, then each one doubles the time before the next attempt is even checked. A success clears the
 * key. Bounded: the oldest keys are dropped past `maxKeys`, so a flood of names cannot grow memory.
 */
export interface BackoffOptions {
  /** Failures allowed before waiting starts. */
  free: number;
  baseMs: number;
  maxMs: number;
  maxKeys: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { free: 5, baseMs: 1000, maxMs: 15 * 60_000, maxKeys: 100_000 };

/** The back-off's two knobs in the config file's `limits` (the trade between guessers and the guessed). */
export interface LoginLimits {
  /** Failed logins per user and per address before waiting starts. */
  loginFreeFailures: number;
  /** The longest wait the doubling reaches, ms. */
  loginMaxBackoffMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { loginFreeFailures: DEFAULT_BACKOFF.free, loginMaxBackoffMs: DEFAULT_BACKOFF.maxMs };

export function backoffOptions(limits: Partial<LoginLimits>): BackoffOptions {
  return { ...DEFAULT_BACKOFF, free: limits.loginFreeFailures ?? DEFAULT_BACKOFF.free, maxMs: limits.loginMaxBackoffMs ?? DEFAULT_BACKOFF.maxMs };
}

export class Backoff {
  private readonly failures = new Map<string, { count: number; until: number }>();

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until the key may try again (0: now). */
  wait(key: string): number {
    const f = this.failures.get(key);
    return f ? Math.max(0, f.until - this.now()) : 0;
  }

  fail(key: string): void {
    const f = this.failures.get(key) ?? { count: 0, until: 0 };
    f.count++;
    const over = f.count - this.options.free;
    f.until = over > 0 ? this.now() + Math.min(this.options.maxMs, this.options.baseMs * 2 ** (over - 1)) : 0;
    this.failures.delete(key); // re-insert: Map order is then least recently failed first
    this.failures.set(key, f);
    if (this.failures.size > this.options.maxKeys) this.failures.delete(this.failures.keys().next().value!);
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }
}

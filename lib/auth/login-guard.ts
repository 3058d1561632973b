/**
 * Which login attempts get their password checked. Three back-offs, so that guessing is slow and
 * yet nobody can lock another user out:
 *
 * - per (user, client address): 5 attempts free, then 1 s doubling to 15 min. It holds even the
 *   right password, so a guesser gets no more tries by guessing right late; but it is the guesser's
 *   own pair, and Alice from another address (or Bob from the same one) is not affected.
 * - per client address, over all users (100 free): stops one address spraying a password over many
 *   user names, and
 * - per user, over all addresses (100 free): stops a botnet guessing at one user.
 *   These two hold only pairs that never logged in: a user who logged in from an address before
 *   (remembered for the last 100,000 pairs) is let through them from there. A correct password of
 *   a new pair cannot be let through without checking it, and checking it would make the ceiling an
 *   oracle again (or, if only unknown names were refused, tell which users exist).
 */
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';

export interface LoginPolicy {
  /** Per (user, address). */
  pair: BackoffOptions;
  /** Per address, over all users; for pairs that never logged in. */
  address: BackoffOptions;
  /** Per user, over all addresses; for pairs that never logged in. */
  user: BackoffOptions;
  /** (user, address) pairs that logged in remembered. */
  maxKnownPairs: number;
}

export const DEFAULT_LOGIN_POLICY: LoginPolicy = {
  pair: DEFAULT_BACKOFF,
  address: { ...DEFAULT_BACKOFF, free: 100 },
  user: { ...DEFAULT_BACKOFF, free: 100 },
  maxKnownPairs: 100_000,
};

/** An attempt let through: settle it with `finish`. */
export interface Ticket {
  readonly pair: string;
  readonly address: string;
  /** Null for a name that cannot be a user's (it gets no per-user count). */
  readonly user: string | null;
  /** The pair logged in before: the address and user ceilings are not reserved, only counted. */
  readonly known: boolean;
}

export type Outcome = 'ok' | 'failed' | 'unchecked';

export class LoginGuard {
  private readonly pairs: Backoff;
  private readonly addresses: Backoff;
  private readonly users: Backoff;
  /** Pairs that logged in, least recently first. */
  private readonly known = new Map<string, true>();

  constructor(
    private readonly policy: LoginPolicy = DEFAULT_LOGIN_POLICY,
    now: () => number = Date.now,
  ) {
    this.pairs = new Backoff(policy.pair, now);
    this.addresses = new Backoff(policy.address, now);
    this.users = new Backoff(policy.user, now);
  }

  /**
   * Reserves a login attempt of `user` (null: not a possible user name) from `address`: a ticket,
   * or the milliseconds to wait.
   */
  begin(user: string | null, address: string): { ticket: Ticket } | { waitMs: number } {
    const pair = `${user ?? '\0invalid'}\n${address}`;
    let wait = this.pairs.begin(pair);
    if (wait > 0) return { waitMs: wait };
    const known = this.known.has(pair);
    if (!known) {
      wait = this.addresses.begin(address);
      if (wait === 0 && user !== null) {
        wait = this.users.begin(user);
        if (wait > 0) this.addresses.finish(address, false);
      }
      if (wait > 0) {
        this.pairs.finish(pair, false);
        return { waitMs: wait };
      }
    }
    return { ticket: { pair, address, user, known } };
  }

  /** Settles an attempt: a success clears its pair's failures and remembers the pair. */
  finish(t: Ticket, outcome: Outcome): void {
    const failed = outcome === 'failed';
    this.pairs.finish(t.pair, failed);
    if (t.known) {
      if (failed) this.addresses.fail(t.address);
      if (failed && t.user !== null) this.users.fail(t.user);
    } else {
      this.addresses.finish(t.address, failed);
      if (t.user !== null) this.users.finish(t.user, failed);
    }
    if (outcome !== 'ok') return;
    this.pairs.succeed(t.pair);
    this.known.delete(t.pair);
    this.known.set(t.pair, true);
    if (this.known.size > this.policy.maxKnownPairs) this.known.delete(this.known.keys().next().value!);
  }

  /** Failures counted for a user from an address (for tests and logs). */
  pairFailures(user: string, address: string): number {
    return this.pairs.failures(`${user}\n${address}`);
  }
}

/** The policy from the config file's limits. */
export function loginPolicy(limits: {
  loginFreeFailures?: number;
  loginMaxBackoffMs?: number;
  loginFreeFailuresPerAddress?: number;
  loginFreeFailuresPerUser?: number;
}): LoginPolicy {
  const maxMs = limits.loginMaxBackoffMs ?? DEFAULT_BACKOFF.maxMs;
  const d = DEFAULT_LOGIN_POLICY;
  return {
    pair: { ...d.pair, maxMs, free: limits.loginFreeFailures ?? d.pair.free },
    address: { ...d.address, maxMs, free: limits.loginFreeFailuresPerAddress ?? d.address.free },
    user: { ...d.user, maxMs, free: limits.loginFreeFailuresPerUser ?? d.user.free },
    maxKnownPairs: d.maxKnownPairs,
  };
}

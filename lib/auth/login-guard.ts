/**
 * Which login attempts get their password checked. Guessing must be slow, and yet nobody may lock
 * another user out, not even a botnet guessing at that user. Addresses are keyed as the client's
 * IPv4 address or its IPv6 /64 (client-address.ts): a host given a /64 cannot take a fresh address
 * per guess.
 *
 * - per (user, address): 5 attempts free, then 1 s doubling to 15 min. It holds even the right
 *   password, so a guesser gets no more tries by guessing right late; but it is the guesser's own
 *   pair, and Alice from another address (or Bob from the same one) is not affected.
 * - known pairs: a (user, address) that logged in with the right password before is never held by
 *   the two ceilings below. They are kept on disk (known-logins.ts), so a restart forgets none:
 *   Alice's own devices and networks get in at once whatever is guessed at her name elsewhere.
 * - per address, over all users (100 failures): a fresh pair from an address that failed that often
 *   waits (the same doubling). It stops one address spraying a password over many names. Only who
 *   shares that address (or /64) with the sprayer waits, i.e. behind a proxy that is not trusted.
 * - per user, over all addresses (100 failures): stops a botnet guessing at one user. Past it, the
 *   user's fresh pairs are *paced*, not refused: one password check per second for that user from
 *   all fresh pairs together, handed out in turn to the address prefixes asking (pacer.ts); the
 *   others get 429 with `Retry-After: 1`. A botnet then gets at most one guess a second at a name,
 *   86,400 a day, wherever its addresses are: against bcrypt hashes of passwords of 8 characters or
 *   more (`gitdav user add` insists on both) that is acceptable. Alice from a new address (a phone
 *   on carrier NAT, a hotel) queues behind the prefixes that were waiting before her and gets her
 *   check after that many seconds; to keep her waiting an hour an attacker must keep 3,600 distinct
 *   prefixes asking (each at least every 10 s), and the ones served after her queue behind her.
 *   That is within reach of an attacker with an IPv6 /48 (65,536 /64s): her known pairs are what
 *   keeps her in then, which is why they are kept on disk.
 *   Why not refuse fresh pairs past the ceiling (as before): 20 IPv4 addresses could then keep
 *   Alice out of every new network for good. Why not let a fresh pair's right password through
 *   unpaced: it cannot be told right without checking it, and checking every guess is no ceiling.
 *   Why not only count names that exist: the answer (pace or 401) would tell which users exist.
 */
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { addressKey, hostKey } from './client-address.js';
import { DEFAULT_KNOWN_LOGINS, KnownLogins } from './known-logins.js';
import { DEFAULT_PACER, Pacer, type PacerOptions } from './pacer.js';

export interface LoginPolicy {
  /** Per (user, address). */
  pair: BackoffOptions;
  /** Per address, over all users; for pairs that never logged in. */
  address: BackoffOptions;
  /** Per user, over all addresses: `free` failures, then the user's fresh pairs are paced. */
  user: BackoffOptions;
  /** How fresh pairs of a user past the ceiling are paced. */
  userPace: PacerOptions;
  /** (user, address) pairs that logged in remembered, in all. */
  maxKnownPairs: number;
}

export const DEFAULT_LOGIN_POLICY: LoginPolicy = {
  pair: DEFAULT_BACKOFF,
  address: { ...DEFAULT_BACKOFF, free: 100 },
  user: { ...DEFAULT_BACKOFF, free: 100 },
  userPace: DEFAULT_PACER,
  maxKnownPairs: 100_000,
};

/** An attempt let through: settle it with `finish`. */
export interface Ticket {
  readonly pair: string;
  /** The address's key (IPv4, or IPv6 /64). */
  readonly address: string;
  /** Null for a name that cannot be a user's (it gets no per-user count). */
  readonly user: string | null;
  /** The pair logged in before: the address and user ceilings are not reserved, only counted. */
  readonly known: boolean;
}

export type Outcome = 'ok' | 'failed' | 'unchecked';

/** What begin answers: a ticket to settle, or the milliseconds to wait. */
export type Admission<T> = { ticket: T } | { waitMs: number };

/**
 * What the authenticator asks before checking a password: this process's LoginGuard, or (a
 * supervisor's worker) the supervisor's one, over IPC (./shared-login-guard.ts), whose begin is async.
 */
export interface LoginGate<T = unknown> {
  begin(user: string | null, address: string): Admission<T> | Promise<Admission<T>>;
  finish(ticket: T, outcome: Outcome): void;
  close(): Promise<void>;
}

export interface GuardOptions {
  now?: () => number;
  /** Where the known pairs are kept (null: memory only). */
  knownFile?: string | null;
  onError?: (err: Error) => void;
}

export class LoginGuard implements LoginGate<Ticket> {
  private readonly pairs: Backoff;
  private readonly addresses: Backoff;
  /** Failures per user (counted, never waited on: past the ceiling the pacer decides). */
  private readonly users: Backoff;
  private readonly pacer: Pacer;
  readonly known: KnownLogins;

  constructor(
    private readonly policy: LoginPolicy = DEFAULT_LOGIN_POLICY,
    options: GuardOptions = {},
  ) {
    const now = options.now ?? Date.now;
    this.pairs = new Backoff(policy.pair, now);
    this.addresses = new Backoff(policy.address, now);
    this.users = new Backoff(policy.user, now);
    this.pacer = new Pacer(policy.userPace, now);
    this.known = new KnownLogins({ ...DEFAULT_KNOWN_LOGINS, maxPairs: policy.maxKnownPairs, file: options.knownFile ?? null, now, onError: options.onError });
  }

  /**
   * Reserves a login attempt of `user` (null: not a possible user name) from `address`: a ticket,
   * or the milliseconds to wait.
   */
  begin(user: string | null, address: string): Admission<Ticket> {
    const prefix = addressKey(address);
    const pair = `${user ?? '\0invalid'}\n${hostKey(address)}`;
    let wait = this.pairs.begin(pair);
    if (wait > 0) return { waitMs: wait };
    const known = user !== null && this.known.has(user, prefix);
    if (!known) {
      wait = this.addresses.begin(prefix);
      if (wait === 0 && user !== null && this.users.failures(user) >= this.policy.user.free) {
        wait = this.pacer.take(user, prefix);
        if (wait > 0) this.addresses.finish(prefix, false);
      }
      if (wait > 0) {
        this.pairs.finish(pair, false);
        return { waitMs: wait };
      }
    }
    return { ticket: { pair, address: prefix, user, known } };
  }

  /** Settles an attempt: a success clears its pair's failures and remembers the pair. */
  finish(t: Ticket, outcome: Outcome): void {
    const failed = outcome === 'failed';
    this.pairs.finish(t.pair, failed);
    if (t.known) {
      if (failed) this.addresses.fail(t.address);
    } else {
      this.addresses.finish(t.address, failed);
    }
    if (failed && t.user !== null) this.users.fail(t.user);
    if (outcome !== 'ok') return;
    this.pairs.succeed(t.pair);
    if (t.user !== null) this.known.add(t.user, t.address);
  }

  /** Failures counted for a user from an address (for tests and logs). */
  pairFailures(user: string, address: string): number {
    return this.pairs.failures(`${user}\n${hostKey(address)}`);
  }

  /** Writes the known pairs. */
  close(): Promise<void> {
    return this.known.flush();
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
    userPace: d.userPace,
    maxKnownPairs: d.maxKnownPairs,
  };
}

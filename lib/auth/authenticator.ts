/**
 * Who a request comes from. One interface, two ways: HTTP Basic against an htpasswd file (the
 * default once the file exists), or a header set by a trusted reverse proxy that did the login
 * (SSO in front), accepted only from the proxy addresses configured. Failed logins back off per
 * (user, client address), with ceilings per address and per user (see login-guard.ts); passwords
 * are checked in worker threads; a verified password is remembered briefly (bcrypt costs ~100 ms a
 * check, and clients send credentials on every request).
 */
import { createHash } from 'node:crypto';
import { statSync, readFileSync } from 'node:fs';
import type { Context } from 'koa';
import { clientAddress, normaliseAddress } from './client-address.js';
import { isValidUserName, parseHtpasswd } from './htpasswd.js';
import { DEFAULT_LOGIN_POLICY, LoginGuard, type Admission, type LoginGate, type LoginPolicy, type Outcome } from './login-guard.js';
import { LoginGuardClient } from './shared-login-guard.js';
import { DEFAULT_CHECKER, PasswordChecker, type CheckerOptions } from './password-checker.js';
import { Lru } from '../../backends/util/lru.js';

export { normaliseAddress };

export type AuthFailure =
  | { fail: 'missing' | 'bad' }
  | { fail: 'throttled'; retryAfterSeconds: number }
  /** No thread free to check the password and the queue full: 503. */
  | { fail: 'busy'; retryAfterSeconds: number };

/** A failure with what the log should say: the user name tried and the client's address. */
export type AuthResult = { user: string } | (AuthFailure & { tried?: string; address?: string });

export interface Authenticator {
  /** The realm of the `WWW-Authenticate` challenge (Basic), or null when the login happens elsewhere. */
  readonly realm: string | null;
  authenticate(ctx: Context): Promise<AuthResult>;
  /** Releases threads and timers. */
  close?(): Promise<void>;
}

/** How long a verified password is remembered. A changed password file empties the memory. */
const REMEMBER_MS = 5 * 60_000;

export interface HtpasswdOptions {
  realm?: string;
  policy?: LoginPolicy;
  /** Proxies whose `X-Forwarded-For` names the client (exact addresses). */
  trustedProxies?: Iterable<string>;
  checker?: CheckerOptions;
  /** Where the (user, address) pairs that logged in are kept across restarts (none: memory only). */
  knownLoginsFile?: string;
  /** Told when the known pairs could not be written (they stay in memory). */
  onError?: (err: Error) => void;
  now?: () => number;
  /**
   * A supervisor's worker: attempts are counted by the supervisor's guard, shared by every worker
   * (./shared-login-guard.ts); `policy` and `knownLoginsFile` are then the supervisor's business.
   */
  supervised?: boolean;
}

export class HtpasswdAuthenticator implements Authenticator {
  readonly realm: string;
  private users = new Map<string, string>();
  private stamp = '';
  private checkedAt = 0;
  /**
   * Credentials checked recently (a hash of user, password and stored hash → until when), so a
   * client's every request does not cost a bcrypt check. Least recently used past 10,000 (entries of
   * fixed size, ~150 bytes: about 1.5 MB); emptied when the users file changes.
   */
  private readonly verified = new Lru<number>(10_000);
  /** Checks in flight by (pair, credentials): the same credentials sent again wait for that one. */
  private readonly inFlight = new Map<string, Promise<AuthResult>>();
  private readonly guard: LoginGate;
  private readonly checker: PasswordChecker;
  private readonly trusted: ReadonlySet<string>;
  private readonly now: () => number;

  constructor(
    private readonly file: string,
    options: HtpasswdOptions = {},
  ) {
    this.realm = options.realm ?? 'gitdav';
    this.now = options.now ?? Date.now;
    this.guard = options.supervised
      ? new LoginGuardClient()
      : new LoginGuard(options.policy ?? DEFAULT_LOGIN_POLICY, { now: this.now, knownFile: options.knownLoginsFile, onError: options.onError });
    this.checker = new PasswordChecker(options.checker ?? DEFAULT_CHECKER);
    this.trusted = new Set([...(options.trustedProxies ?? [])].map(normaliseAddress));
    this.reload(true);
  }

  /** The user names in the file (re-read when it changed). */
  names(): string[] {
    this.reload();
    return [...this.users.keys()];
  }

  async authenticate(ctx: Context): Promise<AuthResult> {
    const header = ctx.get('Authorization');
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!m) return { fail: header ? 'bad' : 'missing' };
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return { fail: 'bad' };
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const address = clientAddress(ctx.req, this.trusted);
    const valid = isValidUserName(user);
    this.reload();
    const hash = valid ? this.users.get(user) : undefined;
    const key = createHash('sha256').update(`${user}\0${password}\0${hash ?? ''}\0${address}`).digest('base64');
    // The same credentials already being checked (a client's parallel requests): one guess, one check.
    const same = this.inFlight.get(key);
    if (same) return same;
    const begun = this.guard.begin(valid ? user : null, address);
    // One process: the guard answers at once, as before. A worker asks its supervisor's (a promise).
    const c = { user, password, hash, address };
    const run = begun instanceof Promise ? begun.then((a) => this.attempt(a, c)) : this.attempt(begun, c);
    this.inFlight.set(key, run);
    void run
      .finally(() => {
        if (this.inFlight.get(key) === run) this.inFlight.delete(key);
      })
      .catch(() => undefined);
    return run;
  }

  /** The password check of an attempt the guard has answered. */
  private async attempt(attempt: Admission<unknown>, c: { user: string; password: string; hash: string | undefined; address: string }): Promise<AuthResult> {
    const { user, password, hash, address } = c;
    if ('waitMs' in attempt) return { fail: 'throttled', retryAfterSeconds: Math.ceil(attempt.waitMs / 1000), tried: user, address };
    const memory = createHash('sha256').update(`${user}\0${password}\0${hash ?? ''}`).digest('base64');
    if ((this.verified.get(memory) ?? 0) > this.now()) {
      this.guard.finish(attempt.ticket, 'ok');
      return { user };
    }
    let outcome: Outcome = 'unchecked';
    try {
      // An unknown user costs a real check too, so timing does not tell who exists.
      const ok = await this.checker.verify(password, hash ?? DUMMY_HASH);
      if (ok === 'busy') return { fail: 'busy', retryAfterSeconds: 1, tried: user, address };
      outcome = ok && hash !== undefined ? 'ok' : 'failed';
    } finally {
      this.guard.finish(attempt.ticket, outcome);
    }
    if (outcome === 'failed') return { fail: 'bad', tried: user, address };
    this.verified.set(memory, this.now() + REMEMBER_MS);
    return { user };
  }

  async close(): Promise<void> {
    await this.guard.close();
    await this.checker.close();
  }

  private reload(force = false): void {
    const now = this.now();
    if (!force && now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    let stamp: string;
    try {
      const st = statSync(this.file);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    this.users = stamp === 'missing' ? new Map() : parseHtpasswd(readFileSync(this.file, 'utf8'));
    this.verified.clear(); // a removed user or a new password takes effect at once
  }
}

/** A bcrypt hash of a random password: checking against it costs what a real check costs. */
const DUMMY_HASH = '$2y$10$Y1EBXQEnRkOkHvjYEOYnM.XrX.M0JO4LZJu3.NZ.zKXdmwlZZe5mW';

/**
 * A reverse proxy did the login and names the user in a header. Trusted only from the configured
 * proxy addresses: from anywhere else the header is ignored (and the request unauthenticated).
 */
export class ProxyHeaderAuthenticator implements Authenticator {
  readonly realm = null;

  constructor(
    private readonly header: string,
    private readonly trusted: ReadonlySet<string>,
  ) {}

  async authenticate(ctx: Context): Promise<AuthResult> {
    const from = normaliseAddress(ctx.req.socket.remoteAddress ?? '');
    if (!this.trusted.has(from)) return { fail: 'missing' };
    const user = ctx.get(this.header).trim();
    if (!user) return { fail: 'missing' };
    return isValidUserName(user) ? { user } : { fail: 'bad' };
  }
}

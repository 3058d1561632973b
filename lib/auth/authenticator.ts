/**
 * Who a request comes from. One interface, two ways: HTTP Basic against an htpasswd file (the
 * default once the file exists), or a header set by a trusted reverse proxy that did the login
 * (SSO in front), accepted only from the proxy addresses configured. Failed logins back off per
 * user and per address; a verified password is remembered briefly (bcrypt costs ~100 ms a check,
 * and clients send credentials on every request).
 */
import { createHash } from 'node:crypto';
import { statSync, readFileSync } from 'node:fs';
import type { Context } from 'koa';
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { isValidUserName, parseHtpasswd, verifyPassword } from './htpasswd.js';

export type AuthResult = { user: string } | { fail: 'missing' | 'bad' } | { fail: 'throttled'; retryAfterSeconds: number };

export interface Authenticator {
  /** The realm of the `WWW-Authenticate` challenge (Basic), or null when the login happens elsewhere. */
  readonly realm: string | null;
  authenticate(ctx: Context): Promise<AuthResult>;
}

/** How long a verified password is remembered. A changed password file empties the memory. */
const REMEMBER_MS = 5 * 60_000;

export class HtpasswdAuthenticator implements Authenticator {
  private users = new Map<string, string>();
  private stamp = '';
  private checkedAt = 0;
  private readonly verified = new Map<string, number>();
  private readonly backoff: Backoff;

  constructor(
    private readonly file: string,
    readonly realm = 'gitdav',
    backoff: BackoffOptions = DEFAULT_BACKOFF,
    private readonly now: () => number = Date.now,
  ) {
    this.backoff = new Backoff(backoff, now);
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
    const address = ctx.req.socket.remoteAddress ?? 'unknown';
    const wait = Math.max(this.backoff.wait(`u:${user}`), this.backoff.wait(`a:${address}`));
    if (wait > 0) return { fail: 'throttled', retryAfterSeconds: Math.ceil(wait / 1000) };
    this.reload();
    const hash = this.users.get(user);
    const key = createHash('sha256').update(`${user}\0${password}\0${hash ?? ''}`).digest('base64');
    let ok = (this.verified.get(key) ?? 0) > this.now();
    if (!ok && hash !== undefined && isValidUserName(user)) ok = await verifyPassword(password, hash);
    if (!ok && hash === undefined) await verifyPassword(password, DUMMY_HASH); // same time for unknown users
    if (!ok) {
      this.backoff.fail(`u:${user}`);
      this.backoff.fail(`a:${address}`);
      return { fail: 'bad' };
    }
    this.backoff.succeed(`u:${user}`);
    this.backoff.succeed(`a:${address}`);
    this.verified.set(key, this.now() + REMEMBER_MS);
    if (this.verified.size > 10_000) this.verified.delete(this.verified.keys().next().value!);
    return { user };
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

export function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

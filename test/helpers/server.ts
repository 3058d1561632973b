/** Starts the real server on a loopback port over a fresh temp folder; raw HTTP for edge cases. */
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBackend } from '../../backends/fs/index.js';
import { openGitRepository } from '../../backends/git/repository.js';
import { createApp, listen, type RunningServer } from '../../lib/server.js';
import type { DavOptions } from '../../lib/dav/context.js';
import type { CalDavOptions } from '../../lib/caldav/index.js';
import bcrypt from 'bcryptjs';
import { request as httpsRequest } from 'node:https';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { HtpasswdAuthenticator, ProxyHeaderAuthenticator } from '../../lib/auth/authenticator.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from '../../lib/auth/backoff.js';
import { DEFAULT_LOGIN_POLICY, type LoginPolicy } from '../../lib/auth/login-guard.js';
import type { CheckerOptions } from '../../lib/auth/password-checker.js';
import { KNOWN_LOGINS_FILE } from '../../lib/auth/known-logins.js';
import { usersFileOf, writeUsers } from '../../lib/auth/users-file.js';
import { Tenants, type GitWriteOptions } from '../../lib/tenants.js';
import type { ConnectionLimits } from '../../lib/connection-limits.js';
import { writeShares, type Share } from '../../lib/auth/shares-file.js';
import type { SymlinkPolicy } from '../../backends/fs/containment.js';
import type { Logger } from '../../backends/util/log.js';

let tlsDir: string | undefined;
/** A self-signed certificate for 127.0.0.1/localhost, made once per test run with openssl. */
export async function tlsFiles(): Promise<{ cert: string; key: string }> {
  tlsDir ??= await mkdtemp(join(tmpdir(), 'gitdav-tls-'));
  const cert = join(tlsDir, 'cert.pem');
  const key = join(tlsDir, 'key.pem');
  if (!existsSync(cert)) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  }
  return { cert, key };
}

/** `Authorization: Basic …` for a user and password. */
export const basic = (user: string, password: string) => ({ Authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') });

export interface TestServer {
  url: string;
  root: string;
  running: RunningServer;
  close(): Promise<void>;
}

export type BackendName = 'fs' | 'git';

export interface TestServerOptions {
  root?: string;
  backend?: BackendName;
  dav?: Partial<DavOptions>;
  caldav?: Partial<CalDavOptions> | true;
  /** With CalDAV on, CardDAV comes too unless this is false (address books at /addressbooks/). */
  carddav?: false;
  /** Multi-user: these users (name → password) in ROOT/.htpasswd, a mount each, login required (CalDAV on). */
  users?: Record<string, string>;
  /** HTTPS with a certificate made for the test (see `tlsFiles`). */
  tls?: boolean;
  /** Login back-off per (user, address) (default: effectively off, since every test comes from 127.0.0.1). */
  backoff?: BackoffOptions;
  /** The whole login policy, ceilings too (default: all effectively off). Overrides `backoff`. */
  loginPolicy?: LoginPolicy;
  /** With `users`: proxies whose X-Forwarded-For names the client. */
  trustedProxies?: string[];
  /** With `users`: the password-checking threads and queue. */
  checker?: CheckerOptions;
  /** With `users`: bcrypt cost of their hashes (default 4: the format and checks are bcrypt's, the time is not). */
  hashCost?: number;
  /** Multi-user with the user named by a reverse proxy's header, believed from `trusted` only. */
  proxy?: { header: string; trusted: string[] };
  connectionLimits?: Partial<ConnectionLimits>;
  /** With `users`: requests without a login may read this user's tree. */
  anonymousRead?: string;
  /** With `users`: ROOT/shares.json. */
  shares?: Share[];
  /** Folder backend: the symbolic-link policy (default follow-inside). */
  symlinks?: SymlinkPolicy;
  /** Where the server logs (silent by default). */
  logger?: Logger;
  /**
   * Git backend: how it commits. Default here `burstWindowMs: 0`, a commit per write batch made before
   * the write is answered, so tests can look at history right after a write; tests of bursts pass more.
   */
  git?: GitWriteOptions;
}

/** Plain WebDAV unless `caldav` is asked for (CalDAV adds principals and calendars at start). */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const root = options.root ?? (await mkdtemp(join(tmpdir(), 'gitdav-test-')));
  const tls = options.tls ? await tlsFiles() : undefined;
  let app;
  if (options.proxy) {
    const tenants = new Tenants({ root, backend: options.backend ?? 'fs', symlinks: options.symlinks, dav: options.dav, caldav: {}, carddav: options.carddav, emailDomain: 'example.org', git: { burstWindowMs: 0, ...options.git } });
    app = await createApp({ tenants, auth: new ProxyHeaderAuthenticator(options.proxy.header, new Set(options.proxy.trusted)), tls: !!tls, logger: options.logger });
  } else if (options.users) {
    const users = new Map<string, string>();
    // Cost 4 in tests: the format and checks are bcrypt's, the time is not.
    for (const [name, pw] of Object.entries(options.users)) users.set(name, (await bcrypt.hash(pw, options.hashCost ?? 4)).replace(/^\$2b\$/, '$2y$'));
    await writeUsers(root, users);
    if (options.shares) await writeShares(root, options.shares);
    const tenants = new Tenants({ root, backend: options.backend ?? 'fs', symlinks: options.symlinks, dav: options.dav, caldav: {}, carddav: options.carddav, emailDomain: 'example.org', git: { burstWindowMs: 0, ...options.git } });
    const off = { ...DEFAULT_BACKOFF, free: 1_000_000 };
    const policy = options.loginPolicy ?? { ...DEFAULT_LOGIN_POLICY, pair: options.backoff ?? off, address: off, user: off };
    const auth = new HtpasswdAuthenticator(usersFileOf(root), { policy, trustedProxies: options.trustedProxies, checker: options.checker, knownLoginsFile: join(root, '.gitdav', KNOWN_LOGINS_FILE) });
    app = await createApp({ tenants, auth, anonymousUser: options.anonymousRead, tls: !!tls, logger: options.logger });
  } else {
    const backend = options.backend === 'git' ? await openGitRepository({ root, burstWindowMs: 0, ...options.git }) : await FsBackend.open({ root, symlinks: options.symlinks });
    app = await createApp({ backend, dav: options.dav, caldav: options.caldav === true ? {} : options.caldav ?? false, carddav: options.carddav, tls: !!tls, logger: options.logger });
  }
  const running = await listen(app, '127.0.0.1', 0, tls, options.connectionLimits);
  return {
    url: running.url,
    root,
    running,
    async close() {
      await running.close(1000);
      if (!options.root) await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
}

const agent = new Agent({ keepAlive: false });

/** One HTTP request with exactly the method, path and headers given (no client magic). */
export function raw(base: string, path: string, req: RawRequest = {}): Promise<RawResponse> {
  const url = new URL(base);
  // Node frames bodies of DELETE/OPTIONS/GET neither by length nor chunked: always say the length.
  const headers: Record<string, string | number> = { ...req.headers };
  const framed = Object.keys(headers).some((h) => /^(content-length|transfer-encoding)$/i.test(h));
  if (req.body !== undefined && !framed) headers['Content-Length'] = Buffer.byteLength(req.body);
  return new Promise((resolve, reject) => {
    const https = url.protocol === 'https:';
    const r = (https ? httpsRequest : httpRequest)(
      { host: url.hostname, port: url.port, path, method: req.method ?? 'GET', headers, agent: https ? undefined : agent, rejectUnauthorized: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

export const XML = { 'Content-Type': 'application/xml; charset=utf-8' };

export function propfindBody(...props: string[]): string {
  return `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>${props.map((p) => `<D:${p}/>`).join('')}</D:prop></D:propfind>`;
}

export function lockBody(scope: 'exclusive' | 'shared' = 'exclusive', owner = 'tester'): string {
  return `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:${scope}/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>${owner}</D:href></D:owner></D:lockinfo>`;
}

/**
 * The HTTP layer, kept thin: error rendering → request log → (authentication) → DAV dispatch,
 * composed on Koa; and the Node HTTP(S) server around it (100-continue, timeouts, TLS with reload,
 * graceful shutdown).
 */
import type Koa from 'koa';
import type { Context, Middleware } from 'koa';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { Server as TlsServer } from 'node:https';
import type { Backend } from '../backends/backend.js';
import { requireCjs } from '../backends/util/require-cjs.js';
import { createDav, davMiddleware, type Dav, type DavOptions } from './dav/index.js';
// CalDAV (and ical.js with it) is imported only when it is on: a --no-caldav server never loads it.
import type { CalDavOptions, CalDavStates } from './caldav/index.js';
import type { CardDavOptions } from './carddav/index.js';
import { wellKnown } from './caldav/well-known.js';
import { EXPECTS_CONTINUE } from './dav/context.js';
import { SAFE_METHODS } from './dav/dispatch.js';
import { DavError } from './dav/errors/dav-error.js';
import { errorMappersOf, renderError, toDavError } from './dav/errors/render.js';
import { createLogger, type Logger } from '../backends/util/log.js';
import type { ServerConfig } from './config.js';
import { HtpasswdAuthenticator, ProxyHeaderAuthenticator, type Authenticator } from './auth/authenticator.js';
import { isMultiUser, usersFileOf } from './auth/users-file.js';
import { loginPolicy } from './auth/login-guard.js';
import { KNOWN_LOGINS_FILE } from './auth/known-logins.js';
import { DEFAULT_LOGIN_LIMITS } from './auth/backoff.js';
import { openBackend, Tenants, type GitWriteOptions } from './tenants.js';
import { holdFolder } from '../backends/fs/folder-lock.js';
import { join, resolve } from 'node:path';
import { realpath } from 'node:fs/promises';
import { applyConnectionLimits, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './connection-limits.js';
import { answerPlainHttp } from './plain-http-on-tls.js';
import type { ServerMetrics } from './metrics/index.js';
import { LockManager } from './dav/locks/lock-manager.js';
import { clientText, requestLog, Traffic } from './request-log.js';
import { listenOn } from './listen-on.js';

export interface CreateAppOptions {
  /** One mount for everyone (no authentication): the single-user server. */
  backend?: Backend;
  /** Or one mount per user, chosen by `auth`. */
  tenants?: Tenants;
  auth?: Authenticator;
  /** Requests without credentials may read (only read) this user's tree. */
  anonymousUser?: string;
  logger?: Logger;
  dav?: Partial<DavOptions>;
  /** CalDAV on this mount (default on); false serves plain WebDAV only. Single mount only. */
  caldav?: Partial<CalDavOptions> | false;
  /** CardDAV beside CalDAV (default on when CalDAV is); false: no address books. Single mount only. */
  carddav?: Partial<CardDavOptions> | false;
  /** Served over TLS: answers carry HSTS. */
  tls?: boolean;
  /** Nothing may be changed: every method but the safe ones gets 403 (checked before logins). */
  readOnly?: boolean;
  /** Outermost middleware (statistics, lib/metrics): sees every request and its final status. */
  observe?: Middleware;
  /** Proxies whose `X-Forwarded-For` names the client in the log and whose `X-Request-Id` is kept. */
  trustedProxies?: readonly string[];
  /** The server's own state folder (a mount per user: ROOT/.gitdav); default: the single backend's. */
  stateDir?: string;
}

export interface App {
  koa: Koa;
  logger: Logger;
  /** Every request served, added up (the summary line at shutdown). */
  traffic: Traffic;
  /** The server's own state folder (the flight recorder's dumps go below it), if it has one. */
  stateDir?: string;
  /** The single mount, if there is one. */
  dav?: Dav;
  /** Locks held now in every open tree (statistics). */
  locksHeld(): number;
  /** Releases every open backend. */
  close(): Promise<void>;
}

export async function createApp(options: CreateAppOptions): Promise<App> {
  const { logger = createLogger('silent'), caldav } = options;
  let route: (ctx: Context) => Promise<Dav>;
  let single: Dav | undefined;
  let states: CalDavStates | undefined; // the single mount's CalDAV state (Tenants keep their own)
  if (options.tenants) {
    if (!options.auth) throw new Error('a server with a mount per user needs an authenticator');
    const tenants = options.tenants;
    route = (ctx) => tenants.dav(ctx.state.user as string, { anonymous: ctx.state.anonymous === true });
  } else {
    if (!options.backend) throw new Error('createApp needs a backend or tenants');
    const dav = (single = await createDav({ backend: options.backend, options: options.dav }));
    if (caldav !== false) {
      const { CalDavStates, installCalDav } = await import('./caldav/index.js');
      const o = await installCalDav(dav, { ...caldav, states: caldav?.states ?? (states = new CalDavStates()) });
      if (options.carddav !== false) {
        const { installCardDav } = await import('./carddav/index.js');
        await installCardDav(dav, { user: o.user, ...options.carddav, states: o.states });
      }
    }
    route = async () => dav;
  }
  const KoaApp = requireCjs('koa') as typeof import('koa'); // not `import`: backends/util/require-cjs.ts
  const koa = new KoaApp();
  koa.silent = true;
  const reported = new WeakSet<object>(); // Koa reports a failed response stream twice (its 'error' event, its pipeline's callback)
  koa.on('error', (err: unknown, ctx?: Context) => {
    if (typeof err === 'object' && err !== null && reported.has(err)) return; // logged once
    if (typeof err === 'object' && err !== null) reported.add(err);
    // A client that hangs up mid-response is routine, not a server error.
    const code = (err as NodeJS.ErrnoException)?.code;
    const routine = code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE';
    (routine ? logger.debug : logger.error)('response stream failed', { err: routine ? code : err, requestId: ctx?.state.requestId });
  });

  if (options.observe) koa.use(options.observe);
  // Errors → status + DAV:error body; the only place this happens.
  koa.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const error = toDavError(err, errorMappersOf(ctx));
      if (error.status >= 500) logger.error('request failed', { method: ctx.method, url: clientText(ctx.url, 4096), err, requestId: ctx.state.requestId });
      if (ctx.headerSent || !ctx.writable) {
        ctx.req.socket.destroy();
        return;
      }
      ctx.respond = true;
      renderError(ctx, error);
    }
  });

  const traffic = new Traffic();
  koa.use(requestLog(logger, { trustedProxies: new Set(options.trustedProxies), tls: options.tls, traffic }));

  if (options.readOnly) koa.use(refuseWrites);
  // Before the login: clients probe /.well-known/ unauthenticated first (RFC 6764 §5: a redirect, to
  // the root, which tells nothing about anyone), and some give up on a 401 there.
  if (options.tenants || caldav !== false) koa.use(wellKnown('/', options.tenants ? options.tenants.carddav : caldav !== false && options.carddav !== false));
  if (options.auth) koa.use(authenticate(options.auth, logger, options.anonymousUser));
  const dispatchers = new WeakMap<Dav, Middleware>();
  koa.use(async (ctx, next) => {
    const dav = await route(ctx);
    let m = dispatchers.get(dav);
    if (!m) dispatchers.set(dav, (m = davMiddleware(dav)));
    return m(ctx, next);
  });
  return {
    koa,
    logger,
    traffic,
    stateDir: options.stateDir ?? options.backend?.stateDir,
    dav: single,
    locksHeld: () => (single ? (single.locks instanceof LockManager ? single.locks.size : 0) : (options.tenants?.locksHeld() ?? 0)),
    async close() {
      await single?.close();
      await states?.close(); // saves the object index
      await single?.backend.close?.();
      await options.tenants?.close();
      await options.auth?.close?.();
    },
  };
}

/**
 * A read-only server (--read-only): writes get 403 with a body that says why, whoever asks; OPTIONS
 * offers only the safe methods and drops DAV class 2 (locking), so clients such as Finder mount it
 * read-only instead of failing on the first save.
 */
const refuseWrites: Middleware = async (ctx, next) => {
  ctx.state.readOnly = true; // the web pages offer no action (lib/web/access.ts)
  if (!SAFE_METHODS.has(ctx.method)) throw new DavError(403, 'this server is read-only (gitdav serve --read-only): nothing can be changed');
  if (ctx.method === 'OPTIONS') {
    // OPTIONS writes its head itself (sendEmpty): its headers are trimmed as the head goes out.
    const res = ctx.res;
    const writeHead = res.writeHead;
    res.writeHead = function (this: typeof res, ...args: Parameters<typeof writeHead>) {
      const trim = (name: string, keep: (item: string) => boolean) => {
        const value = this.getHeader(name);
        if (typeof value === 'string') this.setHeader(name, value.split(',').map((v) => v.trim()).filter(keep).join(', '));
      };
      trim('Allow', (m) => SAFE_METHODS.has(m));
      trim('DAV', (c) => c !== '2');
      return writeHead.apply(this, args);
    } as typeof writeHead;
  }
  await next();
};

/**
 * Every request authenticated before anything else runs: 401 with a challenge, 429 while backing
 * off, 503 while every password-checking thread and queue place is taken.
 */
function authenticate(auth: Authenticator, logger: Logger, anonymousUser?: string): Middleware {
  const challenge = auth.realm ? { 'WWW-Authenticate': `Basic realm="${auth.realm}", charset="UTF-8"` } : undefined;
  return async (ctx, next) => {
    const result = await auth.authenticate(ctx);
    if ('user' in result) {
      ctx.state.user = result.user;
      return next();
    }
    // Anonymous access, when configured: one user's tree, read-only; anything else asks for a login.
    if (anonymousUser && result.fail === 'missing' && SAFE_METHODS.has(ctx.method)) {
      ctx.state.user = anonymousUser;
      ctx.state.anonymous = true;
      return next();
    }
    ctx.state.loginFailure = result.fail; // counted by reason in the statistics (lib/metrics)
    // The body is never read: a client that sent one cannot reuse the connection.
    if (ctx.req.headers['content-length'] || ctx.req.headers['transfer-encoding']) ctx.set('Connection', 'close');
    // The name tried is logged (cut short and made safe to print: it is the client's text), so a guesser can be seen.
    const who = { user: result.tried === undefined ? undefined : clientText(result.tried, 64), address: result.address ?? ctx.req.socket.remoteAddress, requestId: ctx.state.requestId as string };
    if (result.fail === 'throttled') {
      logger.warn('login throttled', who);
      throw new DavError(429, 'too many failed logins: try again later', { headers: { 'Retry-After': String(result.retryAfterSeconds) } });
    }
    if (result.fail === 'busy') {
      logger.warn('login refused: password checks all busy', who);
      // Rendered here, not thrown: a 5xx thrown is logged as a server error, and this is load shedding.
      renderError(ctx, new DavError(503, 'too many logins being checked: try again shortly', { headers: { 'Retry-After': String(result.retryAfterSeconds) } }));
      return;
    }
    if (result.fail === 'bad') logger.warn('login failed', who);
    // Logins happen at the proxy: a request that reached us without its user header was not let in.
    if (!challenge) throw new DavError(403, 'no user named by the trusted proxy');
    throw new DavError(401, 'authentication required', { headers: challenge });
  };
}

export interface RunningServer {
  server: Server | TlsServer;
  app: App;
  url: string;
  /** Reads the TLS certificate and key again (new connections use them); nothing without TLS. */
  reloadTls(): void;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), releases the backend. */
  close(graceMs?: number): Promise<void>;
}

export interface TlsFiles {
  cert: string;
  key: string;
}

/** A server bound to its port that answers 503 until an app is attached. */
export interface BoundServer {
  server: Server | TlsServer;
  url: string;
  /** Hands requests to the app from now on. */
  serve(app: App): RunningServer;
  /** Gives the port back (a start that failed after binding). */
  close(): Promise<void>;
}

/**
 * Listens with the settings a DAV server needs: 100-continue handled by us, no whole-request timeout.
 * With `tls`, HTTPS: the certificate and key are read again on `reloadTls()` (SIGHUP), for new
 * connections, without dropping the open ones.
 */
export async function listen(app: App, host: string, port: number, tls?: TlsFiles, connectionLimits: Partial<ConnectionLimits> = {}): Promise<RunningServer> {
  return (await bind(host, port, tls, connectionLimits)).serve(app);
}

/**
 * Takes the port first, before anything is opened or created on disk, so a port in use fails a
 * start without side effects; requests that arrive before `serve(app)` get 503 and Retry-After.
 */
export async function bind(host: string, port: number, tls?: TlsFiles, connectionLimits: Partial<ConnectionLimits> = {}): Promise<BoundServer> {
  const made = makeServer(tls, connectionLimits);
  const bound = await listenOn(made.server, port, host);
  return made.at(`${tls ? 'https' : 'http'}://${bound.host}:${bound.port}`);
}

/**
 * The server with every setting but not listening: a worker of a supervisor (lib/cluster/) is handed
 * its connections instead; `at(url)` is then what `bind` returns.
 */
export function makeServer(tls?: TlsFiles, connectionLimits: Partial<ConnectionLimits> = {}): { server: Server | TlsServer; at(url: string): BoundServer } {
  let handler: RequestListener = (_req, res) => {
    res.writeHead(503, { 'Retry-After': '1', 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
    res.end('starting\n');
  };
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...connectionLimits };
  const readTls = () => ({ cert: readFileSync(tls!.cert), key: readFileSync(tls!.key) });
  // Node checks header and request timers every connectionsCheckingInterval (30 s by default): often
  // enough here that a slow-loris head is cut close to headersTimeoutMs.
  const options = { maxHeaderSize: limits.maxHeaderBytes, connectionsCheckingInterval: Math.max(250, Math.min(5_000, limits.headersTimeoutMs / 4)) };
  const dispatch: RequestListener = (req, res) => handler(req, res);
  // node:https (and tls) only with TLS: a plain-HTTP worker does not hold their code (about 1.4 MB of RSS).
  const https = () => requireCjs('node:https') as typeof import('node:https');
  const server: Server | TlsServer = tls ? https().createServer({ ...options, ...readTls() }, dispatch) : createServer(options, dispatch);
  // Answer `Expect: 100-continue` only when a handler reads the body, so a doomed upload is refused first.
  server.on('checkContinue', (req: IncomingMessage & { [EXPECTS_CONTINUE]?: boolean }, res) => {
    req[EXPECTS_CONTINUE] = true;
    void handler(req, res);
  });
  applyConnectionLimits(server, limits);
  if (tls) answerPlainHttp(server as TlsServer, limits.headersTimeoutMs);
  const stop = (graceMs: number) => {
    const done = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive sockets fall idle as their last response ends: close them then, not after a timeout.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    return done.finally(() => {
      clearInterval(sweep);
      clearTimeout(timer);
    });
  };
  const at = (url: string): BoundServer => ({
    server,
    url,
    close: () => stop(0),
    serve(app) {
      handler = app.koa.callback() as RequestListener;
      let closing: Promise<void> | undefined;
      return {
        server,
        app,
        url,
        reloadTls() {
          if (tls) (server as TlsServer).setSecureContext(readTls());
        },
        close(graceMs = 30_000) {
          closing ??= stop(graceMs).then(() => app.close());
          return closing;
        },
      };
    },
  });
  return { server, at };
}

/**
 * Takes the port, then opens the configured backend (or, with a users file, the per-user mounts)
 * and serves it: a start that fails on the port leaves nothing behind on disk.
 */
export async function startServer(config: ServerConfig, logger: Logger, metrics?: ServerMetrics, listen = true): Promise<RunningServer> {
  const tls = config.tlsCert && config.tlsKey ? { cert: config.tlsCert, key: config.tlsKey } : undefined;
  // A supervisor's worker (listen false) never listens: its connections are handed to it (lib/cluster/).
  const bound = listen ? await bind(config.host, config.port, tls, config.limits) : makeServer(tls, config.limits).at(`${tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`);
  metrics?.watch(bound.server);
  let opened: { app: App; release?: () => Promise<void> };
  try {
    opened = await openApp(config, logger, !!tls, metrics?.middleware);
  } catch (err) {
    await bound.close();
    throw err;
  }
  metrics?.attach(opened.app);
  const running = bound.serve(opened.app);
  const release = opened.release;
  if (!release) return running;
  return { ...running, close: (graceMs?: number) => running.close(graceMs).finally(release) };
}

/** The app for the configuration, and (multi-user folder servers) what releases the root's hold. */
async function openApp(config: ServerConfig, logger: Logger, tls: boolean, observe?: Middleware): Promise<{ app: App; release?: () => Promise<void> }> {
  const dav = { limits: config.limits as DavOptions['limits'] };
  let app: App;
  let releaseRoot: (() => Promise<void>) | undefined;
  if (isMultiUser(config.root) || config.proxyUserHeader) {
    // Users' folders are opened on first use: a second folder server on this root is refused now.
    if (config.backend === 'fs') {
      const root = await realpath(config.root).catch(() => resolve(config.root)); // as FsBackend names it
      releaseRoot = (await holdFolder(join(root, '.gitdav'), root, { supervised: config.supervised })).release;
    }
    try {
      app = await createMultiUserApp(config, logger, tls, dav, observe);
    } catch (err) {
      await releaseRoot?.();
      throw err;
    }
  } else {
    const backend = await openBackend(config.backend, config.root, { symlinks: config.symlinks, supervised: config.supervised, blobCacheBytes: config.blobCacheBytes, workers: config.workers, git: gitWriteOptions(config) });
    app = await createApp({ backend, logger, dav, caldav: config.caldav ? { user: config.user, email: config.email, noSetup: config.readOnly } : false, carddav: config.carddav ? { noSetup: config.readOnly } : false, tls, readOnly: config.readOnly, observe, trustedProxies: config.trustedProxies });
  }
  return { app, release: releaseRoot };
}

function gitWriteOptions(config: ServerConfig): GitWriteOptions {
  return { burstWindowMs: config.burstWindowMs, burstMaxAgeMs: config.burstMaxAgeMs, ignore: config.ignore };
}

function createMultiUserApp(config: ServerConfig, logger: Logger, tls: boolean, dav: Partial<DavOptions>, observe?: Middleware): Promise<App> {
  const tenants = new Tenants({ root: config.root, backend: config.backend, symlinks: config.symlinks, blobCacheBytes: config.blobCacheBytes, workers: config.workers, git: gitWriteOptions(config), dav, caldav: config.caldav ? { noSetup: config.readOnly } : false, carddav: config.carddav ? { noSetup: config.readOnly } : false, emailDomain: config.emailDomain, mounts: config.mounts, supervised: config.supervised });
  const auth = config.proxyUserHeader
    ? new ProxyHeaderAuthenticator(config.proxyUserHeader, new Set(config.trustedProxies))
    : new HtpasswdAuthenticator(usersFileOf(config.root), {
        realm: config.realm,
        policy: loginPolicy(config.limits),
        trustedProxies: config.trustedProxies,
        knownLoginsFile: join(config.root, '.gitdav', KNOWN_LOGINS_FILE),
        onError: (err) => logger.warn('known logins not written', { error: err.message }),
        checker: { threads: config.limits.loginHashThreads ?? DEFAULT_LOGIN_LIMITS.loginHashThreads, queue: config.limits.loginHashQueue ?? DEFAULT_LOGIN_LIMITS.loginHashQueue },
        supervised: config.supervised, // the back-off is the supervisor's (lib/auth/shared-login-guard.ts)
      });
  return createApp({ tenants, auth, anonymousUser: config.anonymousRead, logger, tls, readOnly: config.readOnly, observe, trustedProxies: config.trustedProxies, stateDir: join(config.root, '.gitdav') });
}

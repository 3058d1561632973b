/**
 * The HTTP layer, kept thin: error rendering → request log → DAV dispatch, composed on Koa; and the
 * Node HTTP server around it (100-continue, timeouts, graceful shutdown).
 */
import Koa from 'koa';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Backend } from '../backends/backend.js';
import { FsBackend } from '../backends/fs/index.js';
import { createDav, davMiddleware, type Dav, type DavOptions } from './dav/index.js';
import { installCalDav, wellKnown, type CalDavOptions } from './caldav/index.js';
import { EXPECTS_CONTINUE } from './dav/context.js';
import { renderError, toDavError } from './dav/errors/render.js';
import { createLogger, type Logger } from './log.js';
import type { ServerConfig } from './config.js';

export interface CreateAppOptions {
  backend: Backend;
  logger?: Logger;
  dav?: Partial<DavOptions>;
  /** CalDAV on this mount (default on); false serves plain WebDAV only. */
  caldav?: Partial<CalDavOptions> | false;
}

export interface App {
  koa: Koa;
  dav: Dav;
  logger: Logger;
}

export async function createApp({ backend, logger = createLogger('silent'), dav: davOptions, caldav }: CreateAppOptions): Promise<App> {
  const dav = await createDav({ backend, options: davOptions });
  if (caldav !== false) await installCalDav(dav, caldav);
  const koa = new Koa();
  koa.silent = true;
  koa.on('error', (err: unknown) => {
    // A client that hangs up mid-response is routine, not a server error.
    const code = (err as NodeJS.ErrnoException)?.code;
    const routine = code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE';
    (routine ? logger.debug : logger.error)('response stream failed', { err: routine ? code : err });
  });

  // Errors → status + DAV:error body; the only place this happens.
  koa.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const error = toDavError(err);
      if (error.status >= 500) logger.error('request failed', { method: ctx.method, url: ctx.url, err });
      if (ctx.headerSent || !ctx.writable) {
        ctx.req.socket.destroy();
        return;
      }
      ctx.respond = true;
      renderError(ctx, error);
    }
  });

  koa.use(async (ctx, next) => {
    const start = process.hrtime.bigint();
    ctx.set('Server', 'gitdav');
    ctx.res.once('close', () => {
      logger.info('request', {
        method: ctx.method,
        url: ctx.url,
        status: ctx.res.statusCode,
        ms: Number((process.hrtime.bigint() - start) / 1000n) / 1000,
        aborted: !ctx.res.writableFinished || undefined,
        ua: ctx.get('User-Agent') || undefined,
      });
    });
    await next();
  });

  if (caldav !== false) koa.use(wellKnown());
  koa.use(davMiddleware(dav));
  return { koa, dav, logger };
}

export interface RunningServer {
  server: Server;
  app: App;
  url: string;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), releases the backend. */
  close(graceMs?: number): Promise<void>;
}

/** Listens with the settings a DAV server needs: 100-continue handled by us, no whole-request timeout. */
export async function listen(app: App, host: string, port: number): Promise<RunningServer> {
  const handler = app.koa.callback();
  const server = createServer(handler);
  // Answer `Expect: 100-continue` only when a handler reads the body, so a doomed upload is refused first.
  server.on('checkContinue', (req: IncomingMessage & { [EXPECTS_CONTINUE]?: boolean }, res) => {
    req[EXPECTS_CONTINUE] = true;
    void handler(req, res);
  });
  server.requestTimeout = 0; // large uploads take as long as they take; idle sockets are cut instead
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  server.setTimeout(120_000);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | undefined;
  return {
    server,
    app,
    url: `http://${hostPart}:${addr.port}`,
    close(graceMs = 30_000) {
      closing ??= (async () => {
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        // Keep-alive sockets fall idle as their last response ends: close them then, not after a timeout.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        await done;
        clearInterval(sweep);
        clearTimeout(timer);
        await app.dav.backend.close?.();
      })();
      return closing;
    },
  };
}

/** Opens the configured backend and serves it. */
export async function startServer(config: ServerConfig, logger: Logger): Promise<RunningServer> {
  // Loaded on demand: isomorphic-git costs ~15 MB that a folder server does not need.
  const backend =
    config.backend === 'git'
      ? await (await import('../backends/git/index.js')).GitBackend.open({ root: config.root })
      : await FsBackend.open({ root: config.root });
  const app = await createApp({ backend, logger, dav: { limits: config.limits as DavOptions['limits'] }, caldav: config.caldav ? { user: config.user, email: config.email } : false });
  return listen(app, config.host, config.port);
}

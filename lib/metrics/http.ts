/**
 * Where the HTTP statistics are taken: one Koa middleware, outermost, that sees every request and
 * its final status, and a watcher on the listening server for connections and their bytes.
 */
import type { Middleware } from 'koa';
import type { Server, Socket } from 'node:net';
import type { Metrics } from './metrics.js';

/** Methods counted by name; any other (Node's parser knows ~35) counts as OTHER, so labels stay few. */
const METHODS = new Set([
  'GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH', 'PROPFIND', 'PROPPATCH', 'MKCOL',
  'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'MKCALENDAR', 'ACL', 'SEARCH',
]);

/** Why a login was refused, as the authenticator says (ctx.state.loginFailure); a missing login is a challenge, not a failure. */
const FAILURES = new Set(['bad', 'throttled', 'busy']);

export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'OTHER';
}

/** Counts each request once its answer is over (sent, or cut off): method, status, time taken, login failures. */
export function requestMetrics(m: Metrics): Middleware {
  return async (ctx, next) => {
    const start = process.hrtime.bigint();
    const method = methodLabel(ctx.method);
    const { req, res } = ctx;
    m.inFlight.inc();
    // An upload lasts until its body has come in (or the answer ends first: the rest is discarded).
    const length = req.headers['content-length'];
    let uploading = method === 'PUT' && ((length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined);
    const uploadDone = () => {
      if (!uploading) return;
      uploading = false;
      m.uploads.dec();
    };
    if (uploading) {
      m.uploads.inc();
      req.once('end', uploadDone);
      req.once('close', uploadDone);
    }
    res.once('close', () => {
      uploadDone();
      m.inFlight.dec();
      // A client that left before the head went out never saw a status: nginx's 499.
      const code = res.headersSent ? res.statusCode : 499;
      m.requests.inc({ method, class: `${Math.floor(code / 100)}xx`, code: String(code) });
      m.duration.observe({ method }, Number(process.hrtime.bigint() - start) / 1e9);
      const failure = ctx.state.loginFailure as string | undefined;
      if (failure !== undefined && FAILURES.has(failure)) m.loginFailures.inc({ reason: failure });
    });
    await next();
  };
}

/** Counts the server's connections and the bytes they carry (read at each scrape, and when one closes). */
export function watchConnections(server: Server, m: Metrics): void {
  const seen = new Map<Socket, { read: number; written: number }>();
  const count = (socket: Socket, at: { read: number; written: number }) => {
    // Both can be undefined once a socket is destroyed early; what was counted stays counted.
    const read = socket.bytesRead ?? at.read;
    const written = socket.bytesWritten ?? at.written;
    if (read > at.read) m.received.inc(read - at.read);
    if (written > at.written) m.sent.inc(written - at.written);
    at.read = Math.max(at.read, read);
    at.written = Math.max(at.written, written);
  };
  server.on('connection', (socket: Socket) => {
    const at = { read: 0, written: 0 };
    seen.set(socket, at);
    m.connections.inc();
    socket.once('close', () => {
      count(socket, at);
      seen.delete(socket);
      m.connections.dec();
    });
  });
  m.beforeScrape.add(() => {
    for (const [socket, at] of seen) count(socket, at);
  });
}

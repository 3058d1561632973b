/** The DAV middleware: normalises the path, finds the method's handler, runs it. */
import type { Middleware } from 'koa';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { isShareAware } from '../../backends/capabilities.js';
import type { Dav } from './context.js';
import { DavRequest } from './context.js';
import { DavError } from './errors/dav-error.js';
import { setErrorMappers } from './errors/render.js';
import { refuseTransferCodings } from './framing.js';
import { BadPathError, parsePath } from './paths.js';
import { allowedMethods } from './respond.js';
import { el } from './xml/write.js';
import { refuseCrossSite } from '../web/csrf.js';
import { dav as dav_ } from './xml/names.js';

/** Methods that change nothing (REPORT and PROPFIND only read): also all an anonymous or read-only server serves. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PROPFIND', 'REPORT']);

export function davMiddleware(dav: Dav): Middleware {
  return async (ctx) => {
    setErrorMappers(ctx, dav.errorMappers);
    if (!SAFE_METHODS.has(ctx.method)) refuseCrossSite(ctx);
    refuseTransferCodings(ctx.req.headers);
    const handler = dav.methods.get(ctx.method);
    if (!handler) {
      throw new DavError(501, `${ctx.method} is not implemented`, { headers: { Allow: allowedMethods(dav, { kind: 'file' } as never) } });
    }
    // A fragment never travels in a request line; a client that sends one means something else.
    if (ctx.url.includes('#')) throw new DavError(400, 'a request URI must not contain a fragment (#)');
    const raw = ctx.method === 'OPTIONS' && ctx.path === '*' ? '/' : ctx.path;
    const local = dav.prefix ? raw.slice(dav.prefix.length) || '/' : raw;
    let parsed;
    try {
      parsed = parsePath(local);
    } catch (err) {
      if (err instanceof BadPathError) throw new DavError(err.status, err.message);
      throw err;
    }
    // Shares mounted read-only: refused before any method reads a body or takes a lock. COPY only
    // reads its request URI; PROPPATCH of the shared collection itself sets the grantee's own
    // properties. The mount refuses the rest (a COPY or MOVE into the share, a PROPPATCH of a member)
    // with BackendError NotGranted: 403 DAV:need-privileges too.
    if (!SAFE_METHODS.has(ctx.method) && ctx.method !== 'COPY' && ctx.method !== 'PROPPATCH' && isShareAware(dav.backend) && dav.backend.shareAccess(parsed.path) === 'read') {
      throw new DavError(403, 'this is shared with you read-only', { condition: el(dav_('need-privileges')) });
    }
    const req = new DavRequest(ctx, dav, parsed);
    try {
      await handler(req);
    } finally {
      req.release();
    }
    destroyBodyOnClose(ctx.body, ctx.req.socket, ctx.res);
  };
}

/**
 * A stream body is destroyed (its file closed) if the connection closes before the response
 * finished. Koa destroys it when the response closes, but a pipelined response queued behind
 * another never gets 'close' from Node when the connection goes away (it has no socket yet), so
 * without this its descriptor stayed open for good.
 */
function destroyBodyOnClose(body: unknown, socket: Socket | null, res: ServerResponse): void {
  if (!(body instanceof Readable) || !socket || res.writableFinished) return;
  const onClose = (): void => {
    if (!res.writableFinished) body.destroy();
  };
  socket.once('close', onClose);
  const done = (): void => void socket.removeListener('close', onClose);
  res.once('finish', done);
  body.once('close', done);
}

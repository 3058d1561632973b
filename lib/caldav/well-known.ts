/**
 * `/.well-known/caldav` and `/.well-known/carddav` (RFC 6764 §5): a redirect to the root, where
 * discovery starts (current-user-principal, then the home sets), for any method and before a login.
 */
import type { Middleware } from 'koa';

const PATHS = new Set(['/.well-known/caldav', '/.well-known/caldav/', '/.well-known/carddav', '/.well-known/carddav/']);

export function wellKnown(target = '/', carddav = true): Middleware {
  return async (ctx, next) => {
    if (!PATHS.has(ctx.path) || (!carddav && ctx.path.includes('carddav'))) return next();
    ctx.status = 301;
    ctx.set('Location', target);
    // The body is never read (this runs before the login, as the login check, which does the same):
    // closing stops a client that sent one from making the server read and discard it without bound.
    if (ctx.req.headers['content-length'] || ctx.req.headers['transfer-encoding']) ctx.set('Connection', 'close');
    ctx.body = '';
  };
}

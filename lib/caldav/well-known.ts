/** `/.well-known/caldav` (RFC 6764 §5): a redirect to the root, where discovery starts. */
import type { Middleware } from 'koa';

export function wellKnown(target = '/'): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== '/.well-known/caldav' && ctx.path !== '/.well-known/caldav/') return next();
    ctx.status = 301;
    ctx.set('Location', target);
    ctx.body = '';
  };
}

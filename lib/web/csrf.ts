/**
 * Cross-site request refusal for the web interface (docs/web.md, "Security"). The pages change
 * things with WebDAV methods sent by `fetch` (PUT, MKCOL, MOVE, COPY, DELETE), which a browser
 * never sends cross-origin without a CORS preflight this server never grants; a cross-site form can
 * still POST, and a browser attaches cached Basic credentials to it. So every method that is not
 * safe is refused (403) when the browser says the request comes from another site
 * (`Sec-Fetch-Site: cross-site` or `same-site`), or, for browsers without Fetch Metadata, when an
 * `Origin` header names another origin than the request's Host (behind a proxy, pass Host through).
 * WebDAV clients send neither header.
 * No cookie is used (the login is HTTP Basic or a proxy's), so SameSite has nothing to mark.
 */
import type { Context } from 'koa';
import { DavError } from '../dav/errors/dav-error.js';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'PROPFIND', 'REPORT']);

export function refuseCrossSite(ctx: Context): void {
  if (SAFE.has(ctx.method)) return;
  const site = ctx.get('Sec-Fetch-Site');
  if (site === 'cross-site' || site === 'same-site') throw new DavError(403, `a ${ctx.method} sent by another site's page is refused (Sec-Fetch-Site: ${site})`);
  if (site) return; // same-origin, or none (the user's own action): Fetch Metadata decides, not a proxy-rewritten Host
  const origin = ctx.get('Origin');
  if (origin && origin !== 'null' && !sameOrigin(origin, ctx.get('Host'))) throw new DavError(403, `a ${ctx.method} sent from ${origin.slice(0, 200)} is refused: only this server's own pages may send one`);
  if (origin === 'null') throw new DavError(403, `a ${ctx.method} from an opaque origin (Origin: null) is refused`);
}

function sameOrigin(origin: string, host: string): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

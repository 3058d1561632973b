/**
 * Cross-site request refusal for the web interface (docs/web.md, "Security"). The pages change
 * things with WebDAV methods sent by `fetch` (PUT, MKCOL, MOVE, COPY, DELETE), which a browser never
 * sends cross-origin without a CORS preflight this server never grants. What another site's page
 * can still send is a form POST (a browser attaches cached Basic credentials to it), so:
 * - a POST is refused (403) when the browser says it comes from another site (`Sec-Fetch-Site:
 *   cross-site` or `same-site`), or, from a browser without Fetch Metadata, when `Origin` names
 *   another origin than Host, or is `null` (a sandboxed or opaque page);
 * - any other method that is not safe is refused only when a web page (an http(s) `Origin`) of another
 *   site sent it: defence in depth if a proxy in front ever answered preflights. Browser-extension
 *   WebDAV clients (Floccus and others send `Origin: chrome-extension://…`, `moz-extension://…` or
 *   `null`) and ordinary WebDAV clients (no such headers) are not refused.
 * No cookie is used (the login is HTTP Basic or a proxy's), so SameSite has nothing to mark.
 */
import type { Context } from 'koa';
import { DavError } from '../dav/errors/dav-error.js';

/** For a method that writes (the dispatcher asks for those only: ../dav/dispatch.ts SAFE_METHODS). */
export function refuseCrossSite(ctx: Context): void {
  const site = ctx.get('Sec-Fetch-Site');
  const origin = ctx.get('Origin');
  const webOrigin = /^https?:\/\//i.test(origin);
  const fromOtherSite = site === 'cross-site' || site === 'same-site';
  if (ctx.method === 'POST') {
    if (fromOtherSite) throw refused(ctx, `Sec-Fetch-Site: ${site}`);
    if (site) return; // same-origin, or none (the user's own action): Fetch Metadata decides, not a proxy-rewritten Host
    if (origin === 'null') throw refused(ctx, 'Origin: null');
    if (origin && !sameOrigin(origin, ctx.get('Host'))) throw refused(ctx, `Origin: ${origin.slice(0, 200)}`);
    return;
  }
  if (!webOrigin) return;
  if (site ? fromOtherSite : !sameOrigin(origin, ctx.get('Host'))) throw refused(ctx, `Origin: ${origin.slice(0, 200)}`);
}

function refused(ctx: Context, why: string): DavError {
  return new DavError(403, `a ${ctx.method} sent by another site's page is refused (${why}): only this server's own pages may send one`);
}

function sameOrigin(origin: string, host: string): boolean {
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * The shell every web page shares (docs/web.md): one stylesheet and one script from this server
 * (`?ui=app.css`, `?ui=app.js`: ./assets.ts), breadcrumbs, a link to the WebDAV URL of what the page
 * shows, and the security headers. Pages are whole strings, rendered on the server: browsing and
 * downloading work without JavaScript; app.js adds the actions.
 */
import type { DavRequest } from '../dav/context.js';
import { escapeAttr, escapeText } from '../dav/xml/write.js';
import { canWrite } from './access.js';

/** No inline script or style anywhere: everything comes from ./assets.ts. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export interface PageParts {
  /** The page's title (plain text). */
  title: string;
  /** The resource the page is about (a tree path: breadcrumbs, the WebDAV link, data-path). */
  path: string;
  /** Whether `path` is a collection. */
  collection: boolean;
  /** The page's main content, already HTML. */
  main: string;
  /** An id for <main> (styles and app.js key on it): folder, history, commit, diff, calendars. */
  view: string;
  /** Links shown under the title (HTML), e.g. "History", "Download as zip". */
  links?: string[];
}

/** A whole page. `data-writable` tells app.js whether to offer actions (the server refuses them anyway). */
export function renderPage(req: DavRequest, p: PageParts): string {
  const root = req.href('/', true);
  const here = req.href(p.path, p.collection);
  const writable = canWrite(req, p.path);
  const user = req.ctx.state.user as string | undefined;
  const links = [...(p.links ?? []), `<a href="${escapeAttr(here)}" class="dav-link" data-action="copy-link" title="The WebDAV URL of this ${p.collection ? 'folder' : 'file'}">WebDAV URL</a>`];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeText(p.title)} — gitdav</title>
<link rel="icon" href="${escapeAttr(assetHref(req, 'favicon.svg'))}" type="image/svg+xml">
<link rel="stylesheet" href="${escapeAttr(assetHref(req, 'app.css'))}">
${['app.js', 'actions.js', 'history.js'].map((n) => `<script src="${escapeAttr(assetHref(req, n))}" defer></script>`).join('')}
</head><body data-dav-root="${escapeAttr(root)}" data-writable="${writable}" data-user="${escapeAttr(user ?? '')}">
<a class="skip-link" href="#${escapeAttr(p.view)}">Skip to content</a>
<header class="top"><a class="brand" href="${escapeAttr(root)}" aria-label="gitdav: home">gitdav</a>${breadcrumbs(req, p.path, p.collection)}${user ? `<span class="user">${escapeText(user)}</span>` : ''}</header>
<h1>${escapeText(p.title)}</h1>
<nav class="page-links">${links.join(' ')}</nav>
<main id="${escapeAttr(p.view)}" data-path="${escapeAttr(here)}">
${p.main}
</main>
<div id="notice" role="status" aria-live="polite"></div>
</body></html>
`;
}

/** The URL of a bundled asset (./assets.ts). */
export function assetHref(req: DavRequest, name: string): string {
  return `${req.href('/', true)}?ui=${encodeURIComponent(name)}`;
}

/** Root / a / b / c: each part a link to its folder; the last one plain. */
export function breadcrumbs(req: DavRequest, path: string, collection: boolean): string {
  const parts = path.split('/').filter(Boolean);
  const crumbs = [`<a href="${escapeAttr(req.href('/', true))}">Home</a>`];
  parts.forEach((name, i) => {
    const at = `/${parts.slice(0, i + 1).join('/')}`;
    const last = i === parts.length - 1;
    crumbs.push(last ? `<span aria-current="page">${escapeText(name)}</span>` : `<a href="${escapeAttr(req.href(at, last ? collection : true))}">${escapeText(name)}</a>`);
  });
  return `<nav class="crumbs" aria-label="Breadcrumbs">${crumbs.join('<span class="sep">/</span>')}</nav>`;
}

/** Sends a page with its security headers (Koa answers a HEAD with the headers and length only). */
export function sendPage(req: DavRequest, html: string, options: { status?: number; etag?: string } = {}): void {
  const ctx = req.ctx;
  ctx.status = options.status ?? 200;
  setPageHeaders(req);
  if (options.etag) ctx.set('ETag', options.etag);
  ctx.type = 'text/html; charset=utf-8';
  // HEAD too: Koa sends the length and no body (a null body would make it a 204).
  ctx.body = html;
}

/** The headers of every page: CSP without inline code, no sniffing, no framing, no referrer leaving the site. */
export function setPageHeaders(req: DavRequest): void {
  const ctx = req.ctx;
  ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.set('X-Frame-Options', 'DENY');
}

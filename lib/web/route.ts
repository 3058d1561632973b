/**
 * GET and HEAD for people (docs/web.md, "Routes"): on any URL, `?ui=NAME` is a bundled asset,
 * `?view=NAME` a page about the resource (history, a commit, a diff), `?zip=1` a folder as a zip.
 * Anything else is the resource itself, as WebDAV clients get it (a folder's page is the listing:
 * ../dav/listing.ts). Returns whether it answered.
 */
import type { DavRequest } from '../dav/context.js';
import { badRequest, notFound } from '../dav/errors/dav-error.js';
import { serveAsset } from './assets.js';
import { VIEWS } from './views.js';

export async function webGet(req: DavRequest, headOnly: boolean): Promise<boolean> {
  const q = req.ctx.query;
  if (q.ui !== undefined) {
    serveAsset(req, one(q.ui, 'ui'), headOnly);
    return true;
  }
  if (q.view !== undefined) {
    const name = one(q.view, 'view');
    const view = Object.hasOwn(VIEWS, name) ? VIEWS[name] : undefined;
    if (!view) throw badRequest(`there is no view "${name.slice(0, 40)}" (try ${Object.keys(VIEWS).join(', ')})`);
    const entry = await req.backend.stat(req.path);
    if (!entry) throw notFound(`${req.path} does not exist`);
    await view(req, entry, headOnly);
    return true;
  }
  if (q.zip !== undefined) {
    const entry = await req.backend.stat(req.path);
    if (!entry) throw notFound(`${req.path} does not exist`);
    await (await import('./zip.js')).serveZip(req, entry, headOnly); // yazl only when a zip is asked for
    return true;
  }
  return false;
}

/** A query parameter given once. */
export function one(value: unknown, name: string): string {
  if (typeof value !== 'string') throw badRequest(`?${name}= must be given once`);
  return value;
}

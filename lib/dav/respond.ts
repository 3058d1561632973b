/** Small response helpers shared by handlers. */
import type { Context } from 'koa';
import type { Entry } from '../../backends/backend.js';
import type { OpenedRead } from '../../backends/capabilities.js';
import type { Dav, DavRequest } from './context.js';
import { notFound } from './errors/dav-error.js';

/**
 * A response without a body (201/204/200 with headers only, and HEAD). Written directly: Koa would
 * turn a null body into 204, or send a reason phrase as the body.
 */
export function sendEmpty(ctx: Context, status: number, headers: Record<string, string | number> = {}): void {
  ctx.respond = false;
  ctx.status = status; // keeps the request log right
  const res = ctx.res;
  for (const [k, v] of Object.entries(ctx.response.headers)) if (v !== undefined) res.setHeader(k, v as string);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  if (!('Content-Length' in headers) && status !== 204 && status !== 304) res.setHeader('Content-Length', 0);
  res.statusCode = status;
  res.end();
}

/** The target's entry, or a 404; a trailing slash on a file does not name it. */
export async function requireEntry(req: DavRequest): Promise<Entry> {
  const entry = await findEntry(req);
  if (!entry) throw notFound(`${req.path} does not exist`);
  return entry;
}

export async function findEntry(req: DavRequest): Promise<Entry | null> {
  const entry = await req.backend.stat(req.path);
  if (entry && entry.kind === 'file' && req.trailingSlash) return null;
  return entry;
}

/** GET/HEAD: the target opened once (DavRequest.openedTarget), or null as findEntry; the request closes it. */
export async function findReadable(req: DavRequest): Promise<OpenedRead | null> {
  const opened = await req.openedTarget();
  if (opened && opened.entry.kind === 'file' && req.trailingSlash) return null;
  return opened;
}

const UNMAPPED = new Set(['OPTIONS', 'PUT', 'MKCOL', 'LOCK', 'UNLOCK', 'PROPFIND', 'MKCALENDAR']);

/** The methods a resource allows, derived from the method registry. */
export function allowedMethods(dav: Dav, entry: Entry | null): string {
  const all = [...dav.methods.keys()];
  const allowed = all.filter((m) => {
    if (!entry) return UNMAPPED.has(m) && m !== 'PROPFIND';
    if (m === 'MKCOL' || m === 'MKCALENDAR') return false;
    if (entry.kind === 'collection' && m === 'PUT') return false;
    return true;
  });
  return allowed.join(', ');
}



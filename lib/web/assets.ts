/**
 * The bundled stylesheet and script (`?ui=app.css`, `?ui=app.js` on any URL): plain files in
 * lib/web/assets/, no build step. Read once per process, served with a strong ETag of their bytes
 * and `Cache-Control: no-cache` (revalidated: an upgrade is picked up at once). An unknown name is a 404.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DavRequest } from '../dav/context.js';
import { notFound } from '../dav/errors/dav-error.js';
import { sendEmpty } from '../dav/respond.js';

/** Where the assets are: the source tree's lib/web/assets (dist/lib/web/ → ../../../lib/web/assets). */
const DIR = fileURLToPath(new URL('../../../lib/web/assets/', import.meta.url));

const TYPES: Record<string, string> = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8', svg: 'image/svg+xml' };
const NAMES = /^[a-z0-9-]+\.(css|js|svg)$/;

interface Asset {
  body: Buffer;
  etag: string;
  type: string;
}
const loaded = new Map<string, Asset>();

function load(name: string): Asset | null {
  if (!NAMES.test(name)) return null;
  let asset = loaded.get(name);
  if (!asset) {
    let body: Buffer;
    try {
      body = readFileSync(DIR + name);
    } catch {
      return null;
    }
    asset = { body, etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`, type: TYPES[name.split('.').pop()!]! };
    loaded.set(name, asset);
  }
  return asset;
}

export function serveAsset(req: DavRequest, name: string, headOnly: boolean): void {
  const asset = load(name);
  if (!asset) throw notFound(`there is no asset ${name.slice(0, 100)}`);
  const headers = { ETag: asset.etag, 'Cache-Control': 'no-cache', 'Content-Type': asset.type, 'X-Content-Type-Options': 'nosniff' };
  if (req.header('If-None-Match') === asset.etag) return sendEmpty(req.ctx, 304, headers);
  if (headOnly) return sendEmpty(req.ctx, 200, { ...headers, 'Content-Length': asset.body.length });
  for (const [k, v] of Object.entries(headers)) req.ctx.set(k, v);
  req.ctx.status = 200;
  req.ctx.body = asset.body;
}

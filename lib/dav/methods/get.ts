/**
 * GET and HEAD (RFC 9110 §9.3.1-2, §13-14): strong ETags, conditionals, single and multiple byte
 * ranges (multipart/byteranges; overlapping ones coalesced, see range.ts), `Repr-Digest` on request
 * (RFC 9530), and an HTML listing for folders.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { Entry } from '../../../backends/backend.js';
import type { DavRequest, MethodHandler } from '../context.js';
import { evaluateHttpConditions, evaluateIf, httpConditionHeaders, liveView } from '../conditions.js';
import { DavError, notFound, preconditionFailed } from '../errors/dav-error.js';
import { digestOfStream, preferredDigest } from '../digest.js';
import { multipartByteranges, parseRange } from '../range.js';
import { parseHttpDate } from '../http-date.js';
import { findReadable, sendEmpty } from '../respond.js';
import { renderListing } from '../listing.js';
import { sendPage } from '../../web/page.js';
import { webGet } from '../../web/route.js';

export const get: MethodHandler = (req) => serve(req, false);

export async function serve(req: DavRequest, headOnly: boolean): Promise<void> {
  if (await webGet(req, headOnly)) return; // ?ui=, ?view=, ?zip= (../../web/route.ts)
  // Opened once: the entry and the body come from one handle (the request closes it if no body takes it).
  const opened = await findReadable(req);
  if (!opened) throw notFound(`${req.path} does not exist`);
  const entry = opened.entry;
  if (!(await evaluateIf(req, liveView(req)))) throw preconditionFailed('the If header does not match the resource state');
  const validators: Record<string, string> = { ETag: entry.etag, 'Last-Modified': entry.modified.toUTCString() };
  // A history snapshot never changes: let clients and proxies keep it.
  if (entry.immutable) validators['Cache-Control'] = entry.kind === 'collection' ? 'private, no-cache' : 'public, max-age=31536000, immutable';
  const verdict = evaluateHttpConditions(req.method, httpConditionHeaders(req), entry);
  if (verdict === 'failed') throw preconditionFailed();
  if (verdict === 'not-modified') return sendEmpty(req.ctx, 304, validators);

  if (entry.kind === 'collection') return serveListing(req, entry);

  const ctx = req.ctx;
  const type = await req.dav.contentType(req, entry);
  const headers: Record<string, string | number> = {
    ...validators,
    'Accept-Ranges': 'bytes',
    'Content-Type': type,
    ...storedContentHeaders(type),
  };
  const wanted = preferredDigest(req.header('Want-Repr-Digest'));
  if (wanted) headers['Repr-Digest'] = `${wanted}=:${await digestOf(req, entry, wanted)}:`;

  const range = ifRangeHolds(req, entry) ? parseRange(req.header('Range'), entry.size, req.dav.options.limits.maxRanges) : { kind: 'none' as const };
  if (range.kind === 'unsatisfiable') {
    throw new DavError(416, 'Range Not Satisfiable', { headers: { 'Content-Range': `bytes */${entry.size}` } });
  }
  if (range.kind === 'none') {
    if (headOnly) return sendEmpty(ctx, 200, { ...headers, 'Content-Length': entry.size });
    setHeaders(req, 200, headers);
    ctx.body = await opened.body();
    ctx.length = entry.size;
    return;
  }
  if (range.ranges.length === 1) {
    const r = range.ranges[0]!;
    const partial = { ...headers, 'Content-Range': `bytes ${r.start}-${r.end}/${entry.size}`, 'Content-Length': r.end - r.start + 1 };
    if (headOnly) return sendEmpty(ctx, 206, partial);
    setHeaders(req, 206, partial);
    ctx.body = await opened.body(r);
    ctx.length = r.end - r.start + 1;
    return;
  }
  // Several ranges: one multipart/byteranges body, each part streamed from the backend in turn.
  const boundary = randomBytes(12).toString('hex');
  const { parts, closing, length } = multipartByteranges(range.ranges, entry.size, headers['Content-Type'] as string, boundary);
  const multi = { ...headers, 'Content-Type': `multipart/byteranges; boundary=${boundary}`, 'Content-Length': length };
  if (headOnly) return sendEmpty(ctx, 206, multi);
  setHeaders(req, 206, multi);
  const out = new PassThrough();
  ctx.body = out;
  ctx.length = length;
  void (async () => {
    try {
      for (const p of parts) {
        out.write(p.head);
        for await (const chunk of await req.backend.read(entry.path, p.range, entry)) {
          if (!out.write(chunk)) await drained(out);
        }
      }
      out.end(closing);
    } catch (err) {
      out.destroy(err as Error);
    }
  })();
}

/**
 * Waits for `out` to drain, or fails once it is closed (the client went away): waiting for 'drain'
 * alone would hang there, holding the part's open file, after an aborted download.
 */
function drained(out: PassThrough): Promise<void> {
  if (out.destroyed) return Promise.reject(new Error('the response was closed'));
  return new Promise((resolve, reject) => {
    const done = () => {
      out.off('close', closed);
      resolve();
    };
    const closed = () => {
      out.off('drain', done);
      reject(new Error('the response was closed'));
    };
    out.once('drain', done);
    out.once('close', closed);
  });
}

/**
 * A stored file a browser would run (HTML, SVG, XML) is shown sandboxed: a unique origin, no script,
 * so a file someone uploaded or shared cannot act with the reader's login on this server (the web
 * pages are same-origin). Other types only get `nosniff` (a sandbox would also stop Chromium's PDF viewer).
 */
function storedContentHeaders(type: string): Record<string, string> {
  const active = /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|text\/xsl)\b/i.test(type);
  return active ? { 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'" } : { 'X-Content-Type-Options': 'nosniff' };
}

function setHeaders(req: DavRequest, status: number, headers: Record<string, string | number>): void {
  req.ctx.status = status;
  for (const [k, v] of Object.entries(headers)) req.ctx.set(k, String(v));
}

/** `If-Range` (RFC 9110 §13.1.5): ranges only if the validator still matches. */
function ifRangeHolds(req: DavRequest, entry: Entry): boolean {
  const v = req.header('If-Range');
  if (!v) return true;
  if (v.startsWith('"') || v.startsWith('W/')) return v === entry.etag;
  return parseHttpDate(v) === Math.floor(entry.modified.getTime() / 1000);
}

async function digestOf(req: DavRequest, entry: Entry, alg: 'sha-256' | 'sha-512'): Promise<string> {
  const cached = req.dav.digests.get(entry.etag, alg);
  if (cached) return cached;
  // With the entry: a backend that can (git: by the ETag's blob id) hashes the very version the digest is kept under.
  const digest = await digestOfStream(await req.backend.read(entry.path, undefined, entry), alg);
  req.dav.digests.set(entry.etag, alg, digest);
  return digest;
}

async function serveListing(req: DavRequest, entry: Entry): Promise<void> {
  const html = await renderListing(req, entry);
  // Never immutable, never in a shared cache: the page names the user and what they may do.
  req.ctx.set('Cache-Control', 'private, no-cache');
  sendPage(req, html, { etag: entry.etag });
}

/** 207 Multi-Status bodies (RFC 4918 §13), streamed one `DAV:response` at a time. */
import { Readable } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import type { Context } from 'koa';
import { el, serializeFragment, type OutElement, type OutNode } from './xml/write.js';
import { dav, NS } from './xml/names.js';
import { timeSlicer } from './time-slicer.js';
import type { DavError, MemberError } from './errors/dav-error.js';
import { errorMappersOf, toDavError } from './errors/render.js';

export function statusLine(code: number): string {
  const reason = code === 207 ? 'Multi-Status' : code === 424 ? 'Failed Dependency' : code === 507 ? 'Insufficient Storage' : STATUS_CODES[code] ?? '';
  return `HTTP/1.1 ${code} ${reason}`;
}

export function propstat(code: number, props: OutNode[], description?: OutElement): OutElement {
  return el(dav('propstat'), el(dav('prop'), ...props), el(dav('status'), statusLine(code)), description);
}

/** One resource's response that failed with a MemberError: its status and its condition in DAV:error. */
export function memberErrorResponse(href: string, err: MemberError): OutElement {
  return hrefStatus(href, err.status, err.condition);
}

/** A response naming one href and a status (no properties). */
export function hrefStatus(href: string, code: number, error?: OutElement): OutElement {
  return el(dav('response'), el(dav('href'), href), el(dav('status'), statusLine(code)), error && el(dav('error'), error));
}

/** Responses as elements, or already written (RawXml), or already encoded (a Buffer: sent as it is). */
type Items = AsyncIterable<OutNode | Buffer> | Iterable<OutNode | Buffer>;

/** Responses are written in chunks of about this many bytes (or characters). */
const CHUNK = 65536;

/** Sends a 207 whose responses are produced lazily; `tail` may add e.g. a sync-token after them. */
export function sendMultistatus(ctx: Context, responses: Items, tail?: () => OutNode[]): void {
  ctx.status = 207;
  ctx.type = 'application/xml; charset=utf-8';
  ctx.body = Readable.from(generate(responses, tail), { objectMode: false });
}

async function* generate(responses: Items, tail?: () => OutNode[]): AsyncGenerator<string | Buffer> {
  yield `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="${NS.DAV}">`;
  let batch = '';
  // Small kept responses (CalDAV's, ~1 KB each) gathered into one chunk, as strings are below.
  let parts: Buffer[] = [];
  let bytes = 0;
  const gathered = (): Buffer => {
    if (batch) parts.push(Buffer.from(batch));
    const out = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    batch = '';
    parts = [];
    bytes = 0;
    return out;
  };
  // A socket that takes every write at once lets this loop run on in one turn of the event loop
  // (10,000 responses: hundreds of ms); so it pauses every few ms of producing and serialising.
  const pause = timeSlicer();
  for await (const r of responses) {
    await pause();
    if (Buffer.isBuffer(r)) {
      if (r.length >= CHUNK) {
        // Bytes kept from an earlier answer (listing-cache.ts): no serialising, no UTF-8 encoding again.
        if (batch || bytes) yield gathered();
        yield r;
        continue;
      }
      if (batch) {
        const b = Buffer.from(batch);
        parts.push(b);
        bytes += b.length;
        batch = '';
      }
      parts.push(r);
      bytes += r.length;
    } else batch += serializeFragment(r);
    // Fewer, larger chunks: one write per response costs more than the serialisation.
    if (bytes + batch.length > CHUNK) yield gathered();
  }
  for (const node of tail?.() ?? []) batch += serializeFragment(node);
  batch += '</D:multistatus>\n';
  yield bytes ? gathered() : batch;
}

/**
 * `items` with its first item already produced: a streamed 207 cannot become a 4xx once sent, so a
 * report awaits this before sendMultistatus, and a request it refuses at once (a bad parameter, met
 * by the first response) still gets its error status. Later failures cut the stream.
 */
export async function peeked<T>(items: AsyncIterable<T>): Promise<AsyncIterable<T>> {
  const iterator = items[Symbol.asyncIterator]();
  const first = await iterator.next();
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for (let next = first; !next.done; next = await iterator.next()) yield next.value;
      } finally {
        await iterator.return?.(); // the producer's own cleanup (listeners, cancelled reads)
      }
    },
  };
}

const WITHIN_LIMITS = dav('number-of-matches-within-limits');

/**
 * `items`, ended cleanly where the server limited the work after a response was out: a failure the
 * mount maps to 507 number-of-matches-within-limits (CalDAV's spent step budget: lib/caldav/errors.ts)
 * gives way to `last(error)`'s items (a 507 response for the request-URI), since the 207 is sent and
 * the connection would otherwise be cut. Before the first item it is thrown, so the request answers
 * that 507 itself (see peeked). Every other failure is thrown.
 */
export async function* withinLimits<T>(ctx: Context, items: AsyncIterable<T>, last: (error: DavError) => Promise<T[]> | T[]): AsyncGenerator<T> {
  let out = false;
  try {
    for await (const item of items) {
      yield item;
      out = true;
    }
  } catch (err) {
    const error = out ? toDavError(err, errorMappersOf(ctx)) : undefined;
    if (!error || error.status !== 507 || error.condition?.name !== WITHIN_LIMITS) throw err;
    yield* await last(error);
  }
}

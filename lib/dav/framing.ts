/**
 * Request framing the DAV layer accepts. Node's parser takes `Transfer-Encoding: gzip, chunked`
 * (chunked is last, so the message is framed) and hands over the body still gzip-encoded: stored
 * as is, it was silently the wrong content. RFC 9112 §6.1: a server that receives a transfer coding
 * it does not understand SHOULD answer 501; Apache does so for every coding but chunked. We do the
 * same, for every method, before anything reads the body (or sends 100 Continue). Node itself
 * refuses a Transfer-Encoding whose last coding is not chunked (400) before we see it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { DavError } from './errors/dav-error.js';

export function refuseTransferCodings(headers: IncomingHttpHeaders): void {
  const te = headers['transfer-encoding'];
  if (te === undefined) return;
  const codings = te.split(',').map((c) => c.trim().toLowerCase()).filter(Boolean);
  if (codings.length === 1 && codings[0] === 'chunked') return;
  // The body is never read: the connection cannot carry another request after it.
  throw new DavError(501, `Transfer-Encoding "${te}" is not supported: send the body with chunked alone (or a Content-Length)`, {
    headers: { Connection: 'close' },
  });
}

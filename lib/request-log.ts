/**
 * The request's frame, outside everything but the error renderer: a request id (echoed in
 * `X-Request-Id`), the server's own headers, and one log line per request once its response is over
 * (its client address, bytes in and out, time), plus a debug record when it starts, so the flight
 * recorder shows the requests that were under way at a crash. `Traffic` adds every request up for
 * the summary line at shutdown.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Middleware } from 'koa';
import type { Logger } from '../backends/util/log.js';
import { clientAddress, normaliseAddress } from './auth/client-address.js';

/** What every request served added up to, since the server started. */
export class Traffic {
  private readonly started = process.hrtime.bigint();
  requests = 0;
  /** Responses with a 5xx status. */
  errors = 0;
  /** Responses that were not sent whole (the client hung up, or the server cut the connection). */
  aborted = 0;
  bytesIn = 0;
  bytesOut = 0;

  /** The fields of the summary line at shutdown. */
  summary(): { uptimeS: number; requests: number; errors: number; aborted: number; bytesIn: number; bytesOut: number } {
    const uptimeS = Math.round(Number((process.hrtime.bigint() - this.started) / 1_000_000n)) / 1000;
    return { uptimeS, requests: this.requests, errors: this.errors, aborted: this.aborted, bytesIn: this.bytesIn, bytesOut: this.bytesOut };
  }
}

export interface RequestLogOptions {
  /** Proxies whose `X-Forwarded-For` names the client and whose `X-Request-Id` is kept. */
  trustedProxies: ReadonlySet<string>;
  /** Served over TLS: answers carry HSTS. */
  tls?: boolean;
  traffic: Traffic;
}

/** An incoming request id worth keeping: short, and nothing a header or a log reader could trip on. */
const REQUEST_ID = /^[A-Za-z0-9._~:@+=/-]{1,128}$/;

export const REQUEST_ID_HEADER = 'X-Request-Id';

export function requestLog(logger: Logger, options: RequestLogOptions): Middleware {
  const { trustedProxies, traffic } = options;
  return async (ctx, next) => {
    const start = process.hrtime.bigint();
    const requestId = requestIdOf(ctx.req, trustedProxies);
    ctx.state.requestId = requestId;
    ctx.state.logger = logger; // for layers that skip bad data and say so (CalDAV)
    ctx.set(REQUEST_ID_HEADER, requestId);
    ctx.set('Server', 'gitdav');
    if (options.tls) ctx.set('Strict-Transport-Security', 'max-age=31536000');
    const address = clientAddress(ctx.req, trustedProxies);
    const bytes = countBytes(ctx.req, ctx.res);
    logger.debug('request start', { method: ctx.method, url: clientText(ctx.url, URL_CHARS), address, requestId });
    ctx.res.once('close', () => {
      const status = ctx.res.statusCode;
      const aborted = !ctx.res.writableFinished;
      traffic.requests++;
      if (status >= 500) traffic.errors++;
      if (aborted) traffic.aborted++;
      traffic.bytesIn += bytes.in;
      traffic.bytesOut += bytes.out;
      const ua = ctx.get('User-Agent');
      logger.info('request', {
        method: ctx.method,
        url: clientText(ctx.url, URL_CHARS),
        status,
        ms: Number((process.hrtime.bigint() - start) / 1000n) / 1000,
        bytesIn: bytes.in,
        bytesOut: bytes.out,
        aborted: aborted || undefined,
        address,
        user: ctx.state.user as string | undefined,
        ua: ua ? clientText(ua, 256) : undefined,
        requestId,
      });
    });
    await next();
  };
}

const URL_CHARS = 4096;

/** The id a trusted proxy sent, if it is a sane one; else a new one. */
function requestIdOf(req: IncomingMessage, trusted: ReadonlySet<string>): string {
  const incoming = req.headers['x-request-id'];
  if (typeof incoming === 'string' && trusted.size > 0 && REQUEST_ID.test(incoming) && trusted.has(normaliseAddress(req.socket.remoteAddress ?? ''))) return incoming;
  return randomUUID();
}

/**
 * Body bytes received (as the HTTP parser hands them over: a body the server never reads is not
 * counted) and body bytes sent (what went through write/end: headers are not counted, as nginx's
 * `$body_bytes_sent`).
 */
function countBytes(req: IncomingMessage, res: ServerResponse): { in: number; out: number } {
  const counts = { in: 0, out: 0 };
  const push = req.push;
  req.push = function (this: IncomingMessage, chunk: unknown, encoding?: BufferEncoding) {
    if (chunk) counts.in += sizeOf(chunk, encoding);
    return push.call(this, chunk, encoding);
  };
  const write = res.write;
  res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    counts.out += sizeOf(chunk, rest[0]);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof res.write;
  const end = res.end;
  res.end = function (this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    if (typeof chunk !== 'function') counts.out += sizeOf(chunk, rest[0]);
    return (end as (...args: unknown[]) => ServerResponse).call(this, chunk, ...rest);
  } as typeof res.end;
  return counts;
}

function sizeOf(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

/** Characters a terminal or an editor could act on that JSON leaves as they are: C1 controls, DEL, line and bidi controls. */
const UNSAFE = /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A client's text (a user name tried, a URL, a User-Agent) for a log field: at most `max`
 * characters, a cut marked with `…` (never between the halves of a surrogate pair), and the
 * characters JSON does not escape but a terminal could act on written as `\uXXXX`. JSON's own
 * escaping does the rest (quotes, backslashes, C0 controls).
 */
export function clientText(text: string, max: number): string {
  let out = text;
  if (out.length > max) {
    const end = /[\ud800-\udbff]/.test(out[max - 1]!) ? max - 1 : max;
    out = out.slice(0, end) + '…';
  }
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(out) ? out.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : out;
}

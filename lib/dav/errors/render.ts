/**
 * Renders any thrown value as an HTTP error response: the only place errors become bodies. Protocol
 * extensions (CalDAV) register mappers on their mount (`Dav.errorMappers`) for their own error types;
 * `toDavError` consults them, so a layer throws its domain errors and never converts them itself.
 */
import type { Context } from 'koa';
import { isBackendError } from '../../../backends/errors.js';
import { DavError } from './dav-error.js';
import { fromBackend } from './from-backend.js';
import { el, serialize } from '../xml/write.js';
import { dav, NS, clark } from '../xml/names.js';

/** A protocol extension's mapping of its own errors; `undefined` for an error it does not know. */
export type ErrorMapper = (err: unknown) => DavError | undefined;

const MAPPERS = 'gitdav.errorMappers';

/**
 * Records the mappers of the mount serving this request (its dispatcher calls this first), so the
 * error middleware, which sits outside every mount, renders that mount's errors with them.
 */
export function setErrorMappers(ctx: Context, mappers: readonly ErrorMapper[]): void {
  ctx.state[MAPPERS] = mappers;
}

/** The mappers of the mount that served this request (none before one was chosen). */
export function errorMappersOf(ctx: Context): readonly ErrorMapper[] {
  return (ctx.state[MAPPERS] as readonly ErrorMapper[] | undefined) ?? [];
}

export function toDavError(err: unknown, mappers: readonly ErrorMapper[] = []): DavError {
  if (err instanceof DavError) return err;
  if (isBackendError(err)) return fromBackend(err);
  for (const map of mappers) {
    const mapped = map(err);
    if (mapped) return mapped;
  }
  const status = (err as { status?: number; expose?: boolean })?.status;
  // Koa/http-errors style errors (e.g. a client aborting) keep their status.
  if (typeof status === 'number' && status >= 400 && status < 600) {
    return new DavError(status, (err as Error).message, { cause: err });
  }
  return new DavError(500, 'Internal Server Error', { cause: err });
}

export function renderError(ctx: Context, error: DavError): void {
  ctx.status = error.status;
  for (const [k, v] of Object.entries(error.headers)) ctx.set(k, v);
  if (error.status === 304) {
    ctx.body = null;
    return;
  }
  // HEAD gets the headers GET would (Koa sends no body for it). Never `body = null` there: Koa turns
  // that into a 204, which would answer HEAD of a missing or forbidden resource with success.
  // 5xx messages stay in the log: they may reveal internals (501, 503, 507 and 508 tell the client
  // what it asked for that is not done, what to wait for, or what it can act on).
  const message = error.status >= 500 && ![501, 503, 507, 508].includes(error.status) ? httpReason(error.status) : error.message;
  ctx.type = 'application/xml; charset=utf-8';
  ctx.body = serialize(
    el(dav('error'), error.condition, el(clark(NS.GITDAV, 'message'), message)),
    { [NS.DAV]: 'D', [NS.GITDAV]: 'g' },
  );
}

function httpReason(status: number): string {
  return status === 507 ? 'Insufficient Storage' : status === 502 ? 'Bad Gateway' : 'Internal Server Error';
}

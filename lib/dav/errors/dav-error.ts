/**
 * The one error type handlers throw. Rendered in exactly one place (lib/dav/errors/render.ts) as a
 * status, headers and a `DAV:error` body naming the precondition when RFC 4918 (or 4791/6578) has one.
 */
import type { OutElement } from '../xml/write.js';

export interface DavErrorOptions {
  /** The precondition/postcondition element, e.g. `el(dav('lock-token-submitted'), ...)`. */
  condition?: OutElement;
  headers?: Record<string, string>;
  cause?: unknown;
}

export class DavError extends Error {
  override name = 'DavError';
  readonly condition?: OutElement;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    message: string,
    options: DavErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.condition = options.condition;
    this.headers = options.headers ?? {};
  }
}

/**
 * A failure of one resource's response, not of the request: a multistatus answer (a REPORT's member
 * responses, sync-collection) gives that resource a response with this status and condition and
 * goes on with the others (RFC 6352 §5.1.1.1: supported-address-data-conversion "in the DAV:response
 * XML element … for the targeted address object resource"). Anywhere else it is an ordinary DavError.
 */
export class MemberError extends DavError {
  override name = 'MemberError';
}

export const badRequest = (message: string, options?: DavErrorOptions) => new DavError(400, message, options);
export const forbidden = (message: string, options?: DavErrorOptions) => new DavError(403, message, options);
export const notFound = (message = 'Not Found', options?: DavErrorOptions) => new DavError(404, message, options);
export const conflict = (message: string, options?: DavErrorOptions) => new DavError(409, message, options);
export const preconditionFailed = (message = 'Precondition Failed', options?: DavErrorOptions) =>
  new DavError(412, message, options);

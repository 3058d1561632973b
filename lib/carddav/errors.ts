/**
 * The CardDAV layer's errors as DAV errors (RFC 6352 preconditions, CARDDAV namespace), registered on
 * each mount by installCardDav: the vCard code throws its domain errors and the one renderer maps them.
 */
import { DavError } from '../dav/errors/dav-error.js';
import type { ErrorMapper } from '../dav/errors/render.js';
import { el } from '../dav/xml/write.js';
import { dav } from '../dav/xml/names.js';
import { CardPreconditionError } from './vcard/errors.js';
import { card } from './context.js';

export const cardDavErrors: ErrorMapper = (err) => {
  if (!(err instanceof CardPreconditionError)) return undefined;
  // A filter or collation the server does not support is the request's fault, not a conflict (RFC 6352 §8.6, §8.3).
  const status = err.precondition === 'no-uid-conflict' ? 409 : 403;
  return new DavError(status, err.message, { condition: el(card(err.precondition)), cause: err });
};

/** The no-uid-conflict precondition naming the card that holds the UID (RFC 6352 §6.3.2.1). */
export function cardUidConflict(uid: string, clashHref: string, clashPath: string): DavError {
  return new DavError(409, `UID ${uid} is already used by ${clashPath}`, { condition: el(card('no-uid-conflict'), el(dav('href'), clashHref)) });
}

/** An overwrite that would change the stored card's UID (RFC 6352 §6.3.2.1): named by its own href. */
export function cardUidChange(stored: string, uid: string, href: string, path: string): DavError {
  return new DavError(409, `${path} has UID ${stored}: an overwrite may not change it to ${uid}`, { condition: el(card('no-uid-conflict'), el(dav('href'), href)) });
}

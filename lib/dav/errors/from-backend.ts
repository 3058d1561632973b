/** The one mapping from storage-layer domain errors to HTTP statuses. */
import { BackendError } from '../../../backends/errors.js';
import { DavError } from './dav-error.js';
import { el } from '../xml/write.js';
import { dav } from '../xml/names.js';

const STATUS: Record<BackendError['code'], number> = {
  NotFound: 404,
  ParentMissing: 409,
  AlreadyExists: 405,
  NotACollection: 409,
  IsACollection: 405,
  ReadOnly: 403,
  Forbidden: 403,
  NotGranted: 403,
  InvalidName: 400,
  PathTooLong: 414,
  LoopDetected: 508,
  InsufficientStorage: 507,
  InvalidRange: 416,
  InvalidSyncToken: 403,
  Conflict: 409,
  Busy: 503,
  Corrupt: 500,
};

export function fromBackend(err: BackendError): DavError {
  const message =
    err.code === 'ParentMissing' ? `the parent collection of ${err.path} does not exist` : err.message;
  const condition =
    err.code === 'InvalidSyncToken'
      ? el(dav('valid-sync-token'))
      : err.code === 'ReadOnly'
        ? el(dav('cannot-modify-version')) // RFC 3253 §3.13: history holds versions
        : err.code === 'NotGranted'
          ? el(dav('need-privileges')) // RFC 3744 §7.1.1: a read-only share grants no write
          : undefined;
  const headers = err.code === 'Busy' ? { 'Retry-After': '2' } : undefined;
  return new DavError(STATUS[err.code], message, { cause: err, condition, headers });
}

/** The one mapping from the pure CalDAV layer's errors to DAV errors (RFC 4791 preconditions). */
import { DavError } from '../dav/errors/dav-error.js';
import { el } from '../dav/xml/write.js';
import { dav } from '../dav/xml/names.js';
import { CalendarPreconditionError, CalendarQueryError } from './ical/index.js';
import { cal } from './context.js';

export function toCalDavError(err: unknown, conflictHref?: string): unknown {
  if (err instanceof CalendarPreconditionError) {
    const conflict = err.precondition === 'no-uid-conflict';
    const condition = conflict && conflictHref ? el(cal(err.precondition), el(dav('href'), conflictHref)) : el(cal(err.precondition));
    return new DavError(conflict ? 409 : 403, err.message, { condition, cause: err });
  }
  if (err instanceof CalendarQueryError) {
    return new DavError(err.status, err.message, { condition: err.condition ? el(cal(err.condition)) : undefined, cause: err });
  }
  return err;
}

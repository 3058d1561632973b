/**
 * The CalDAV layer's errors as DAV errors (RFC 4791 preconditions), registered on each mount by
 * installCalDav: the CalDAV code throws its domain errors and the one renderer maps them here.
 */
import { DavError } from '../dav/errors/dav-error.js';
import type { ErrorMapper } from '../dav/errors/render.js';
import { el } from '../dav/xml/write.js';
import { dav } from '../dav/xml/names.js';
import { CalendarPreconditionError, CalendarQueryError } from './ical/errors.js';
import { StepBudgetExceeded } from './ical/budget.js';
import { cal } from './context.js';

export const calDavErrors: ErrorMapper = (err) => {
  if (err instanceof CalendarPreconditionError) {
    return new DavError(err.precondition === 'no-uid-conflict' ? 409 : 403, err.message, { condition: el(cal(err.precondition)), cause: err });
  }
  if (err instanceof CalendarQueryError) {
    return new DavError(err.status, err.message, { condition: err.condition ? el(cal(err.condition)) : undefined, cause: err });
  }
  if (err instanceof StepBudgetExceeded) return budgetSpent(err);
  return undefined;
};

/**
 * A request whose step budget is spent: 507 with DAV:number-of-matches-within-limits (RFC 4918/5323's
 * "the server limited the work"), since the request was well formed and a narrower one can succeed.
 * (A PUT too costly to check is refused as invalid data instead: put-hook.ts.)
 */
function budgetSpent(err: StepBudgetExceeded): DavError {
  return new DavError(507, `${err.message}; narrow the time range or the filter`, { condition: el(dav('number-of-matches-within-limits')), cause: err });
}

/** The no-uid-conflict precondition naming the object that holds the UID (RFC 4791 §5.3.2.1). */
export function uidConflict(uid: string, clashHref: string, clashPath: string): DavError {
  return new DavError(409, `UID ${uid} is already used by ${clashPath}`, { condition: el(cal('no-uid-conflict'), el(dav('href'), clashHref)) });
}

/**
 * The two error types of the pure CalDAV layer. They name the RFC 4791 condition and nothing about
 * HTTP beyond a suggested status: the caller turns them into a DavError in one place.
 */

/** Preconditions on a calendar object resource (RFC 4791 §5.3.2.1, §4.1, §5.2.5–5.2.8). */
export type CalendarPrecondition =
  | 'valid-calendar-data'
  | 'valid-calendar-object-resource'
  | 'supported-calendar-component'
  | 'max-resource-size'
  | 'min-date-time'
  | 'max-date-time'
  | 'no-uid-conflict';

/** A stored or uploaded object that breaks a precondition; rendered as 403 (409 for no-uid-conflict). */
export class CalendarPreconditionError extends Error {
  override name = 'CalendarPreconditionError';

  constructor(
    readonly precondition: CalendarPrecondition,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Conditions on a REPORT request body (RFC 4791 §7.7, §7.8, §9.6). */
export type CalendarQueryCondition =
  | 'valid-filter'
  | 'supported-filter'
  | 'supported-collation'
  | 'supported-calendar-data';

/**
 * A calendar-query / calendar-data request the server cannot answer. `status` is what RFC 4791 asks
 * for: 400 for malformed input (a time-range without bounds, end before start), 403 for things that
 * are well formed but unsupported (an unknown filter element or collation).
 */
export class CalendarQueryError extends Error {
  override name = 'CalendarQueryError';

  constructor(
    readonly status: 400 | 403,
    readonly condition: CalendarQueryCondition | null,
    message: string,
  ) {
    super(message);
  }
}

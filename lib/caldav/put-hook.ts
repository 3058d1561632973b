/**
 * PUT into a calendar (RFC 4791 §5.3.2): the body is read whole (bounded by max-resource-size),
 * validated, and checked for a UID that another object of the same calendar already has; then the
 * client's bytes are stored unchanged. Anything else is a plain WebDAV PUT. `admitObject` is the
 * check itself, which COPY and MOVE into a calendar make too (./transfer-hook.ts).
 *
 * The hook works from the request's target as PUT looked it up (the parent and its properties, read
 * once), and imports the validator and the UID index only: none of the query machinery.
 */
import type { DavRequest, PutHook } from '../dav/context.js';
import { DavError } from '../dav/errors/dav-error.js';
import { propsHaveType } from '../dav/resource-types.js';
import { el } from '../dav/xml/write.js';
import { elements, parseXml } from '../dav/xml/parse.js';
import type { Entry, PropertyMap } from '../../backends/backend.js';
import { validateCalendarObject } from './ical/validate.js';
import type { CalendarObject } from './ical/object.js';
import { CalendarPreconditionError } from './ical/errors.js';
import { reserveUid } from './uid-index.js';
import { uidConflict } from './errors.js';
import { counted, StepBudgetExceeded } from './steps.js';
import { CALENDAR, cal, MAX_DATE_TIME, MIN_DATE_TIME, type CalDavOptions } from './context.js';
import { cutGraphemes } from '../../backends/util/graphemes.js';

export function calendarPutHook(o: CalDavOptions): PutHook {
  return async (req, { entry: existing, parent, parentProps }) => {
    const props = await parentProps();
    if (parent.kind !== 'collection' || !propsHaveType(props, CALENDAR)) return undefined;
    const type = req.header('Content-Type');
    if (type && !/^text\/calendar\b/i.test(type)) {
      throw new DavError(403, `a calendar takes text/calendar, not ${type}`, { condition: el(cal('supported-calendar-data')) });
    }
    const declared = Number(req.header('Content-Length') ?? 0);
    if (declared > o.maxResourceSize) throw new CalendarPreconditionError('max-resource-size', `${declared} octets exceed ${o.maxResourceSize}`);
    const body = await req.readBody(o.maxResourceSize).catch((err: unknown) => {
      if (err instanceof DavError && err.status === 413) throw new CalendarPreconditionError('max-resource-size', err.message);
      throw err;
    });
    const admitted = await admitObject(req, o, { calendar: parent, props }, req.path, body);
    return { body, summary: `${existing ? 'Update' : 'Add'} ${admitted.title}`, done: admitted.done };
  };
}

/**
 * What a calendar object must be to be stored at `path` in `calendar` (RFC 4791 §5.3.2, for PUT,
 * COPY and MOVE alike): valid iCalendar of the calendar's components (from its dead properties,
 * `props`, which the caller has read) within its limits, and a UID no other object of the calendar
 * has (`movingFrom`: the object being moved there, which may keep it). Reserves the UID until `done`;
 * `title` describes the object for history (`event "Dentist"`).
 */
export async function admitObject(
  req: DavRequest,
  o: CalDavOptions,
  { calendar, props }: { calendar: Entry; props: PropertyMap },
  path: string,
  body: Buffer,
  movingFrom?: string,
): Promise<{ title: string; done: (stored: boolean) => Promise<void> }> {
  let valid;
  const supported = supportedComponents(props);
  try {
    valid = counted(req, () => validateCalendarObject(body.toString('utf8'), {
      supportedComponents: supported,
      maxResourceSize: o.maxResourceSize,
      maxInstances: o.maxInstances,
      minDateTime: MIN_DATE_TIME,
      maxDateTime: MAX_DATE_TIME,
    }));
  } catch (err) {
    // An object that takes more than the whole budget to check is refused as data the server
    // cannot accept (403 valid-calendar-data), not as a server failure: the same upload always fails.
    if (err instanceof StepBudgetExceeded) throw new CalendarPreconditionError('valid-calendar-data', `too complex to check: ${err.message}`, { cause: err });
    throw err;
  }
  // One UID per calendar (RFC 4791 §5.3.2.1 no-uid-conflict), naming the object that has it.
  const reservation = await reserveUid(o.states, req, calendar.path, valid.uid, path);
  if (reservation.clash && reservation.clash !== movingFrom) {
    throw uidConflict(valid.uid, req.href(reservation.clash, false), reservation.clash);
  }
  return { title: objectTitle(valid.object), done: reservation.done };
}

/** A calendar object as history names it: `event "Dentist"`, `task "Call"`, `journal entry`. */
export function objectTitle(object: CalendarObject): string {
  const what = { VEVENT: 'event', VTODO: 'task', VJOURNAL: 'journal entry', VFREEBUSY: 'free-busy' }[object.componentType] ?? 'object';
  const main = object.master ?? object.overrides[0];
  const summary = main?.getFirstPropertyValue('summary');
  return what + (summary ? ` ${quotedTitle(String(summary))}` : '');
}

/** A user's title in quotes, on one line, at most 80 characters. */
export function quotedTitle(text: string): string {
  return `"${cutGraphemes(text.replace(/["\r\n\0]+/g, ' '), 80)}"`;
}

/** The calendar's component set (stored at creation), or the default one. */
function supportedComponents(props: PropertyMap): string[] {
  const stored = props.get(cal('supported-calendar-component-set'));
  if (!stored) return ['VEVENT', 'VTODO', 'VJOURNAL'];
  return elements(parseXml(stored)).map((c) => (c.attrs.get('name') ?? '').toUpperCase()).filter(Boolean);
}

/**
 * PUT into a calendar (RFC 4791 §5.3.2): the body is read whole (bounded by max-resource-size),
 * validated, and checked for a UID that another object of the same calendar already has; then the
 * client's bytes are stored unchanged. Anything else is a plain WebDAV PUT.
 */
import type { PutHook } from '../dav/context.js';
import { DavError } from '../dav/errors/dav-error.js';
import { Resource } from '../dav/properties/registry.js';
import { el } from '../dav/xml/write.js';
import { elements, parseXml } from '../dav/xml/parse.js';
import { parentOf } from '../../backends/backend.js';
import { validateCalendarObject, CalendarPreconditionError } from './ical/index.js';
import { isCalendarPath } from './objects.js';
import { reserveUid } from './uid-index.js';
import { toCalDavError } from './errors.js';
import { cal, MAX_DATE_TIME, MIN_DATE_TIME, type CalDavOptions } from './context.js';

export function calendarPutHook(o: CalDavOptions): PutHook {
  return async (req, { parent, existing }) => {
    if (!(await isCalendarPath(req, parent.path))) return undefined;
    const type = req.header('Content-Type');
    if (type && !/^text\/calendar\b/i.test(type)) {
      throw new DavError(403, `a calendar takes text/calendar, not ${type}`, { condition: el(cal('supported-calendar-data')) });
    }
    const declared = Number(req.header('Content-Length') ?? 0);
    if (declared > o.maxResourceSize) throw toCalDavError(new CalendarPreconditionError('max-resource-size', `${declared} octets exceed ${o.maxResourceSize}`));
    const body = await req.readBody(o.maxResourceSize).catch((err: unknown) => {
      if (err instanceof DavError && err.status === 413) throw toCalDavError(new CalendarPreconditionError('max-resource-size', err.message));
      throw err;
    });
    const text = body.toString('utf8');
    let valid;
    try {
      valid = validateCalendarObject(text, {
        supportedComponents: await supportedComponents(req, parent),
        maxResourceSize: o.maxResourceSize,
        maxInstances: o.maxInstances,
        minDateTime: MIN_DATE_TIME,
        maxDateTime: MAX_DATE_TIME,
      });
    } catch (err) {
      throw toCalDavError(err);
    }
    // One UID per calendar (RFC 4791 §5.3.2.1 no-uid-conflict), naming the object that has it.
    const reservation = await reserveUid(req, parentOf(req.path), valid.uid, req.path);
    if (reservation.clash) {
      throw toCalDavError(new CalendarPreconditionError('no-uid-conflict', `UID ${valid.uid} is already used by ${reservation.clash}`), req.href(reservation.clash, false));
    }
    const what = { VEVENT: 'event', VTODO: 'task', VJOURNAL: 'journal entry', VFREEBUSY: 'free-busy' }[valid.componentType] ?? 'object';
    const main = valid.object.master ?? valid.object.overrides[0];
    const summary = main?.getFirstPropertyValue('summary');
    const title = summary ? ` "${String(summary).replace(/["\r\n]+/g, ' ').slice(0, 80)}"` : '';
    return { body, summary: `${existing ? 'Update' : 'Add'} ${what}${title}`, done: reservation.done };
  };
}

/** The calendar's component set (stored at creation), or the default one. */
async function supportedComponents(req: Parameters<PutHook>[0], parent: Parameters<PutHook>[1]['parent']): Promise<string[]> {
  const stored = (await new Resource(req, parent).deadProps()).get(cal('supported-calendar-component-set'));
  if (!stored) return ['VEVENT', 'VTODO', 'VJOURNAL'];
  return elements(parseXml(stored)).map((c) => (c.attrs.get('name') ?? '').toUpperCase()).filter(Boolean);
}

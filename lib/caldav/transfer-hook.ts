/**
 * COPY and MOVE into a calendar (RFC 4791 §5.3.2, whose preconditions name all three methods): a file
 * that lands in a calendar must be a calendar object it accepts, with a UID of its own there, as for
 * PUT; a calendar cannot land inside a calendar (calendar-collection-location-ok). A move within one
 * calendar keeps its UID.
 */
import { parentOf } from '../../backends/backend.js';
import type { TransferHook } from '../dav/context.js';
import { DavError } from '../dav/errors/dav-error.js';
import { Resource } from '../dav/properties/registry.js';
import { hasType } from '../dav/resource-types.js';
import { el } from '../dav/xml/write.js';
import { CalendarPreconditionError } from './ical/errors.js';
import { isCalendarPath } from './objects.js';
import { admitObject } from './put-hook.js';
import { CALENDAR, cal, type CalDavOptions } from './context.js';

export function calendarTransferHook(o: CalDavOptions): TransferHook {
  return async (req, { kind, source, dest, destParent }) => {
    if (source.kind === 'collection') {
      if ((await hasType(new Resource(req, source), CALENDAR)) && (await insideCalendar(req, destParent.path))) {
        throw new DavError(403, 'a calendar cannot be put inside another calendar', { condition: el(cal('calendar-collection-location-ok')) });
      }
      return undefined;
    }
    if (!(await isCalendarPath(req, destParent.path))) return undefined;
    if (source.size > o.maxResourceSize) throw new CalendarPreconditionError('max-resource-size', `${source.size} octets exceed ${o.maxResourceSize}`);
    const chunks: Buffer[] = [];
    for await (const chunk of await req.backend.read(source.path, undefined, source)) chunks.push(chunk as Buffer);
    const movingFrom = kind === 'move' && parentOf(source.path) === destParent.path ? source.path : undefined;
    const props = await req.backend.props(destParent.path, destParent);
    const admitted = await admitObject(req, o, { calendar: destParent, props }, dest, Buffer.concat(chunks), movingFrom);
    return { summary: `${kind === 'move' ? 'Move' : 'Copy'} ${admitted.title}`, done: admitted.done };
  };
}

/** Whether any collection above `path` is a calendar (calendars never nest, at any depth). */
async function insideCalendar(req: Parameters<TransferHook>[0], path: string): Promise<boolean> {
  for (let p = path; p !== '/'; p = parentOf(p)) if (await isCalendarPath(req, p)) return true;
  return false;
}

/**
 * A calendar's members are text/calendar whatever their name (Thunderbird drops items whose type does
 * not start with text/calendar), with their component: `; component=vevent`. For GET and
 * getcontenttype alike.
 */
import type { Dav } from '../dav/context.js';
import { parentOf } from '../../backends/backend.js';
import { isCalendarPath, parsedObject } from './objects.js';
import type { CalDavStates } from './state/states.js';

export function calendarContentType(plain: Dav['contentType'], states: CalDavStates): Dav['contentType'] {
  return async (req, entry) => {
    // Cheap exits first: the root is never a calendar (calendars are made as new collections, by
    // MKCALENDAR or MKCOL, and the type is never patched onto one that exists), so a file there is
    // not a calendar object and its GET skips the parent's stat and properties.
    const parent = parentOf(entry.path);
    if (entry.kind !== 'file' || parent === '/' || !(await isCalendarPath(req, parent))) return plain(req, entry);
    const object = await parsedObject(states, req, entry);
    return `text/calendar; charset=utf-8${object ? `; component=${object.componentType.toLowerCase()}` : ''}`;
  };
}

/**
 * Calendars made by extended MKCOL (RFC 5689 with a CALDAV:calendar resourcetype) get what MKCALENDAR
 * gives them (./methods/mkcalendar.ts): never inside another calendar (calendar-collection-location-ok),
 * and `Create calendar "Work"` in history.
 */
import { baseName, parentOf } from '../../backends/backend.js';
import type { CollectionHook } from '../dav/context.js';
import { DavError } from '../dav/errors/dav-error.js';
import { el } from '../dav/xml/write.js';
import { dav } from '../dav/xml/names.js';
import { textOf } from '../dav/xml/parse.js';
import { isCalendarPath } from './objects.js';
import { quotedTitle } from './put-hook.js';
import { CALENDAR, cal } from './context.js';

export const calendarCollectionHook: CollectionHook = async (req, { types, props }) => {
  if (!types.includes(CALENDAR)) return undefined;
  for (let p = parentOf(req.path); p !== '/'; p = parentOf(p)) {
    if (await isCalendarPath(req, p)) throw new DavError(403, 'a calendar cannot be created inside another calendar', { condition: el(cal('calendar-collection-location-ok')) });
  }
  const name = props.get(dav('displayname'));
  return { summary: `Create calendar ${quotedTitle((name && textOf(name).trim()) || baseName(req.path))}` };
};

/**
 * What a DELETE in a calendar did, for history (issue 14): `Delete event "Dentist"` for an object
 * (read before it is gone; `task`, `journal entry` by its component), `Delete calendar "Work"` for a
 * calendar collection (its displayname, else its name). Only a summary: anything that cannot be read
 * or parsed leaves the DELETE to a plain message, never fails it.
 */
import type { DavRequest, DeleteHook } from '../dav/context.js';
import { propsHaveType } from '../dav/resource-types.js';
import { parseXml, textOf } from '../dav/xml/parse.js';
import { dav } from '../dav/xml/names.js';
import { baseName, parentOf, type Entry, type PropertyMap } from '../../backends/backend.js';
import { isCalendarPath, parsedObject } from './objects.js';
import { objectTitle, quotedTitle } from './put-hook.js';
import { CALENDAR, type CalDavOptions } from './context.js';

export function calendarDeleteHook(o: CalDavOptions): DeleteHook {
  return async (req, { entry }) => {
    try {
      const summary = entry.kind === 'collection' ? await calendarSummary(req, entry) : await objectSummary(o, req, entry);
      return summary ? { summary } : undefined;
    } catch {
      return undefined;
    }
  };
}

async function calendarSummary(req: DavRequest, entry: Entry): Promise<string | undefined> {
  const props = await req.backend.props(entry.path);
  if (!propsHaveType(props, CALENDAR)) return undefined;
  return `Delete calendar ${quotedTitle(calendarName(props, entry.path))}`;
}

async function objectSummary(o: CalDavOptions, req: DavRequest, entry: Entry): Promise<string | undefined> {
  if (!(await isCalendarPath(req, parentOf(entry.path)))) return undefined;
  const object = await parsedObject(o.states, req, entry);
  return object ? `Delete ${objectTitle(object)}` : undefined;
}

/** A calendar's name for people: its displayname (a dead property, stored as XML), else its path's last name. */
export function calendarName(props: PropertyMap, path: string): string {
  const stored = props.get(dav('displayname'));
  if (stored) {
    try {
      const text = textOf(parseXml(stored)).trim();
      if (text) return text;
    } catch {
      // a displayname that does not parse is no name
    }
  }
  return baseName(path);
}

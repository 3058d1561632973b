/**
 * getcontenttype of a calendar's members is text/calendar whatever their name (Thunderbird drops items
 * whose type does not start with text/calendar), with the component: `; component=vevent`.
 */
import type { LiveProperty } from '../dav/properties/registry.js';
import { parentOf } from '../../backends/backend.js';
import { isCalendarPath, parsedObject } from './objects.js';

export function calendarContentType(plain: LiveProperty): LiveProperty {
  return {
    ...plain,
    get: async (r, requested) => {
      if (r.isCollection || !(await isCalendarPath(r.req, parentOf(r.path)))) return plain.get(r, requested);
      const object = await parsedObject(r.req, r.entry);
      return [`text/calendar; charset=utf-8${object ? `; component=${object.componentType.toLowerCase()}` : ''}`];
    },
  };
}

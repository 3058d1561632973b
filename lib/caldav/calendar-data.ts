/**
 * CALDAV:calendar-data as a property (RFC 4791 §9.6): the object's text, as stored, or shaped by the
 * request's comp/prop selection, `expand` or `limit-recurrence-set`. Also available to PROPFIND.
 */
import type { LiveProperty } from '../dav/properties/registry.js';
import { cal } from './context.js';
import type { ObjectCache } from './object-cache.js';

export type Shaper = (text: string, requested: import('../dav/xml/parse.js').XmlElement) => string;

export function calendarDataProperty(cache: ObjectCache<unknown>, shape?: Shaper): LiveProperty {
  return {
    name: cal('calendar-data'),
    inAllprop: false,
    protected: true,
    appliesTo: (r) => !r.isCollection,
    get: async (r, requested) => {
      const text = await cache.text(r.req, r.entry);
      if (!text.trimStart().startsWith('BEGIN:VCALENDAR')) return null;
      return [requested && shape && requested.children.length ? shape(text, requested) : text];
    },
  };
}

/**
 * CALDAV:calendar-data as a property (RFC 4791 §9.6): the object's text as stored, or shaped by the
 * request's comp/prop selection, `expand` or `limit-recurrence-set`. Also answered to PROPFIND.
 */
import type { LiveProperty } from '../dav/properties/registry.js';
import type { XmlElement } from '../dav/xml/parse.js';
import { parseCalendarDataRequest, shapeCalendarData } from './ical/index.js';
import { objectXmlText, parsedObject } from './objects.js';
import { RawXml } from '../dav/xml/write.js';
import { cal, type CalDavOptions } from './context.js';
import { counted, logSkipped, StepBudgetExceeded } from './steps.js';

export function calendarDataProperty(o: CalDavOptions): LiveProperty {
  return {
    name: cal('calendar-data'),
    inAllprop: false,
    protected: true,
    appliesTo: (r) => !r.isCollection,
    // A bad content-type, version or expand is the request's fault (403/400) whatever the members are.
    check: (requested) => void (wantsShaping(requested) && parseCalendarDataRequest(requested!)),
    get: async (r, requested) => {
      if (!wantsShaping(requested)) {
        // The stored text, escaped once per ETag and written as it is: nothing parsed.
        const xml = await objectXmlText(o.states, r.req, r.entry);
        return xml.trimStart().startsWith('BEGIN:VCALENDAR') ? [new RawXml(xml)] : null;
      }
      const object = await parsedObject(o.states, r.req, r.entry);
      if (!object) return null;
      const shape = parseCalendarDataRequest(requested!);
      try {
        return [counted(r.req, () => shapeCalendarData(object, shape, { maxInstances: o.maxInstances }))];
      } catch (err) {
        if (err instanceof StepBudgetExceeded) throw err; // the request's limit, not the object's fault
        // A stored object ical.js cannot expand: this property is missing (404), the rest answered.
        logSkipped(r.req, r.entry.path, err);
        return null;
      }
    },
  };
}

function wantsShaping(requested: XmlElement | undefined): boolean {
  return !!requested && (requested.children.some((c) => typeof c !== 'string') || requested.attrs.size > 0);
}

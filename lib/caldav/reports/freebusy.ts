/**
 * REPORT free-busy-query (RFC 4791 §7.10): busy time of a calendar's events in a range, as one
 * VFREEBUSY (TRANSP:TRANSPARENT and cancelled events are free; tentative ones BUSY-TENTATIVE).
 */
import type { ReportHandler } from '../../dav/reports.js';
import { badRequest } from '../../dav/errors/dav-error.js';
import { hasType } from '../../dav/resource-types.js';
import { child } from '../../dav/xml/parse.js';
import { NS } from '../../dav/xml/names.js';
import { freeBusyReport, parseTimeRange, type CalendarObject } from '../ical/index.js';
import { toCalDavError } from '../errors.js';
import { calendarObjects, parsedObject } from '../objects.js';
import { CALENDAR, cal, type CalDavOptions } from '../context.js';

export function freeBusyQuery(o: CalDavOptions): ReportHandler {
  return {
    name: cal('free-busy-query'),
    supportedOn: (res) => res.isCollection && hasType(res, CALENDAR),

    async run(req, body, target) {
      const rangeEl = child(body, NS.CALDAV, 'time-range');
      if (!rangeEl) throw badRequest('free-busy-query needs a CALDAV:time-range');
      let range;
      try {
        range = parseTimeRange(rangeEl, { requireBoth: true });
      } catch (err) {
        throw toCalDavError(err);
      }
      const found: CalendarObject[] = [];
      for await (const entry of calendarObjects(req, target.path)) {
        const object = await parsedObject(req, entry);
        if (object) found.push(object);
      }
      req.ctx.status = 200;
      req.ctx.type = 'text/calendar; charset=utf-8';
      req.ctx.body = freeBusyReport(found, new Date(range.start!), new Date(range.end!), { maxInstances: o.maxInstances });
    },
  };
}

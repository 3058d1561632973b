/**
 * REPORT free-busy-query (RFC 4791 §7.10): busy time of a calendar's events in a range, as one
 * VFREEBUSY (TRANSP:TRANSPARENT and cancelled events are free; tentative ones BUSY-TENTATIVE).
 */
import type { ReportHandler } from '../../dav/reports.js';
import { badRequest } from '../../dav/errors/dav-error.js';
import { hasType } from '../../dav/resource-types.js';
import { child } from '../../dav/xml/parse.js';
import { NS } from '../../dav/xml/names.js';
import { busyPeriods, freeBusyCalendar, mergeBusyPeriods, parseTimeRange, type BusyPeriod, type CalendarObject } from '../ical/index.js';
import { calendarObjects, parsedObject } from '../objects.js';
import { CALENDAR, cal, type CalDavOptions } from '../context.js';
import { counted, logSkipped, timeSlicer } from '../steps.js';

export function freeBusyQuery(o: CalDavOptions): ReportHandler {
  return {
    name: cal('free-busy-query'),
    supportedOn: (res) => res.isCollection && hasType(res, CALENDAR),

    async run(req, body, target) {
      const rangeEl = child(body, NS.CALDAV, 'time-range');
      if (!rangeEl) throw badRequest('free-busy-query needs a CALDAV:time-range');
      const range = parseTimeRange(rangeEl, { requireBoth: true });
      // Object by object, yielding to other requests every few ms (timeSlicer); one object that cannot be
      // evaluated is left out (and logged). A partial answer for a spent budget would claim busy
      // time free, so a spent budget fails the whole report (507, rendered by ../errors.ts).
      const start = new Date(range.start);
      const end = new Date(range.end);
      const periods: BusyPeriod[] = [];
      const pause = timeSlicer();
      for await (const entry of calendarObjects(req, target.path)) {
        const object = await parsedObject(o.states, req, entry);
        if (!object) continue;
        const onError = (_: CalendarObject, err: unknown) => logSkipped(req, entry.path, err);
        for (const p of counted(req, () => busyPeriods([object], start, end, { maxInstances: o.maxInstances, onError }))) periods.push(p);
        await pause();
      }
      const text = freeBusyCalendar(mergeBusyPeriods(periods), start, end);
      req.ctx.status = 200;
      req.ctx.type = 'text/calendar; charset=utf-8';
      req.ctx.body = text;
    },
  };
}

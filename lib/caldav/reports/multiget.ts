/**
 * REPORT calendar-multiget (RFC 4791 §7.9): the requested properties (calendar-data usually) of each
 * href; an href that names nothing gets a 404 response in the 207. Absolute and percent-encoded hrefs
 * are accepted; each distinct href is answered once, and the answer is streamed (member-report.ts).
 */
import type { ReportHandler } from '../../dav/reports.js';
import { MemberResponses } from './member-responses.js';
import { hasType } from '../../dav/resource-types.js';
import { CALENDAR, cal, type CalDavOptions } from '../context.js';
import { memberMultiget } from './member-report.js';

export function calendarMultiget(o: CalDavOptions): ReportHandler {
  return memberMultiget({
    name: cal('calendar-multiget'),
    supportedOn: async (res) => (res.isCollection ? hasType(res, CALENDAR) : true),
    states: o.states,
    membersOnly: false,
    // Each response written straight to a string, as PROPFIND does, or taken as bytes kept for plain requests.
    writer: (req, request) => new MemberResponses(o.states, req, request),
  });
}

/**
 * REPORT calendar-multiget (RFC 4791 §7.9): the requested properties (calendar-data usually) of each
 * href; an href that names nothing gets a 404 response in the 207. Absolute and percent-encoded hrefs
 * are accepted.
 */
import type { ReportHandler } from '../../dav/reports.js';
import { badRequest } from '../../dav/errors/dav-error.js';
import { propRequest } from '../../dav/propfind-core.js';
import { MemberResponses } from './member-responses.js';
import { hrefStatus, sendMultistatus } from '../../dav/multistatus.js';
import { hasType } from '../../dav/resource-types.js';
import { child, elements, is, textOf } from '../../dav/xml/parse.js';
import type { OutNode } from '../../dav/xml/write.js';
import { isWithin } from '../../../backends/backend.js';
import { NS } from '../../dav/xml/names.js';
import { CALENDAR, cal, type CalDavOptions } from '../context.js';
import { keptMembers } from '../query-candidates.js';
import { mapOrdered } from '../../../backends/util/concurrency.js';
import { timeSlicer } from '../steps.js';

const MAX_HREFS = 10_000;

export function calendarMultiget(o: CalDavOptions): ReportHandler {
  return {
    name: cal('calendar-multiget'),
    supportedOn: async (res) => (res.isCollection ? hasType(res, CALENDAR) : true),

    async run(req, body, target) {
      const propEl = child(body, NS.DAV, 'prop');
      const request = propEl ? propRequest(propEl) : { kind: 'allprop' as const, include: [] };
      const hrefs = elements(body).filter((e) => is(e, NS.DAV, 'href')).map((e) => textOf(e).trim());
      if (hrefs.length === 0) throw badRequest('calendar-multiget needs at least one DAV:href');
      if (hrefs.length > MAX_HREFS) throw badRequest(`calendar-multiget takes at most ${MAX_HREFS} hrefs`);
      const responses: (OutNode | Buffer)[] = [];
      // Each response written straight to a string, as PROPFIND does (no element tree per member),
      // or taken as bytes kept for plain requests (member-responses.ts).
      const writer = new MemberResponses(o.states, req, request);
      const pause = timeSlicer(); // up to 10,000 hrefs: others run every few ms
      // On git, once a query has kept the calendar's members current (query-candidates.ts), one sync
      // token per request brings them up to date and each href is a look-up there, not a stat (each of
      // which reads the branch tip). Anything not found there (a 404, a deeper path) is stat'ed as before.
      const members = target.isCollection ? await keptMembers(o.states, req, target.path) : null;
      // A few hrefs at a time: each is a lookup and a read, and on a cold cache those overlap.
      for await (const response of mapOrdered(hrefs, 8, async (href) => {
        const path = req.pathOfHref(href);
        const entry = path !== null && isWithin(path, target.path) ? (members?.get(path) ?? (await req.backend.stat(path))) : null;
        if (!entry || entry.kind !== 'file') return hrefStatus(href, 404);
        return writer.write(entry);
      })) {
        await pause();
        responses.push(response);
      }
      sendMultistatus(req.ctx, responses);
    },
  };
}

/**
 * GET/HEAD on a calendar collection: the whole calendar as one iCalendar file (a webcal subscription
 * URL), each time zone once. Anything else goes to the plain WebDAV handler, and so does a browser's
 * GET (../../web/calendars/negotiate.ts: the calendar's page).
 */
import type { MethodHandler } from '../../dav/context.js';
import { sendEmpty, findReadable } from '../../dav/respond.js';
import { evaluateHttpConditions, httpConditionHeaders } from '../../dav/conditions.js';
import { preconditionFailed } from '../../dav/errors/dav-error.js';
import { Resource } from '../../dav/properties/registry.js';
import { calendarObjects, isCalendarPath, parsedObject } from '../objects.js';
import type { CalDavStates } from '../state/states.js';
import { dav } from '../../dav/xml/names.js';
import { parseXml, textOf } from '../../dav/xml/parse.js';
import { wantsWebPage } from '../../web/calendars/negotiate.js';

export function calendarGet(plain: MethodHandler, headOnly: boolean, states: CalDavStates): MethodHandler {
  return async (req) => {
    const entry = (await findReadable(req))?.entry ?? null; // opened once, for the plain GET too
    if (!entry || entry.kind !== 'collection' || wantsWebPage(req, states) || !(await isCalendarPath(req, req.path))) return plain(req);
    // Subscribed clients poll: the calendar's ETag changes whenever any object does.
    const verdict = evaluateHttpConditions(req.method, httpConditionHeaders(req), entry);
    if (verdict === 'failed') throw preconditionFailed();
    if (verdict === 'not-modified') return sendEmpty(req.ctx, 304, { ETag: entry.etag });
    const zones = new Map<string, string>();
    const components: string[] = [];
    for await (const member of calendarObjects(req, req.path)) {
      const object = await parsedObject(states, req, member);
      if (!object) continue;
      for (const sub of object.vcalendar.getAllSubcomponents()) {
        if (sub.name === 'vtimezone') zones.set(String(sub.getFirstPropertyValue('tzid')).trim(), sub.toString());
        else components.push(sub.toString());
      }
    }
    const stored = (await new Resource(req, entry).deadProps()).get(dav('displayname'));
    const name = stored ? textOf(parseXml(stored)) : entry.path.slice(entry.path.lastIndexOf('/') + 1);
    const head = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//gitdav//gitdav//EN', `X-WR-CALNAME:${escapeText(name)}`];
    const text = [...head, ...zones.values(), ...components, 'END:VCALENDAR', ''].join('\r\n');
    const headers = { 'Content-Type': 'text/calendar; charset=utf-8', ETag: entry.etag, 'Last-Modified': entry.modified.toUTCString() };
    if (headOnly) return sendEmpty(req.ctx, 200, { ...headers, 'Content-Length': Buffer.byteLength(text) });
    for (const [k, v] of Object.entries(headers)) req.ctx.set(k, v);
    req.ctx.body = text;
  };
}

function escapeText(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');
}

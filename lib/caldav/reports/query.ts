/**
 * REPORT calendar-query (RFC 4791 §7.8): the members of a calendar (Depth 1), or one object (Depth
 * 0 on it), that match a CALDAV:filter — comp/prop/param filters, text-match with collations, and
 * time-ranges with recurrences expanded (capped for unbounded rules) — with the requested properties.
 */
import type { ReportHandler } from '../../dav/reports.js';
import { parsePropfind } from '../../dav/propfind-core.js';
import { MemberResponses } from './member-responses.js';
import { sendReport, TRUNCATED, type ReportItem } from './member-report.js';
import { hasType } from '../../dav/resource-types.js';
import { child, elements, is, textOf } from '../../dav/xml/parse.js';
import { NS } from '../../dav/xml/names.js';
import { CalendarPreconditionError, CalendarQueryError, matches, parseQueryFilter, parseTimezone } from '../ical/index.js';
import { checkStructure } from '../ical/structure.js';
import { counted, logSkipped, StepBudgetExceeded, timeSlicer } from '../steps.js';
import { candidateObject, indexedVerdict, scopeOf } from '../objects.js';
import { queryCandidates } from '../query-candidates.js';
import { queryKey } from '../state/match-cache.js';
import { plainRequestKey } from '../state/response-cache.js';
import { boundsPrefilter, exactFilter } from '../ical/prefilter.js';
import { CALENDAR, cal, type CalDavOptions } from '../context.js';
import { mapOrdered } from '../../../backends/util/concurrency.js';

export function calendarQuery(o: CalDavOptions): ReportHandler {
  return {
    name: cal('calendar-query'),
    supportedOn: async (res) => (res.isCollection ? hasType(res, CALENDAR) : true),

    async run(req, body, target) {
      const filter = parseQueryFilter(body, { maxElements: req.dav.options.limits.maxFilterElements });
      const tz = child(body, NS.CALDAV, 'timezone');
      // RFC 4791 §7.8: CALDAV:timezone must be valid iCalendar with one valid VTIMEZONE (a zone
      // that recurs every second is not one: 403 valid-calendar-data, before ical.js expands it).
      const floating = tz ? counted(req, () => requestTimezone(textOf(tz))) : null;
      // The same prop/allprop/propname choice as PROPFIND, minus the filter and timezone elements.
      const propPart = { ...body, ns: NS.DAV, local: 'propfind', children: elements(body).filter((e) => !is(e, NS.CALDAV, 'filter') && !is(e, NS.CALDAV, 'timezone')) };
      const request = parsePropfind(propPart);
      const depth = req.depth('0');
      // Only getetag and plain calendar-data asked: the answer needs no member's dates.
      const contentOnly = plainRequestKey(request) !== null;
      const candidates = target.isCollection ? (depth === '0' ? [] : await queryCandidates(o.states, req, target.path, filter, contentOnly)) : [target.entry];
      // Each hit's response written straight to a string, as PROPFIND does (no element tree per
      // member), or taken as bytes kept for plain requests (member-responses.ts).
      const writer = new MemberResponses(o.states, req, request);
      // Objects whose indexed bounds cannot match are skipped unread; the rest are read and parsed a
      // few at a time (on a cold cache the reads overlap) and evaluated in full.
      const prefilter = boundsPrefilter(filter);
      // A plain VEVENT time-range is decided from exact bounds (single events) without parsing.
      const exact = exactFilter(filter, o.maxInstances);
      // Pool tasks still queued or running when the loop ends (done, 507, an error) or the client goes are cancelled.
      const cancel = new AbortController();
      // Nothing to cancel when no object was read or parsed (every verdict known): no abort, whose
      // DOMException cost ~2 % of a warm query. One asked after the end is aborted before it starts.
      let pooled = false;
      let ended = false;
      const gone = () => cancel.abort();
      req.ctx.res.once('close', gone);
      // A verdict already known for this content and query (state/match-cache.ts) is taken as it is:
      // nothing parsed. Objects the index rules out are skipped before that look-up.
      const verdicts = o.states.matches;
      const qkey = queryKey(child(body, NS.CALDAV, 'filter'), tz ? textOf(tz) : null, o.maxInstances);
      const parsed = mapOrdered(candidates, 8, async (entry) => {
        const known = await indexedVerdict(o.states, req, entry, prefilter, exact);
        if (known !== undefined) return { entry, scope: '', verdict: known, object: null };
        const scope = scopeOf(o.states, req, entry);
        const verdict = verdicts.get(scope, entry.etag, qkey);
        if (verdict !== undefined) return { entry, scope, verdict, object: null };
        pooled = true;
        if (ended) cancel.abort();
        return { entry, scope, verdict, object: await candidateObject(o.states, req, entry, prefilter, o.pool, cancel.signal) };
      });
      async function* responses(): AsyncGenerator<ReportItem> {
        let hits = 0;
        // Other requests run every few ms of this one's work (an await on a cached object lets none run).
        const pause = timeSlicer();
        try {
          for await (const { entry, scope, verdict, object } of parsed) {
            await pause();
            let hit: boolean;
            if (verdict !== undefined) hit = verdict;
            else {
              if (!object) continue;
              try {
                hit = counted(req, () => matches(object, filter, { maxInstances: o.maxInstances, floatingTimezone: floating }));
              } catch (err) {
                // The request's fault fails the request; one stored object ical.js cannot evaluate is skipped.
                if (err instanceof CalendarQueryError || err instanceof StepBudgetExceeded) throw err;
                logSkipped(req, entry.path, err);
                continue;
              }
              verdicts.set(scope, entry.etag, qkey, hit);
            }
            if (!hit) continue;
            // Truncated, and said so: clients then narrow the query (RFC 4791 §7.8, RFC 5323 §3.1).
            if (hits++ >= req.dav.options.limits.maxReportResults) return yield TRUNCATED;
            yield await writer.write(entry);
          }
        } catch (err) {
          // The step budget is spent: the matches found so far are true; the rest is unknown.
          if (!(err instanceof StepBudgetExceeded)) throw err;
          yield TRUNCATED;
        } finally {
          req.ctx.res.off('close', gone);
          ended = true;
          if (pooled) cancel.abort();
        }
      }
      // Streamed (member-report.ts): each response sent and dropped, never the whole answer held.
      await sendReport(req, target, responses());
    },
  };
}

/** The zone of a CALDAV:timezone element; a zone that cannot be expanded safely is refused. */
function requestTimezone(text: string): ReturnType<typeof parseTimezone> {
  checkStructure(text);
  const zone = parseTimezone(text);
  if (!zone && /BEGIN:VTIMEZONE/i.test(text)) throw new CalendarPreconditionError('valid-calendar-data', 'CALDAV:timezone holds no valid VTIMEZONE');
  return zone;
}

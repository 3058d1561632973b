/**
 * What calendar-query/-multiget and addressbook-query/-multiget share: their answers are streamed
 * (a response is written, sent and dropped; memory holds what is in flight, never the whole
 * answer), bounded in bytes (limits.maxReportBytes), and a multiget answers each distinct member href once.
 *
 * Why a byte budget although nothing is held: a book of photo cards answered whole costs the
 * server CPU and bandwidth for as long as it takes; past the budget the answer ends as a count
 * limit does, with a 507 number-of-matches-within-limits for the request-URI (RFC 5323 §3.1,
 * RFC 4791 §7.8, RFC 6352 §8.6.1), so a client narrows its request or asks for fewer hrefs.
 */
import { isWithin, parentOf, type Entry } from '../../../backends/backend.js';
import { mapOrdered } from '../../../backends/util/concurrency.js';
import type { DavRequest } from '../../dav/context.js';
import { badRequest } from '../../dav/errors/dav-error.js';
import { hrefStatus, peeked, sendMultistatus, withinLimits } from '../../dav/multistatus.js';
import type { Resource } from '../../dav/properties/registry.js';
import { checkPropRequest, propRequest, type PropRequest } from '../../dav/propfind-core.js';
import type { ReportHandler } from '../../dav/reports.js';
import { timeSlicer } from '../../dav/time-slicer.js';
import { child, elements, is, textOf, type XmlElement } from '../../dav/xml/parse.js';
import { dav, NS } from '../../dav/xml/names.js';
import { el, RawXml, type OutElement, type OutNode } from '../../dav/xml/write.js';
import { keptMembers } from '../query-candidates.js';
import type { CalDavStates } from '../state/states.js';
import type { MemberResponses } from './member-responses.js';

/** Yielded by a report's responses where its answer is cut (a count limit, a spent step budget). */
export const TRUNCATED = Symbol('truncated');
export type ReportItem = OutNode | Buffer | typeof TRUNCATED;

/** The 507 that says an answer was cut (RFC 5323 §3.1). */
export function truncatedResponse(href: string): OutElement {
  return hrefStatus(href, 507, el(dav('number-of-matches-within-limits')));
}

/** A response's size against the budget: bytes, or characters for text not yet encoded (never more than its bytes). */
function sizeOf(r: OutNode | Buffer): number {
  if (Buffer.isBuffer(r)) return r.length;
  return r instanceof RawXml ? r.xml.length : 0; // elements: an href and a status, a few hundred bytes
}

/**
 * Sends `items` as a streamed 207 for a REPORT on `target`: the first item is produced before the
 * status is sent, so a request the report refuses at once (a bad parameter, a filter it cannot
 * run) is still a 4xx; later failures cut the stream, except a spent step budget (withinLimits),
 * which ends it as TRUNCATED does. Past limits.maxReportBytes (0: none) the answer ends with a 507
 * for `target`, as at TRUNCATED.
 */
export async function sendReport(req: DavRequest, target: Resource, items: AsyncIterable<ReportItem>): Promise<void> {
  const produced = await peeked(withinLimits<ReportItem>(req.ctx, items, () => [TRUNCATED]));
  const budget = req.dav.options.limits.maxReportBytes || Infinity;
  async function* stream(): AsyncGenerator<OutNode | Buffer> {
    let spent = 0;
    for await (const r of produced) {
      if (r !== TRUNCATED && (spent += sizeOf(r)) <= budget) {
        yield r;
        continue;
      }
      yield truncatedResponse(target.href);
      return; // ends the producer too (its finally: listeners, cancelled reads)
    }
  }
  sendMultistatus(req.ctx, stream());
}

const MAX_HREFS = 10_000;

export interface MultigetOptions {
  name: string;
  supportedOn: ReportHandler['supportedOn'];
  states: CalDavStates;
  /** The response writer for the request (CalDAV's or CardDAV's MemberResponses). */
  writer: (req: DavRequest, request: PropRequest) => MemberResponses;
  /** Only the target's direct members (an address book's cards); else anything below it (CalDAV's behaviour). */
  membersOnly: boolean;
  /** Checks the request's own parameters before the answer starts (their faults are then a 4xx, not a cut stream). */
  check?: (request: PropRequest) => void;
}

/**
 * calendar-multiget (RFC 4791 §7.9) and addressbook-multiget (RFC 6352 §8.7): the requested
 * properties of each href naming a member of the target (the target itself when it is not a
 * collection); anything else a 404. Each distinct href is answered once (a big member named 10,000
 * times would otherwise be written 10,000 times). The Depth header is ignored (erratum 4610).
 */
export function memberMultiget(o: MultigetOptions): ReportHandler {
  return {
    name: o.name,
    supportedOn: o.supportedOn,

    async run(req, body, target) {
      const propEl = child(body, NS.DAV, 'prop');
      const request: PropRequest = propEl ? propRequest(propEl) : { kind: 'allprop', include: [] };
      checkPropRequest(req, request); // e.g. a bad calendar-data or address-data: its 4xx, not a cut stream
      o.check?.(request);
      const local = o.name.slice(o.name.indexOf('}') + 1);
      const hrefs = distinctHrefs(req, body, local);
      const writer = o.writer(req, request);
      // On git, once a query has kept the collection's members current (query-candidates.ts), each href
      // is a look-up there, not a stat (each of which reads the branch tip).
      const members = target.isCollection ? await keptMembers(o.states, req, target.path) : null;
      const memberOf = (path: string | null): boolean =>
        path !== null && (!o.membersOnly ? isWithin(path, target.path) : target.isCollection ? parentOf(path) === target.path : path === target.path);
      async function* responses(): AsyncGenerator<ReportItem> {
        const pause = timeSlicer(); // up to 10,000 hrefs: others run every few ms
        // A few hrefs at a time: each is a look-up and a read, and on a cold cache those overlap.
        for await (const r of mapOrdered(hrefs, 8, async ({ href, path }) => {
          const entry: Entry | null = memberOf(path) ? (members?.get(path!) ?? (await req.backend.stat(path!))) : null;
          if (!entry || entry.kind !== 'file') return hrefStatus(href, 404);
          return writer.write(entry);
        })) {
          await pause();
          yield r;
        }
      }
      await sendReport(req, target, responses());
    },
  };
}

/** The body's hrefs, each path once (the first spelling of it answers); too many or none: 400. */
function distinctHrefs(req: DavRequest, body: XmlElement, report: string): { href: string; path: string | null }[] {
  const hrefs = elements(body).filter((e) => is(e, NS.DAV, 'href')).map((e) => textOf(e).trim());
  if (hrefs.length === 0) throw badRequest(`${report} needs at least one DAV:href`);
  if (hrefs.length > MAX_HREFS) throw badRequest(`${report} takes at most ${MAX_HREFS} hrefs`);
  const seen = new Set<string>();
  const out: { href: string; path: string | null }[] = [];
  for (const href of hrefs) {
    const path = req.pathOfHref(href);
    const key = path ?? `\0${href}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ href, path });
  }
  return out;
}

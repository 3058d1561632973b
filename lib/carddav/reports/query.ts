/**
 * REPORT addressbook-query (RFC 6352 §8.6): the cards of an address book, or one card (the REPORT on
 * it), that match a CARDDAV:filter, with the requested properties. Each card is parsed once per ETag
 * (cards.ts); a member that is not a valid vCard is skipped. At most CARDDAV:limit/nresults answers,
 * and never more than the server's limits.maxReportResults; when more cards match, the answer says
 * it was truncated with a 507 response for the request-URI (§8.6.1, RFC 5323 §3.1).
 *
 * Depth: on an address book its members are searched whatever the Depth (0 is the RFC's default,
 * under which nothing could ever match, an address book not being a card; Evolution lists its books
 * with Depth 0 on the collection); on a card, that card.
 */
import type { Entry } from '../../../backends/backend.js';
import { mapOrdered } from '../../../backends/util/concurrency.js';
import type { Logger } from '../../../backends/util/log.js';
import type { DavRequest } from '../../dav/context.js';
import { badRequest } from '../../dav/errors/dav-error.js';
import { hrefStatus, sendMultistatus } from '../../dav/multistatus.js';
import { parsePropfind } from '../../dav/propfind-core.js';
import type { ReportHandler } from '../../dav/reports.js';
import { timeSlicer } from '../../dav/time-slicer.js';
import { child, elements, is, textOf, type XmlElement } from '../../dav/xml/parse.js';
import { dav, NS } from '../../dav/xml/names.js';
import { el, type OutNode } from '../../dav/xml/write.js';
import { collectionFiles } from '../../caldav/query-candidates.js';
import { storedCard } from '../cards.js';
import { card, type CardDavOptions } from '../context.js';
import { CardPreconditionError, matchesFilter, type CardFilter, type ParsedCard } from '../vcard/index.js';
import { parseCardFilter } from './filter-xml.js';
import { cardResponses, contentOnly, onAddressBookOrCard } from './members.js';

/** No filter (Evolution sends none): every card matches, as an empty CARDDAV:filter does. */
const EVERY: CardFilter = { test: 'anyof', propFilters: [] };

export function addressBookQuery(o: CardDavOptions): ReportHandler {
  return {
    name: card('addressbook-query'),
    supportedOn: onAddressBookOrCard,

    async run(req, body, target) {
      req.depth('0'); // a malformed Depth is still a 400
      const filterEl = child(body, NS.CARDDAV, 'filter');
      const filter = filterEl ? parseCardFilter(filterEl, { maxElements: req.dav.options.limits.maxFilterElements }) : EVERY;
      const limit = Math.min(requestLimit(body) ?? Infinity, req.dav.options.limits.maxReportResults);
      // The same prop/allprop/propname choice as PROPFIND, minus the filter and limit elements.
      const propPart = { ...body, ns: NS.DAV, local: 'propfind', children: elements(body).filter((e) => !is(e, NS.CARDDAV, 'filter') && !is(e, NS.CARDDAV, 'limit')) };
      const request = parsePropfind(propPart);
      const writer = cardResponses(o, req, request);
      // The book's members as CalDAV keeps a calendar's current (caldav/query-candidates.ts): on git
      // through sync, one token per query and no listing of 10,000 entries; on folders by one pass of stats.
      const candidates = target.isCollection ? await collectionFiles(o.states, req, target.path, contentOnly(request)) : [target.entry];
      // A few cards read at once (a cold cache reads each from the backend); a warm one parses nothing.
      const cards = mapOrdered(candidates, 8, async (entry) => ({ entry, parsed: await storedCard(o.states, req, entry) }));
      const responses: (OutNode | Buffer)[] = [];
      const pause = timeSlicer(); // 100,000 cards: other requests run every few ms of this one's work
      let hits = 0;
      // A client that went away stops the work (100,000 cards read for nobody otherwise).
      let gone = false;
      const onClose = () => (gone = true);
      req.ctx.res.once('close', onClose);
      try {
        for await (const { entry, parsed } of cards) {
          await pause();
          if (gone) return;
          if (!parsed || !matches(req, entry, parsed, filter)) continue;
          if (hits++ === limit) {
            // One more match than may be answered: truncated, and said so (clients then narrow the query).
            responses.push(hrefStatus(target.href, 507, el(dav('number-of-matches-within-limits'))));
            break;
          }
          responses.push(await writer.write(entry));
        }
      } finally {
        req.ctx.res.off('close', onClose);
      }
      sendMultistatus(req.ctx, responses);
    },
  };
}

/** The filter's verdict; a card the filter code fails on is left out (and logged), the request's own faults fail it. */
function matches(req: DavRequest, entry: Entry, parsed: ParsedCard, filter: CardFilter): boolean {
  try {
    return matchesFilter(parsed, filter);
  } catch (err) {
    if (err instanceof CardPreconditionError) throw err;
    const logger = req.ctx.state.logger as Logger | undefined;
    logger?.warn('card skipped', { path: entry.path, reason: err instanceof Error ? err.message : String(err) });
    return false;
  }
}

/** CARDDAV:limit/CARDDAV:nresults (RFC 6352 §10.6), a positive integer; none: undefined. */
function requestLimit(body: XmlElement): number | undefined {
  const limitEl = child(body, NS.CARDDAV, 'limit');
  if (!limitEl) return undefined;
  const nresults = child(limitEl, NS.CARDDAV, 'nresults');
  if (!nresults) throw badRequest('CARDDAV:limit needs a CARDDAV:nresults');
  const text = textOf(nresults).trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw badRequest(`CARDDAV:nresults must be a positive integer, not "${text.slice(0, 20)}"`);
  return n;
}

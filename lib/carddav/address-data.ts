/**
 * CARDDAV:address-data as a property (RFC 6352 §10.4), on the members of address books: the card's
 * text as stored, or only some of its properties, or in another vCard version. Its parameters are the
 * element the client asked with (content-type/version attributes, CARDDAV:prop children), as
 * calendar-data's are. Like calendar-data it is also answered to PROPFIND (the property table cannot
 * tell the methods apart; clients ask it in REPORTs), and never in allprop.
 *
 * Version: a request without one gets 3.0 (the RFC's default for the attribute, §10.4, and the only
 * version Apple Contacts reads: a 4.0 card breaks its whole sync); a 3.0 card is then the stored
 * text, escaped once per ETag (cards.ts), nothing parsed. A card that cannot be converted faithfully
 * to the version asked (or to 3.0) is sent in its own version (see convert).
 */
import { parentOf } from '../../backends/backend.js';
import type { LiveProperty, Resource } from '../dav/properties/registry.js';
import type { XmlElement } from '../dav/xml/parse.js';
import { RawXml, type OutNode } from '../dav/xml/write.js';
import { cardText, cardXmlText, isAddressBookPath, storedCard } from './cards.js';
import { card, type CardDavOptions } from './context.js';
import { addressData, CardPreconditionError, type AddressDataRequest, type ParsedCard, type VCardVersion } from './vcard/index.js';
import type { Logger } from '../../backends/util/log.js';
import { parseAddressDataRequest } from './reports/filter-xml.js';

export const ADDRESS_DATA = card('address-data');

/** A vCard 4.0, told from its escaped text (CR written as `&#13;`): its VERSION line says so. */
const VERSION_4 = /\nVERSION:4\.0(?:&#13;|\r)?\n/i;
const BEGIN_VCARD = /^\s*BEGIN:VCARD/i;

export function addressDataProperty(o: CardDavOptions): LiveProperty {
  return {
    name: ADDRESS_DATA,
    inAllprop: false,
    protected: true,
    appliesTo: (r) => !r.isCollection,
    get: async (r, requested) => {
      if (!(await isAddressBookPath(r.req, parentOf(r.path)))) return null;
      const request = addressDataRequest(requested);
      if (!request.props) return whole(o, r, request.version ?? '3.0');
      return shaped(o, r, request);
    },
  };
}

/**
 * The whole card in `version`: the stored text, escaped once per ETag and nothing parsed, when it is
 * stored in that version (most requests: a 3.0 card asked plainly, DAVx5's version="4.0" of a 4.0 card);
 * else converted where faithful (see convert), else as stored.
 */
async function whole(o: CardDavOptions, r: Resource, version: VCardVersion): Promise<OutNode[] | null> {
  const xml = await cardXmlText(o.states, r.req, r.entry);
  if (!BEGIN_VCARD.test(xml)) return null; // not a card: a file that only sits in the address book
  if ((VERSION_4.test(xml) ? '4.0' : '3.0') === version) return [new RawXml(xml)];
  const parsed = await storedCard(o.states, r.req, r.entry);
  if (!parsed) return [new RawXml(xml)];
  const converted = convert(r, await cardText(o.states, r.req, r.entry), parsed, { version });
  return [converted ?? new RawXml(xml)];
}

/** Some properties or a version asked: shaped from the parsed card; a file that is not a card has none. */
async function shaped(o: CardDavOptions, r: Resource, request: AddressDataRequest): Promise<OutNode[] | null> {
  const parsed = await storedCard(o.states, r.req, r.entry);
  if (!parsed) return null;
  // Without a version: 3.0, as for the whole card (see the file comment); a 3.0 card stays as it is.
  const text = await cardText(o.states, r.req, r.entry);
  return [convert(r, text, parsed, { ...request, version: request.version ?? '3.0' }) ?? addressData(text, parsed, { props: request.props })];
}

/**
 * The card in the version asked, or undefined where it cannot be converted faithfully: then it is
 * sent in its own version (its VERSION line says which), logged, rather than failing the answer for
 * every other card of a query, multiget or sync (RFC 6352 would fail the whole REPORT with
 * supported-address-data-conversion; one odd card would then stop a client's sync for good).
 */
function convert(r: Resource, text: string, parsed: ParsedCard, request: AddressDataRequest): string | undefined {
  try {
    return addressData(text, parsed, request);
  } catch (err) {
    if (!(err instanceof CardPreconditionError) || err.precondition !== 'supported-address-data-conversion') throw err;
    const logger = r.req.ctx.state.logger as Logger | undefined;
    logger?.warn('card sent in its own version', { path: r.path, reason: err.message });
    return undefined;
  }
}

const parsedRequests = new WeakMap<XmlElement, AddressDataRequest>();
const WHOLE: AddressDataRequest = {};

/** The request's parameters, parsed once per element (a query asks the same element of every member). */
export function addressDataRequest(requested: XmlElement | undefined): AddressDataRequest {
  if (!requested) return WHOLE;
  let request = parsedRequests.get(requested);
  if (!request) parsedRequests.set(requested, (request = parseAddressDataRequest(requested)));
  return request;
}

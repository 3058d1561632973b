/**
 * CARDDAV:address-data as a property (RFC 6352 §10.4), on the members of address books: the card's
 * text as stored, or only some of its properties, or in another vCard version. Its parameters are the
 * element the client asked with (content-type/version attributes, CARDDAV:prop children), as
 * calendar-data's are. Like calendar-data it is also answered to PROPFIND (the property table cannot
 * tell the methods apart; clients ask it in REPORTs), and never in allprop.
 *
 * Version: a request without one gets 3.0 (the RFC's default for the attribute, §10.4, and the only
 * version Apple Contacts reads: a 4.0 card breaks its whole sync); a 3.0 card is then the stored
 * text, escaped once per ETag (cards.ts), nothing parsed. A 4.0 card that cannot be said exactly in
 * 3.0 is still sent as 3.0 without the properties that cannot (lossy, logged), never as 4.0. Where a
 * version was asked explicitly and the card cannot be written in it, that card's response is a 403
 * with CARDDAV:supported-address-data-conversion (RFC 6352 §5.1.1.1), the rest of the REPORT unaffected.
 */
import { parentOf } from '../../backends/backend.js';
import type { LiveProperty, Resource } from '../dav/properties/registry.js';
import type { XmlElement } from '../dav/xml/parse.js';
import { el, RawXml, type OutNode } from '../dav/xml/write.js';
import { MemberError } from '../dav/errors/dav-error.js';
import { cardText, cardXmlText, isAddressBookPath, storedCard } from './cards.js';
import { card, type CardDavOptions } from './context.js';
import { addressData, CardPreconditionError, type AddressDataRequest, type CardProperty, type ParsedCard, type VCardVersion } from './vcard/index.js';
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
    // An unsupported content-type or version is the request's fault (403) whatever the members are.
    check: (requested) => void addressDataRequest(requested),
    get: async (r, requested) => {
      if (!(await isAddressBookPath(r.req, parentOf(r.path)))) return null;
      const request = addressDataRequest(requested);
      if (!request.props) return whole(o, r, request);
      return shaped(o, r, request);
    },
  };
}

/**
 * The whole card in `version`: the stored text, escaped once per ETag and nothing parsed, when it is
 * stored in that version (most requests: a 3.0 card asked plainly, DAVx5's version="4.0" of a 4.0 card);
 * else converted (see convert).
 */
async function whole(o: CardDavOptions, r: Resource, request: AddressDataRequest): Promise<OutNode[] | null> {
  const xml = await cardXmlText(o.states, r.req, r.entry);
  if (!BEGIN_VCARD.test(xml)) return null; // not a card: a file that only sits in the address book
  if ((VERSION_4.test(xml) ? '4.0' : '3.0') === (request.version ?? '3.0')) return [new RawXml(xml)];
  const parsed = await storedCard(o.states, r.req, r.entry);
  if (!parsed) return [new RawXml(xml)];
  return [convert(r, await cardText(o.states, r.req, r.entry), parsed, request)];
}

/** Some properties or a version asked: shaped from the parsed card; a file that is not a card has none. */
async function shaped(o: CardDavOptions, r: Resource, request: AddressDataRequest): Promise<OutNode[] | null> {
  const parsed = await storedCard(o.states, r.req, r.entry);
  if (!parsed) return null;
  return [convert(r, await cardText(o.states, r.req, r.entry), parsed, request)];
}

/**
 * The card as asked. Without a version asked (3.0 by default), a card that cannot be converted
 * exactly loses the properties that cannot (each tried alone), logged: 3.0 readers get a readable
 * card, not a 4.0 one they drop. Asked explicitly, or when even that fails: this card's 403
 * supported-address-data-conversion (a MemberError: the REPORT answers the other cards).
 */
function convert(r: Resource, text: string, parsed: ParsedCard, request: AddressDataRequest): string {
  const asked = { ...request, version: request.version ?? '3.0' };
  try {
    return addressData(text, parsed, asked);
  } catch (err) {
    if (!(err instanceof CardPreconditionError)) throw err; // addressData throws nothing else
    if (request.version) throw refused(err);
    const kept = parsed.properties.filter((p) => convertible(parsed, p, asked.version));
    const logger = r.req.ctx.state.logger as Logger | undefined;
    logger?.warn('card sent in 3.0 without what 3.0 cannot hold', { path: r.path, dropped: parsed.properties.filter((p) => !kept.includes(p)).map((p) => p.name), reason: err.message });
    try {
      return addressData(text, { ...parsed, properties: kept }, asked);
    } catch (again) {
      throw refused(again instanceof Error ? again : err);
    }
  }
}

/** Whether one property converts on its own (with the card's VERSION and UID). */
function convertible(parsed: ParsedCard, p: CardProperty, version: VCardVersion): boolean {
  if (p.name === 'VERSION' || p.name === 'UID') return true;
  const frame = parsed.properties.filter((q) => q.name === 'VERSION' || q.name === 'UID');
  try {
    addressData('', { ...parsed, properties: [...frame, p] }, { version });
    return true;
  } catch {
    return false;
  }
}

function refused(err: Error): MemberError {
  return new MemberError(403, err.message, { condition: el(card('supported-address-data-conversion')), cause: err });
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

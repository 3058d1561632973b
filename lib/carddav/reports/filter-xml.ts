/**
 * The XML of an addressbook-query read into the vCard layer's model: CARDDAV:filter (RFC 6352 §10.5)
 * and CARDDAV:address-data in a prop request (§10.4).
 *
 * What the server cannot answer correctly is refused, not guessed: an unknown CARDDAV element or
 * match-type is 403 supported-filter, an unknown collation 403 supported-collation, another media
 * type or version 403 supported-address-data. A malformed shape (no name, is-not-defined beside a
 * test, a bad attribute value) is 400. Elements in other namespaces are ignored (RFC 4918 §17).
 */
import { badRequest } from '../../dav/errors/dav-error.js';
import { NS } from '../../dav/xml/names.js';
import { checkFilterSize, ownElements, type FilterNamespace } from '../../dav/xml/filter-elements.js';
import { elements, is, textOf, type XmlElement } from '../../dav/xml/parse.js';
import { DEFAULT_CARD_COLLATION, isCollation } from '../../caldav/ical/collation.js';
import { CardPreconditionError } from '../vcard/errors.js';
import type { AddressDataRequest, CardFilter, MatchType, ParamFilter, PropFilter, TextMatch, VCardVersion } from '../vcard/types.js';

/** Default of the element limit: real clients send fewer than 20 (the same bound as CalDAV's filters). */
export const DEFAULT_MAX_CARD_FILTER_ELEMENTS = 500;

export interface CardFilterLimits {
  /** Most elements (of any namespace) inside CARDDAV:filter (limits.maxFilterElements). */
  maxElements?: number;
}

const MATCH_TYPES: readonly MatchType[] = ['equals', 'contains', 'starts-with', 'ends-with'];
const VERSIONS: readonly VCardVersion[] = ['3.0', '4.0'];

const unsupported = (message: string) => new CardPreconditionError('supported-filter', message);
const CARDDAV_FILTER: FilterNamespace = { ns: NS.CARDDAV, prefix: 'CARDDAV' };

export function parseCardFilter(el: XmlElement, limits: CardFilterLimits = {}): CardFilter {
  if (!is(el, NS.CARDDAV, 'filter')) throw badRequest(`expected CARDDAV:filter, got ${el.local}`);
  // No depth bound needed: the reader does not recurse (and maxXmlDepth bounds the document).
  checkFilterSize(el, { maxElements: limits.maxElements ?? DEFAULT_MAX_CARD_FILTER_ELEMENTS }, unsupported);
  return deepFreeze({ test: testOf(el), propFilters: own(el, ['prop-filter']).map(parsePropFilter) });
}

/**
 * Frozen all the way down: matchesFilter keeps its compiled form per (frozen) prop-filter object, so
 * the model must not change after it is read (a changed one would keep its old verdicts).
 */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** CARDDAV:address-data inside DAV:prop (absent: the whole card, as stored). */
export function parseAddressDataRequest(el: XmlElement | undefined): AddressDataRequest {
  if (!el) return {};
  const contentType = attr(el, 'content-type') ?? 'text/vcard';
  // Parameters (`; charset=utf-8`) are allowed: vCard is UTF-8 only (RFC 6350 §3.1).
  const media = contentType.split(';')[0]!.trim().toLowerCase();
  if (media !== 'text/vcard') throw new CardPreconditionError('supported-address-data', `address-data of type ${contentType} is not supported (text/vcard is)`);
  const version = attr(el, 'version')?.trim();
  if (version !== undefined && !(VERSIONS as readonly string[]).includes(version)) {
    throw new CardPreconditionError('supported-address-data', `vCard version ${version} is not supported (3.0 and 4.0 are)`);
  }
  const request: AddressDataRequest = version ? { version: version as VCardVersion } : {};
  const kids = elements(el).filter((k) => k.ns === NS.CARDDAV);
  const stray = kids.find((k) => k.local !== 'allprop' && k.local !== 'prop');
  if (stray) throw badRequest(`CARDDAV:address-data holds allprop or prop elements, not ${stray.local}`);
  if (kids.some((k) => k.local === 'allprop')) {
    if (kids.length > 1) throw badRequest('CARDDAV:address-data holds allprop or prop elements, not both');
    return request;
  }
  if (kids.length === 0) return request;
  const props = kids.map((k) => ({ name: nameOf(k), noValue: yesNo(k, 'novalue') }));
  return { ...request, props };
}

/**
 * An attribute by name, case-insensitively: vdirsyncer sends `Content-Type="text/vcard"` (the RFC
 * spells it content-type). Namespaced attributes (Clark keys) do not count.
 */
function attr(el: XmlElement, name: string): string | undefined {
  const exact = el.attrs.get(name);
  if (exact !== undefined) return exact;
  for (const [key, value] of el.attrs) if (!key.startsWith('{') && key.toLowerCase() === name) return value;
  return undefined;
}

/** CARDDAV children of `el`; an unknown CARDDAV element is refused, other namespaces skipped. */
function own(el: XmlElement, allowed: string[]): XmlElement[] {
  return ownElements(el, CARDDAV_FILTER, allowed, unsupported);
}

function testOf(el: XmlElement): 'anyof' | 'allof' {
  const test = (el.attrs.get('test') ?? 'anyof').trim();
  if (test !== 'anyof' && test !== 'allof') throw badRequest(`CARDDAV:${el.local} test must be anyof or allof, not ${test}`);
  return test;
}

function yesNo(el: XmlElement, name: string): boolean {
  const value = (el.attrs.get(name) ?? 'no').trim().toLowerCase();
  if (value !== 'yes' && value !== 'no') throw badRequest(`CARDDAV:${el.local} ${name} must be yes or no, not ${value}`);
  return value === 'yes';
}

function nameOf(el: XmlElement): string {
  const name = el.attrs.get('name')?.trim();
  if (!name) throw badRequest(`CARDDAV:${el.local} needs a name attribute`);
  // A property name, maybe with a group (item1.EMAIL); anything else names nothing a card can hold.
  if (!/^(?:[A-Za-z0-9-]+\.)?[A-Za-z0-9-]+$/.test(name)) throw badRequest(`CARDDAV:${el.local} name "${name}" is not a vCard name`);
  return name.toUpperCase();
}

function parsePropFilter(el: XmlElement): PropFilter {
  const name = nameOf(el);
  const kids = own(el, ['is-not-defined', 'text-match', 'param-filter']);
  const isNotDefined = kids.some((k) => k.local === 'is-not-defined');
  if (isNotDefined && kids.length > 1) throw badRequest(`prop-filter ${name}: is-not-defined stands alone`);
  return {
    name,
    test: testOf(el),
    isNotDefined,
    textMatches: kids.filter((k) => k.local === 'text-match').map(parseTextMatch),
    paramFilters: kids.filter((k) => k.local === 'param-filter').map(parseParamFilter),
  };
}

function parseParamFilter(el: XmlElement): ParamFilter {
  const name = nameOf(el);
  if (name.includes('.')) throw badRequest(`param-filter ${name}: a parameter name has no group`);
  const kids = own(el, ['is-not-defined', 'text-match']);
  if (kids.length > 1) throw badRequest(`param-filter ${name}: is-not-defined or one text-match`);
  const isNotDefined = kids[0]?.local === 'is-not-defined';
  return kids[0]?.local === 'text-match' ? { name, isNotDefined, textMatch: parseTextMatch(kids[0]) } : { name, isNotDefined };
}

function parseTextMatch(el: XmlElement): TextMatch {
  // RFC 6352 §8.3: i;unicode-casemap when none is named (CalDAV's default differs).
  const collation = el.attrs.get('collation') ?? DEFAULT_CARD_COLLATION;
  if (!isCollation(collation)) throw new CardPreconditionError('supported-collation', `collation ${collation} is not supported (i;unicode-casemap, i;ascii-casemap and i;octet are)`);
  const matchType = (el.attrs.get('match-type') ?? 'contains').trim();
  if (!(MATCH_TYPES as readonly string[]).includes(matchType)) throw unsupported(`match-type ${matchType} is not supported (${MATCH_TYPES.join(', ')} are)`);
  if (elements(el).length) throw badRequest('CARDDAV:text-match holds text only');
  return { text: textOf(el), collation, negate: yesNo(el, 'negate-condition'), matchType: matchType as MatchType };
}

/**
 * CardDAV properties (RFC 6352 §6.2, §7.1) and CalendarServer's getctag on address books, registered
 * into the DAV layer's property table. The principal is CalDAV's: only addressbook-home-set is added to
 * it here. addressbook-description is a dead property (settable by PROPPATCH and extended MKCOL).
 */
import type { LiveProperty, Resource } from '../dav/properties/registry.js';
import { hasType } from '../dav/resource-types.js';
import { el, elA, type OutNode } from '../dav/xml/write.js';
import { dav } from '../dav/xml/names.js';
import { PRINCIPAL, cs } from '../caldav/context.js';
import { collectionCtag } from '../caldav/properties.js';
import { ADDRESSBOOK, card, cardPaths, type CardDavOptions } from './context.js';

/** The collations the addressbook-query text-match supports (RFC 6352 §8.3). */
export const CARD_COLLATIONS = ['i;ascii-casemap', 'i;unicode-casemap'];

export function carddavProperties(o: CardDavOptions, prior: { getctag?: LiveProperty }): LiveProperty[] {
  const p = cardPaths(o);
  // appliesTo must be synchronous: it admits collections; get() checks the stored type.
  const isCollection = (r: Resource) => r.isCollection;
  const onBook = (value: (r: Resource) => OutNode[] | Promise<OutNode[]>) => async (r: Resource) => ((await hasType(r, ADDRESSBOOK)) ? value(r) : null);
  const onPrincipal = (value: (r: Resource) => OutNode[]) => async (r: Resource) => ((await hasType(r, PRINCIPAL)) ? value(r) : null);
  const ctag = prior.getctag;
  return [
    { name: card('addressbook-home-set'), inAllprop: false, protected: true, appliesTo: isCollection, get: onPrincipal((r) => [el(dav('href'), r.req.href(p.home, true))]) },
    {
      name: card('supported-address-data'),
      inAllprop: false,
      protected: true,
      appliesTo: isCollection,
      get: onBook(() => ['3.0', '4.0'].map((version) => elA(card('address-data-type'), { 'content-type': 'text/vcard', version }))),
    },
    { name: card('max-resource-size'), inAllprop: false, protected: true, appliesTo: isCollection, get: onBook(() => [String(o.maxResourceSize)]) },
    {
      name: card('supported-collation-set'),
      inAllprop: false,
      protected: true,
      appliesTo: isCollection,
      get: onBook(() => CARD_COLLATIONS.map((c) => el(card('supported-collation'), c))),
    },
    // CalDAV's getctag (the collection's sync token) answers for address books too: one property
    // per name in the table, so this one wraps it, as contentType and GET are wrapped.
    ...(ctag
      ? [{ ...ctag, get: async (r: Resource, requested?: Parameters<LiveProperty['get']>[1]) => ((await hasType(r, ADDRESSBOOK)) ? collectionCtag(r) : ctag.get(r, requested)) }]
      : [{ name: cs('getctag'), inAllprop: false, protected: true, appliesTo: isCollection, get: onBook(collectionCtag) }]),
  ];
}

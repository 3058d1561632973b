/**
 * The CardDAV layer (RFC 6352), installed on a DAV mount after CalDAV (whose principal and state
 * registry it shares): address books are stored collections of a stored type, so everything generic
 * (PROPFIND, sync-collection, locks, history) works on them unchanged; this layer adds discovery,
 * vCard validation, address book properties and the address book REPORTs.
 */
import type { Dav } from '../dav/context.js';
import { addressDataProperty } from './address-data.js';
import { addressBookQuery } from './reports/query.js';
import { addressBookMultiget } from './reports/multiget.js';
import { ADDRESSBOOK, DEFAULT_CARDDAV_OPTIONS, type CardDavOptions } from './context.js';
import { cardDavErrors } from './errors.js';
import { ensureAddressBooks } from './setup.js';

export async function installCardDav(dav: Dav, options: Partial<CardDavOptions> & Pick<CardDavOptions, 'states'>): Promise<CardDavOptions> {
  const o: CardDavOptions = { ...DEFAULT_CARDDAV_OPTIONS, ...options };
  dav.compliance.push('addressbook');
  dav.resourceTypes.add(ADDRESSBOOK);
  dav.errorMappers.push(cardDavErrors);
  // [i15-server] properties, PUT/COPY/MOVE/DELETE hooks, GET of an address book: register here.
  // [i15-reports] addressbook-query, addressbook-multiget, address-data: register here.
  dav.props.register(addressDataProperty(o));
  dav.reports.register(addressBookQuery(o), addressBookMultiget(o));
  await ensureAddressBooks(dav.backend, o);
  return o;
}

export type { CardDavOptions } from './context.js';

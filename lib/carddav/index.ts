/**
 * The CardDAV layer (RFC 6352), installed on a DAV mount after CalDAV (whose principal and state
 * registry it shares): address books are stored collections of a stored type, so everything generic
 * (PROPFIND, sync-collection, locks, history) works on them unchanged; this layer adds discovery,
 * vCard validation, address book properties and the address book REPORTs.
 */
import type { Dav } from '../dav/context.js';
import { ADDRESSBOOK, DEFAULT_CARDDAV_OPTIONS, type CardDavOptions } from './context.js';
import { cardDavErrors } from './errors.js';
import { ensureAddressBooks } from './setup.js';
import { cs } from '../caldav/context.js';
import { carddavProperties } from './properties.js';
import { cardContentType } from './content-type.js';
import { cardPutHook } from './put-hook.js';
import { cardTransferHook } from './transfer-hook.js';
import { cardDeleteHook } from './delete-hook.js';
import { cardCollectionHook } from './mkcol-hook.js';
import { addressBookGet } from './methods/get.js';
import { addressDataProperty } from './address-data.js';
import { addressBookQuery } from './reports/query.js';
import { addressBookMultiget } from './reports/multiget.js';

export async function installCardDav(dav: Dav, options: Partial<CardDavOptions> & Pick<CardDavOptions, 'states'>): Promise<CardDavOptions> {
  const o: CardDavOptions = { ...DEFAULT_CARDDAV_OPTIONS, ...options };
  dav.compliance.push('addressbook');
  dav.resourceTypes.add(ADDRESSBOOK);
  dav.errorMappers.push(cardDavErrors);
  dav.props.register(...carddavProperties(o, { getctag: dav.props.get(cs('getctag')) }));
  dav.contentType = cardContentType(dav.contentType);
  dav.putHooks.push(cardPutHook(o));
  dav.transferHooks.push(cardTransferHook(o));
  dav.deleteHooks.push(cardDeleteHook(o));
  dav.collectionHooks.push(cardCollectionHook);
  dav.methods.set('GET', addressBookGet(dav.methods.get('GET')!, false, o.states));
  dav.methods.set('HEAD', addressBookGet(dav.methods.get('HEAD')!, true, o.states));
  dav.props.register(addressDataProperty(o));
  dav.reports.register(addressBookQuery(o), addressBookMultiget(o));
  if (!o.noSetup) await ensureAddressBooks(dav.backend, o);
  return o;
}

export type { CardDavOptions } from './context.js';

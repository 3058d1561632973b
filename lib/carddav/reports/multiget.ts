/**
 * REPORT addressbook-multiget (RFC 6352 §8.7): the requested properties (address-data usually) of
 * each href; an href that names no card of the target gets a 404 response in the 207: one outside
 * the address book or deeper in it too (the hrefs name the book's address object resources). The
 * Depth header is ignored (the RFC says Depth 0, its examples send 1: erratum 4610). Absolute and
 * percent-encoded hrefs are accepted; each distinct href is answered once, the answer streamed
 * (caldav/reports/member-report.ts).
 */
import type { ReportHandler } from '../../dav/reports.js';
import { memberMultiget } from '../../caldav/reports/member-report.js';
import { card, type CardDavOptions } from '../context.js';
import { cardResponses, checkAddressData, onAddressBookOrCard } from './members.js';

export function addressBookMultiget(o: CardDavOptions): ReportHandler {
  return memberMultiget({
    name: card('addressbook-multiget'),
    supportedOn: onAddressBookOrCard,
    states: o.states,
    membersOnly: true,
    writer: (req, request) => cardResponses(o, req, request),
    check: checkAddressData,
  });
}

/**
 * The CardDAV bench's request bodies (RFC 6352): the extended MKCOL of an address book (RFC 5689),
 * addressbook-query with one prop-filter/text-match, addressbook-multiget. Transport, the multistatus
 * reader, the parallel upload and the sync runs are CalDAV's (bench/caldav-http.ts).
 */
import { QUERIES, type QueryId } from './carddav-data.js';

const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export const VCARD_CONTENT_TYPE = 'text/vcard; charset=utf-8';

export function mkAddressBookBody(name: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:set><D:prop>
    <D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>
    <D:displayname>${xmlText(name)}</D:displayname>
  </D:prop></D:set>
</D:mkcol>`;
}

/** What clients ask of a query: the ETag and the whole card. */
export function addressBookQueryBody(q: QueryId): string {
  const { prop, text, collation } = QUERIES[q];
  return `<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:prop><D:getetag/><C:address-data/></D:prop>
  <C:filter test="anyof">
    <C:prop-filter name="${prop}">
      <C:text-match collation="${collation}" match-type="contains">${xmlText(text)}</C:text-match>
    </C:prop-filter>
  </C:filter>
</C:addressbook-query>`;
}

export function addressBookMultigetBody(hrefs: string[]): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:prop><D:getetag/><C:address-data/></D:prop>
${hrefs.map((h) => `  <D:href>${xmlText(h)}</D:href>`).join('\n')}
</C:addressbook-multiget>`;
}

/** A card no server may store (no UID, RFC 6352 §6.3.2.1 / RFC 6350 §6.7.6 as CardDAV requires it): does PUT validate? */
export const CARD_WITHOUT_UID = 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No Uid\r\nN:Uid;No;;;\r\nEND:VCARD\r\n';

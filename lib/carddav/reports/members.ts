/**
 * What the address book REPORTs share: where they may run (an address book, or a card in one: that
 * drives supported-report-set), and the response writer that keeps plain answers as bytes.
 */
import { parentOf } from '../../../backends/backend.js';
import type { DavRequest } from '../../dav/context.js';
import type { Resource } from '../../dav/properties/registry.js';
import type { PropRequest } from '../../dav/propfind-core.js';
import { hasType } from '../../dav/resource-types.js';
import { MemberResponses } from '../../caldav/reports/member-responses.js';
import { plainRequestKey, type PlainData } from '../../caldav/state/response-cache.js';
import { ADDRESS_DATA, addressDataRequest } from '../address-data.js';
import { isAddressBookPath } from '../cards.js';
import { ADDRESSBOOK, type CardDavOptions } from '../context.js';

/** An address book, or a member of one (a REPORT with Depth 0 on a card). */
export async function onAddressBookOrCard(res: Resource): Promise<boolean> {
  return res.isCollection ? hasType(res, ADDRESSBOOK) : isAddressBookPath(res.req, parentOf(res.path));
}

/**
 * address-data asked without parameters is the content's alone (the stored text, or a 4.0 card as
 * 3.0: both functions of the bytes), so such a response can be kept by ETag as calendar-data's is.
 */
const plainAddressData: PlainData = (name, requested) => {
  if (name !== ADDRESS_DATA) return false;
  const r = addressDataRequest(requested);
  return !r.props && !r.version;
};

/** Member responses of a query or multiget: kept bytes where the request is plain (caldav/reports/member-responses.ts). */
export function cardResponses(o: CardDavOptions, req: DavRequest, request: PropRequest): MemberResponses {
  return new MemberResponses(o.states, req, request, plainAddressData);
}

/** Whether the request's answer for a card depends on its path and content alone (getetag, plain address-data). */
export function contentOnly(request: PropRequest): boolean {
  return plainRequestKey(request, plainAddressData) !== null;
}

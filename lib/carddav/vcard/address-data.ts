/** CARDDAV:address-data (RFC 6352 §10.4): the card as stored, or only some properties, or another version. Reference version: WP1 completes it. */
import { CardPreconditionError } from './errors.js';
import type { AddressDataRequest, ParsedCard } from './types.js';

export function addressData(text: string, card: ParsedCard | null, request: AddressDataRequest): string {
  if (!request.props && (!request.version || request.version === card?.version)) return text;
  throw new CardPreconditionError('supported-address-data-conversion', 'to be written in WP1');
}

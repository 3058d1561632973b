/**
 * The vCard layer's domain errors; lib/carddav/errors.ts maps them to DAV errors with the RFC 6352
 * precondition element (403, or 409 for no-uid-conflict; 507 for a truncated query).
 */

/** RFC 6352 §6.3.2.1 / §8.6 / §8.7 preconditions the vCard code can name. */
export type CardPrecondition =
  | 'valid-address-data'
  | 'supported-address-data'
  | 'supported-address-data-conversion'
  | 'max-resource-size'
  | 'no-uid-conflict'
  | 'supported-filter'
  | 'supported-collation'
  | 'addressbook-collection-location-ok';

/** Input the server refuses, naming the CARDDAV: precondition it breaks. */
export class CardPreconditionError extends Error {
  constructor(
    readonly precondition: CardPrecondition,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CardPreconditionError';
  }
}

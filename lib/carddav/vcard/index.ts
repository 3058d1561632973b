/** The vCard layer's entry points: validate and read a card, match a filter, shape address-data. */
export type { AddressDataRequest, CardFilter, CardParam, CardProperty, MatchType, ParamFilter, ParsedCard, PropFilter, TextMatch, VCardVersion } from './types.js';
export { CardPreconditionError, type CardPrecondition } from './errors.js';
export { parseCard, cardTitle, type ParseCardOptions } from './parse.js';
export { matchesFilter } from './filter.js';
export { addressData } from './address-data.js';

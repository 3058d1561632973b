/** addressbook-query filters (RFC 6352 §10.5) over a parsed card. Reference version: WP1 completes it. */
import type { CardFilter, ParsedCard } from './types.js';

export function matchesFilter(card: ParsedCard, filter: CardFilter): boolean {
  if (filter.propFilters.length === 0) return true;
  void card;
  throw new Error('matchesFilter: to be written in WP1');
}

/**
 * addressbook-query filters (RFC 6352 §10.5) over a parsed card.
 *
 * - filter: its prop-filters combined by `test` (anyof, the default, or allof); none: every card.
 * - prop-filter: is-not-defined holds when the card has no instance of the property; an empty one
 *   when it has one; otherwise it holds when ONE instance satisfies its text-matches and
 *   param-filters combined by its `test` (RFC 6352 §10.5.1 "against a property"). Grouped
 *   properties count: `item1.EMAIL` is an EMAIL. A name with a group (`item1.EMAIL`) asks for that
 *   group only.
 * - param-filter (§10.5.2), on the instance being examined: is-not-defined when it has no such
 *   parameter; empty when it has one; a text-match when any of its values matches.
 * - text-match (§10.5.4): the property's whole value, unescaped, under the collation and match-type;
 *   negate-condition inverts it for that instance. Structured values (N, ADR, ORG) are matched as
 *   one text, components separated by ';' as stored (`Lovelace;Ada;;;` contains "Ada").
 */
import { collationMatch } from '../../caldav/ical/collation.js';
import type { CardParam, CardFilter, CardProperty, ParamFilter, ParsedCard, PropFilter, TextMatch } from './types.js';

export function matchesFilter(card: ParsedCard, filter: CardFilter): boolean {
  if (filter.propFilters.length === 0) return true;
  const test = (pf: PropFilter) => propFilterMatches(card, pf);
  return filter.test === 'allof' ? filter.propFilters.every(test) : filter.propFilters.some(test);
}

function propFilterMatches(card: ParsedCard, pf: PropFilter): boolean {
  const instances = card.properties.filter(named(pf.name));
  if (pf.isNotDefined) return instances.length === 0;
  const tests: Array<(p: CardProperty) => boolean> = [
    ...pf.textMatches.map((tm) => (p: CardProperty) => textMatches(tm, [p.value])),
    ...pf.paramFilters.map((qf) => (p: CardProperty) => paramFilterMatches(p, qf)),
  ];
  if (tests.length === 0) return instances.length > 0;
  return instances.some((p) => (pf.test === 'allof' ? tests.every((t) => t(p)) : tests.some((t) => t(p))));
}

/** `EMAIL` matches every EMAIL, grouped or not; `ITEM1.EMAIL` only item1's. Names are case-insensitive. */
function named(name: string): (p: CardProperty) => boolean {
  const upper = name.toUpperCase();
  const dot = upper.lastIndexOf('.');
  if (dot < 0) return (p) => p.name === upper;
  const group = upper.slice(0, dot);
  const bare = upper.slice(dot + 1);
  return (p) => p.name === bare && p.group?.toUpperCase() === group;
}

function paramFilterMatches(prop: CardProperty, qf: ParamFilter): boolean {
  const params = prop.params.filter((p) => p.name === qf.name.toUpperCase());
  if (qf.isNotDefined) return params.length === 0;
  if (params.length === 0) return false;
  return !qf.textMatch || textMatches(qf.textMatch, paramValues(params));
}

/**
 * Every value of the parameter, over repeated parameters (`TYPE=work;TYPE=voice`). TYPE is a list
 * even when quoted as one (`TYPE="work,voice"`, RFC 6350 §5.6's own example), so its values are
 * split on commas; other parameters' quoted commas are part of the value.
 */
function paramValues(params: CardParam[]): string[] {
  const values = params.flatMap((p) => p.values);
  return params[0]?.name === 'TYPE' ? values.flatMap((v) => v.split(',')) : values;
}

/** True when some value matches (or, negated, when none does). */
function textMatches(tm: TextMatch, values: string[]): boolean {
  const found = values.some((v) => collationMatch(v, tm.text, tm.collation, tm.matchType));
  return tm.negate ? !found : found;
}

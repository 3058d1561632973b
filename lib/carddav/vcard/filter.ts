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
import { textMatcher } from '../../caldav/ical/collation.js';
import type { CardParam, CardFilter, CardProperty, ParamFilter, ParsedCard, PropFilter, TextMatch } from './types.js';

export function matchesFilter(card: ParsedCard, filter: CardFilter): boolean {
  if (filter.propFilters.length === 0) return true;
  const test = (pf: PropFilter) => propFilterMatches(card, pf);
  return filter.test === 'allof' ? filter.propFilters.every(test) : filter.propFilters.some(test);
}

function propFilterMatches(card: ParsedCard, pf: PropFilter): boolean {
  const { isProp, test } = compiled(pf);
  if (pf.isNotDefined) return !card.properties.some(isProp);
  return card.properties.some((p) => isProp(p) && test(p));
}

interface CompiledPropFilter {
  isProp: (p: CardProperty) => boolean;
  /** Its text-matches and param-filters combined by its test, on one instance. */
  test: (p: CardProperty) => boolean;
}

/** Filters are compiled once per query (text folded once), not once per card. */
const COMPILED = new WeakMap<PropFilter, CompiledPropFilter>();

function compiled(pf: PropFilter): CompiledPropFilter {
  let c = COMPILED.get(pf);
  if (!c) {
    const tests: Array<(p: CardProperty) => boolean> = [
      ...pf.textMatches.map((tm) => {
        const match = matcher(tm);
        return (p: CardProperty) => match([p.value]);
      }),
      ...pf.paramFilters.map((qf) => paramFilter(qf)),
    ];
    const test = tests.length === 0 ? () => true : pf.test === 'allof' ? (p: CardProperty) => tests.every((t) => t(p)) : (p: CardProperty) => tests.some((t) => t(p));
    c = { isProp: named(pf.name), test };
    COMPILED.set(pf, c);
  }
  return c;
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

function paramFilter(qf: ParamFilter): (prop: CardProperty) => boolean {
  const name = qf.name.toUpperCase();
  const match = qf.textMatch ? matcher(qf.textMatch) : null;
  return (prop) => {
    const params = prop.params.filter((p) => p.name === name);
    if (qf.isNotDefined) return params.length === 0;
    if (params.length === 0) return false;
    return !match || match(paramValues(params));
  };
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
function matcher(tm: TextMatch): (values: string[]) => boolean {
  const one = textMatcher(tm.text, tm.collation, tm.matchType);
  return tm.negate ? (values) => !values.some(one) : (values) => values.some(one);
}

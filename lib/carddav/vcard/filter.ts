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
 *   one text: unescaped, with ';' between components (`Lovelace;Ada;;;` contains "Ada"), so an
 *   escaped `\;` inside a component reads the same as a separator.
 *
 * Cost: a filter may hold hundreds of text-matches and a card megabytes of text, so each value is
 * folded at most once per collation per call (however many text-matches read it), and the work is
 * charged to the running request's step budget (caldav/ical/budget.ts; the caller wraps the call in
 * caldav/steps.ts `counted`): a filter too costly for the budget throws StepBudgetExceeded (507)
 * after a bounded amount of work, not a blocked worker.
 */
import { spend } from '../../caldav/ical/budget.js';
import { foldedMatcher, foldText, type Collation } from '../../caldav/ical/collation.js';
import type { CardParam, CardFilter, CardProperty, ParamFilter, ParsedCard, PropFilter, TextMatch } from './types.js';

/**
 * Step rates (a step is ~1-5 µs, budget.ts). Measured with the unicode fold's worst case (non-ASCII
 * text: NFKD twice and an uppercase) and a substring search over folded text; see notes15-query.md.
 */
export const FOLD_CHARS_PER_STEP = 32;
export const SCAN_CHARS_PER_STEP = 1024;
/** Properties whose name one prop-filter checks per step. */
export const PROPS_PER_STEP = 64;

export function matchesFilter(card: ParsedCard, filter: CardFilter): boolean {
  if (filter.propFilters.length === 0) return true;
  const folds = new Folds();
  const test = (pf: PropFilter) => propFilterMatches(card, pf, folds);
  return filter.test === 'allof' ? filter.propFilters.every(test) : filter.propFilters.some(test);
}

function propFilterMatches(card: ParsedCard, pf: PropFilter, folds: Folds): boolean {
  const { isProp, test } = compiled(pf);
  spend(1 + Math.floor(card.properties.length / PROPS_PER_STEP));
  if (pf.isNotDefined) return !card.properties.some(isProp);
  return card.properties.some((p) => isProp(p) && test(p, folds));
}

/** A test on one property instance, reading folded values through the call's Folds. */
type InstanceTest = (p: CardProperty, folds: Folds) => boolean;

interface CompiledPropFilter {
  isProp: (p: CardProperty) => boolean;
  /** Its text-matches and param-filters combined by its test, on one instance. */
  test: InstanceTest;
}

/**
 * Compiled once per query (needles folded once), not once per card: kept only for filters that are
 * deeply frozen (parseCardFilter's are), since a filter changed after compiling would get stale
 * verdicts. Any other filter is compiled on every call.
 */
const COMPILED = new WeakMap<PropFilter, CompiledPropFilter>();

function compiled(pf: PropFilter): CompiledPropFilter {
  const kept = COMPILED.get(pf);
  if (kept) return kept;
  const c = compile(pf);
  if (deeplyFrozen(pf)) COMPILED.set(pf, c);
  return c;
}

function compile(pf: PropFilter): CompiledPropFilter {
  const tests: InstanceTest[] = [
    ...distinct(pf.textMatches).map((tm): InstanceTest => {
      const match = matcher(tm);
      return (p, folds) => match(folds.of(p, propertyValues, tm.collation));
    }),
    ...pf.paramFilters.map(paramFilter),
  ];
  const test: InstanceTest =
    tests.length === 0 ? () => true : pf.test === 'allof' ? (p, f) => tests.every((t) => t(p, f)) : (p, f) => tests.some((t) => t(p, f));
  return { isProp: named(pf.name), test };
}

function deeplyFrozen(pf: PropFilter): boolean {
  return Object.isFrozen(pf) && Object.isFrozen(pf.textMatches) && pf.textMatches.every(Object.isFrozen)
    && Object.isFrozen(pf.paramFilters) && pf.paramFilters.every((qf) => Object.isFrozen(qf) && (!qf.textMatch || Object.isFrozen(qf.textMatch)));
}

/** The same text-match twice in one prop-filter decides nothing new (anyof or allof): tested once. */
function distinct(tms: readonly TextMatch[]): TextMatch[] {
  const seen = new Set<string>();
  return tms.filter((tm) => {
    const key = JSON.stringify([tm.text, tm.collation, tm.matchType, tm.negate]);
    return !seen.has(key) && !!seen.add(key);
  });
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

function paramFilter(qf: ParamFilter): InstanceTest {
  const name = qf.name.toUpperCase();
  const tm = qf.textMatch;
  const match = tm ? matcher(tm) : null;
  return (prop, folds) => {
    const params = prop.params.filter((p) => p.name === name);
    if (qf.isNotDefined) return params.length === 0;
    if (params.length === 0) return false;
    return !match || match(params.flatMap((p) => folds.of(p, paramValues, tm!.collation)));
  };
}

const propertyValues = (p: CardProperty): readonly string[] => [p.value];

/**
 * A parameter's values. TYPE is a list even when quoted as one (`TYPE="work,voice"`, RFC 6350 §5.6's
 * own example), so its values are split on commas; other parameters' quoted commas are part of the
 * value. Repeated parameters (`TYPE=work;TYPE=voice`) are each read and their values joined.
 */
const paramValues = ({ name, values }: CardParam): readonly string[] => (name === 'TYPE' ? values.flatMap((v) => v.split(',')) : values);

/** True when some folded value matches (or, negated, when none does); each comparison is charged. */
function matcher(tm: TextMatch): (folded: readonly string[]) => boolean {
  const needle = foldText(tm.text, tm.collation);
  const one = foldedMatcher(needle, tm.matchType);
  const charged = (v: string) => {
    spend(1 + Math.floor((v.length + needle.length) / SCAN_CHARS_PER_STEP));
    return one(v);
  };
  return tm.negate ? (values) => !values.some(charged) : (values) => values.some(charged);
}

/**
 * One matchesFilter call's folded values: each property value (or parameter's values) folded at
 * most once per collation, however many text-matches read it; the folding is charged before it runs.
 */
class Folds {
  private readonly byCollation = new Map<Collation, Map<object, readonly string[]>>();

  of<K extends object>(key: K, values: (key: K) => readonly string[], collation: Collation): readonly string[] {
    let folds = this.byCollation.get(collation);
    if (!folds) this.byCollation.set(collation, (folds = new Map()));
    let folded = folds.get(key);
    if (!folded) {
      folded = values(key).map((v) => {
        if (collation !== 'i;octet') spend(1 + Math.floor(v.length / FOLD_CHARS_PER_STEP));
        return foldText(v, collation);
      });
      folds.set(key, folded);
    }
    return folded;
  }
}

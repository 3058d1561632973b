import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseXml } from '../../lib/dav/xml/parse.js';
import { DavError } from '../../lib/dav/errors/dav-error.js';
import { collationMatch, COLLATIONS, type Collation } from '../../lib/caldav/ical/collation.js';
import { parseCard } from '../../lib/carddav/vcard/parse.js';
import { matchesFilter } from '../../lib/carddav/vcard/filter.js';
import { CardPreconditionError } from '../../lib/carddav/vcard/errors.js';
import { parseCardFilter } from '../../lib/carddav/reports/filter-xml.js';
import type { CardFilter, MatchType, ParsedCard, PropFilter, TextMatch } from '../../lib/carddav/vcard/types.js';
import { loadContactFixtures } from '../helpers/contact-fixtures.js';

const MATCH_TYPES: MatchType[] = ['equals', 'contains', 'starts-with', 'ends-with'];
const cards: ParsedCard[] = loadContactFixtures().map((f) => parseCard(f.bytes, { maxResourceSize: 10_000_000 }));

/** Text drawn from the fixtures' own words (so matches happen) and from arbitrary Unicode. */
const words = [...new Set(cards.flatMap((c) => c.properties.flatMap((p) => [p.value, ...p.value.split(/[\s;,@.]+/)])))].filter((w) => w.length < 40);
const text = fc.oneof(fc.constantFrom(...words), fc.constantFrom(...words).map((w) => w.toUpperCase()), fc.string({ maxLength: 4 }), fc.string({ unit: 'grapheme', maxLength: 4 }));
const propNames = fc.constantFrom('FN', 'N', 'EMAIL', 'TEL', 'ADR', 'ORG', 'NOTE', 'CATEGORIES', 'X-ABLABEL', 'KIND', 'PHOTO', 'ITEM1.EMAIL');
const textMatch: fc.Arbitrary<TextMatch> = fc.record({
  text,
  collation: fc.constantFrom<Collation>(...COLLATIONS),
  negate: fc.boolean(),
  matchType: fc.constantFrom(...MATCH_TYPES),
});
const paramFilter = fc.record({ name: fc.constantFrom('TYPE', 'PREF', 'VALUE'), isNotDefined: fc.boolean(), textMatch: fc.option(textMatch, { nil: undefined }) }).map((p) =>
  p.isNotDefined || p.textMatch === undefined ? { name: p.name, isNotDefined: p.isNotDefined } : { name: p.name, isNotDefined: false, textMatch: p.textMatch });
const propFilter: fc.Arbitrary<PropFilter> = fc.record({
  name: propNames,
  test: fc.constantFrom<'anyof' | 'allof'>('anyof', 'allof'),
  isNotDefined: fc.boolean(),
  textMatches: fc.array(textMatch, { maxLength: 2 }),
  paramFilters: fc.array(paramFilter, { maxLength: 2 }),
}).map((p) => (p.isNotDefined ? { ...p, textMatches: [], paramFilters: [] } : p));
const card = fc.constantFrom(...cards);

describe('CardDAV filters: properties (fast-check)', () => {
  it('negate-condition inverts a text-match on a property with one instance (FN)', () => {
    fc.assert(fc.property(card, textMatch, (c, tm) => {
      const f = (negate: boolean): CardFilter => ({ test: 'anyof', propFilters: [{ name: 'FN', test: 'anyof', isNotDefined: false, textMatches: [{ ...tm, negate }], paramFilters: [] }] });
      assert.equal(matchesFilter(c, f(true)), !matchesFilter(c, f(false)));
    }));
  });

  it('on a property with several instances, negated holds iff some instance does not match', () => {
    fc.assert(fc.property(card, textMatch, (c, tm) => {
      const emails = c.properties.filter((p) => p.name === 'EMAIL');
      const negated: CardFilter = { test: 'anyof', propFilters: [{ name: 'EMAIL', test: 'anyof', isNotDefined: false, textMatches: [{ ...tm, negate: true }], paramFilters: [] }] };
      assert.equal(matchesFilter(c, negated), emails.some((p) => !collationMatch(p.value, tm.text, tm.collation, tm.matchType)));
    }));
  });

  it('anyof of one equals allof of one, for a filter and for a prop-filter', () => {
    fc.assert(fc.property(card, propFilter, (c, pf) => {
      const f = (test: 'anyof' | 'allof', inner: PropFilter): CardFilter => ({ test, propFilters: [inner] });
      assert.equal(matchesFilter(c, f('anyof', pf)), matchesFilter(c, f('allof', pf)));
      const one = pf.textMatches.length + pf.paramFilters.length === 1;
      if (one) assert.equal(matchesFilter(c, f('anyof', { ...pf, test: 'anyof' })), matchesFilter(c, f('anyof', { ...pf, test: 'allof' })));
    }));
  });

  it('a filter\'s anyof is the OR and allof the AND of its prop-filters alone', () => {
    fc.assert(fc.property(card, fc.array(propFilter, { minLength: 1, maxLength: 3 }), (c, pfs) => {
      const alone = pfs.map((pf) => matchesFilter(c, { test: 'anyof', propFilters: [pf] }));
      assert.equal(matchesFilter(c, { test: 'anyof', propFilters: pfs }), alone.some(Boolean));
      assert.equal(matchesFilter(c, { test: 'allof', propFilters: pfs }), alone.every(Boolean));
    }));
  });

  it('is-not-defined is the negation of the empty prop-filter', () => {
    fc.assert(fc.property(card, propNames, (c, name) => {
      const pf = (isNotDefined: boolean): CardFilter => ({ test: 'anyof', propFilters: [{ name, test: 'anyof', isNotDefined, textMatches: [], paramFilters: [] }] });
      assert.equal(matchesFilter(c, pf(true)), !matchesFilter(c, pf(false)));
    }));
  });

  it('i;ascii-casemap equals exactly when strings differ only in the case of A–Z letters', () => {
    const spec = (a: string, b: string) => {
      const [x, y] = [[...a], [...b]];
      return x.length === y.length && x.every((ch, i) => ch === y[i] || (/^[A-Za-z]$/.test(ch) && ch.toLowerCase() === y[i]!.toLowerCase()));
    };
    const mixed = fc.string({ unit: fc.constantFrom('a', 'A', 'z', 'Z', 'é', 'É', 'ß', 'ı', 'I', 'İ', 'i', 'K', '\u212a', 'ǅ', ' '), maxLength: 6 });
    fc.assert(fc.property(mixed, mixed, (a, b) => {
      assert.equal(collationMatch(a, b, 'i;ascii-casemap', 'equals'), spec(a, b));
    }));
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 6 }), (a) => {
      assert.equal(collationMatch(a.toUpperCase(), a, 'i;ascii-casemap', 'equals'), spec(a.toUpperCase(), a));
    }));
  });

  it('on ASCII text i;unicode-casemap and i;ascii-casemap agree, for every match-type', () => {
    const ascii = fc.string({ unit: fc.constantFrom('a', 'A', 'b', 'B', 'i', 'I', 'z', 'Z', '@', '.', ' ', '~'), maxLength: 6 });
    fc.assert(fc.property(ascii, ascii, fc.constantFrom(...MATCH_TYPES), (a, b, m) => {
      assert.equal(collationMatch(a, b, 'i;unicode-casemap', m), collationMatch(a, b, 'i;ascii-casemap', m));
      assert.equal(collationMatch(a + 'é', b, 'i;unicode-casemap', m), collationMatch(a + 'É', b.toUpperCase(), 'i;unicode-casemap', m), 'the non-ASCII path folds the same');
    }));
  });

  it('i;unicode-casemap matches as a hand-written table of folds says (case pairs, NFKD compatibility, simple mappings only)', () => {
    // Each unit's RFC 5051 form, written by hand: simple uppercase (ß and ẞ stay apart: ß's uppercase
    // "SS" is not simple; ı's is I), then NFKD (ligatures, the Kelvin and Ohm signs, composed letters).
    // A unit ends with at most one combining mark and starts with a base letter, so forms concatenate.
    const FORM: Record<string, string> = {
      e: 'E', E: 'E', é: 'E\u0301', É: 'E\u0301', 'e\u0301': 'E\u0301', ﬁ: 'FI', fi: 'FI', FI: 'FI', fI: 'FI',
      Σ: 'Σ', σ: 'Σ', ς: 'Σ', s: 'S', S: 'S', ß: 'ß', ẞ: 'ẞ', Ω: 'Ω', ω: 'Ω', '\u2126': 'Ω', K: 'K', k: 'K', '\u212a': 'K',
      Ǆ: 'DZ\u030c', ǅ: 'DZ\u030c', ǆ: 'DZ\u030c', İ: 'I\u0307', i: 'I', I: 'I', ı: 'I', ' ': ' ',
    };
    const units = fc.array(fc.constantFrom(...Object.keys(FORM)), { maxLength: 5 });
    const form = (u: string[]) => u.map((x) => FORM[x]).join('');
    fc.assert(fc.property(units, units, (ua, ub) => {
      const [a, b, fa, fb] = [ua.join(''), ub.join(''), form(ua), form(ub)];
      assert.equal(collationMatch(a, b, 'i;unicode-casemap', 'equals'), fa === fb, `${a} equals ${b}`);
      assert.equal(collationMatch(b, a, 'i;unicode-casemap', 'equals'), fa === fb, 'equals is symmetric');
      assert.equal(collationMatch(a, b, 'i;unicode-casemap', 'contains'), fa.includes(fb), `${a} contains ${b}`);
      assert.equal(collationMatch(a, b, 'i;unicode-casemap', 'starts-with'), fa.startsWith(fb));
      assert.equal(collationMatch(a, b, 'i;unicode-casemap', 'ends-with'), fa.endsWith(fb));
    }), { numRuns: 2000 });
  });

  it('i;unicode-casemap equals a string and its upper and lower case (where casing keeps one character each)', () => {
    const simple = fc.string({ unit: 'grapheme', maxLength: 6 }).filter((s) => [...s].every((ch) => [...ch.toUpperCase()].length === 1 && [...ch.toLowerCase()].length === 1));
    fc.assert(fc.property(simple, (a) => {
      assert.ok(collationMatch(a, a.toUpperCase(), 'i;unicode-casemap', 'equals'), 'upper');
      assert.ok(collationMatch(a.toLowerCase(), a, 'i;unicode-casemap', 'equals'), 'lower');
      assert.ok(collationMatch(a.normalize('NFD'), a.normalize('NFC'), 'i;unicode-casemap', 'equals'));
    }));
  });

  it('parseCardFilter reads back any filter model written as XML', () => {
    // XML text cannot hold most control characters, and turns CR into LF: leave them out.
    const xmlText = fc.string({ unit: fc.oneof(fc.constantFrom('a', 'Z', 'é', 'İ', '山', '<', '&', '"', ' ', '\n', ';', ','), fc.constantFrom(...'xyz@.')), maxLength: 6 });
    const name = fc.constantFrom('FN', 'EMAIL', 'ITEM1.EMAIL', 'X-ABLABEL', 'N');
    const tm: fc.Arbitrary<TextMatch> = fc.record({ text: xmlText, collation: fc.constantFrom<Collation>(...COLLATIONS), negate: fc.boolean(), matchType: fc.constantFrom(...MATCH_TYPES) });
    const pa = fc.record({ name: fc.constantFrom('TYPE', 'PREF', 'X-EVOLUTION-UI-SLOT'), isNotDefined: fc.boolean(), textMatch: fc.option(tm, { nil: undefined }) }).map((p) =>
      p.isNotDefined || p.textMatch === undefined ? { name: p.name, isNotDefined: p.isNotDefined } : { name: p.name, isNotDefined: false, textMatch: p.textMatch });
    const pf: fc.Arbitrary<PropFilter> = fc.record({ name, test: fc.constantFrom<'anyof' | 'allof'>('anyof', 'allof'), isNotDefined: fc.boolean(), textMatches: fc.array(tm, { maxLength: 2 }), paramFilters: fc.array(pa, { maxLength: 2 }) })
      .map((p) => (p.isNotDefined ? { ...p, textMatches: [], paramFilters: [] } : p));
    const model: fc.Arbitrary<CardFilter> = fc.record({ test: fc.constantFrom<'anyof' | 'allof'>('anyof', 'allof'), propFilters: fc.array(pf, { maxLength: 3 }) });
    const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
    const textXml = (t: TextMatch) => `<C:text-match collation="${t.collation}" match-type="${t.matchType}" negate-condition="${t.negate ? 'yes' : 'no'}">${esc(t.text)}</C:text-match>`;
    const xml = (f: CardFilter) =>
      `<C:filter xmlns:C="urn:ietf:params:xml:ns:carddav" test="${f.test}">${f.propFilters.map((p) =>
        `<C:prop-filter name="${p.name.toLowerCase()}" test="${p.test}">${p.isNotDefined ? '<C:is-not-defined/>' : ''}${p.textMatches.map(textXml).join('')}${p.paramFilters.map((q) =>
          `<C:param-filter name="${q.name}">${q.isNotDefined ? '<C:is-not-defined/>' : q.textMatch ? textXml(q.textMatch) : ''}</C:param-filter>`).join('')}</C:prop-filter>`).join('')}</C:filter>`;
    fc.assert(fc.property(model, (f) => {
      assert.deepEqual(parseCardFilter(parseXml(xml(f))), f);
    }));
  });

  it('parseCardFilter answers any attribute values with a model, a 400 or a 403, never anything else', () => {
    const attr = fc.oneof(fc.constantFrom('anyof', 'allof', 'yes', 'no', 'equals', 'contains', 'i;octet', 'i;unicode-casemap', 'FN', 'item1.EMAIL'), fc.string({ maxLength: 8 }));
    const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
    fc.assert(fc.property(attr, attr, attr, attr, attr, (test, name, collation, matchType, negate) => {
      const xml = `<C:filter xmlns:C="urn:ietf:params:xml:ns:carddav" test="${esc(test)}"><C:prop-filter name="${esc(name)}"><C:text-match collation="${esc(collation)}" match-type="${esc(matchType)}" negate-condition="${esc(negate)}">x</C:text-match></C:prop-filter></C:filter>`;
      let root;
      try {
        root = parseXml(xml);
      } catch {
        return; // not XML at all (a control character in an attribute): the REPORT's own 400
      }
      try {
        const f = parseCardFilter(root);
        for (const c of cards) matchesFilter(c, f);
      } catch (err) {
        assert.ok((err instanceof DavError && err.status === 400) || err instanceof CardPreconditionError, String(err));
      }
    }));
  });
});

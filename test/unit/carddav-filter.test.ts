import assert from 'node:assert/strict';
import { parseXml } from '../../lib/dav/xml/parse.js';
import { DavError } from '../../lib/dav/errors/dav-error.js';
import { parseCard } from '../../lib/carddav/vcard/parse.js';
import { matchesFilter } from '../../lib/carddav/vcard/filter.js';
import { CardPreconditionError, type CardPrecondition } from '../../lib/carddav/vcard/errors.js';
import { parseAddressDataRequest, parseCardFilter } from '../../lib/carddav/reports/filter-xml.js';
import type { CardFilter, ParsedCard, PropFilter, TextMatch } from '../../lib/carddav/vcard/types.js';
import { collationMatch, DEFAULT_CARD_COLLATION, DEFAULT_COLLATION } from '../../lib/caldav/ical/collation.js';

const C = 'xmlns:C="urn:ietf:params:xml:ns:carddav"';
const filterOf = (inner: string, attrs = '') => parseCardFilter(parseXml(`<C:filter ${C}${attrs}>${inner}</C:filter>`));
const vcard = (...lines: string[]): ParsedCard =>
  parseCard(Buffer.from(['BEGIN:VCARD', 'VERSION:3.0', 'UID:u1', ...lines, 'END:VCARD', ''].join('\r\n')), { maxResourceSize: 100_000 });
const hit = (card: ParsedCard, inner: string, attrs = '') => matchesFilter(card, filterOf(inner, attrs));

function refused(xml: string, precondition: CardPrecondition, pattern?: RegExp): void {
  assert.throws(() => parseCardFilter(parseXml(xml)), (err: unknown) => err instanceof CardPreconditionError && err.precondition === precondition && (!pattern || pattern.test(err.message)));
}
function malformed(xml: string, pattern: RegExp): void {
  assert.throws(() => parseCardFilter(parseXml(xml)), (err: unknown) => err instanceof DavError && err.status === 400 && pattern.test(err.message));
}

const ADA = vcard(
  'FN:Ada Lovelace', 'N:Lovelace;Ada;;;',
  'EMAIL;TYPE=INTERNET;TYPE=HOME:ada@home.example',
  'item1.EMAIL;TYPE=INTERNET:ada@work.example', 'item1.X-ABLabel:Work',
  'TEL;TYPE=WORK,VOICE:+44 1', 'TEL;TYPE=CELL:+44 2',
  'NOTE:one\\, two\\nthree',
);

describe('CardDAV filters (RFC 6352 §10.5)', () => {
  describe('parseCardFilter: the model', () => {
    it('defaults: test anyof, match-type contains, collation i;unicode-casemap (not CalDAV\'s ascii)', () => {
      assert.deepEqual(filterOf('<C:prop-filter name="fn"><C:text-match>ada</C:text-match></C:prop-filter>'), {
        test: 'anyof',
        propFilters: [{ name: 'FN', test: 'anyof', isNotDefined: false, paramFilters: [], textMatches: [{ text: 'ada', collation: 'i;unicode-casemap', negate: false, matchType: 'contains' }] }],
      });
    });

    it('reads every attribute and nested param-filters', () => {
      const f = filterOf(`<C:prop-filter name="item1.EMAIL" test="allof"><C:text-match collation="i;octet" match-type="ends-with" negate-condition="yes">x</C:text-match>
        <C:param-filter name="type"><C:text-match match-type="equals">work</C:text-match></C:param-filter><C:param-filter name="PREF"><C:is-not-defined/></C:param-filter></C:prop-filter>`, ' test="allof"');
      assert.deepEqual(f, {
        test: 'allof',
        propFilters: [{
          name: 'ITEM1.EMAIL', test: 'allof', isNotDefined: false,
          textMatches: [{ text: 'x', collation: 'i;octet', negate: true, matchType: 'ends-with' }],
          paramFilters: [
            { name: 'TYPE', isNotDefined: false, textMatch: { text: 'work', collation: 'i;unicode-casemap', negate: false, matchType: 'equals' } },
            { name: 'PREF', isNotDefined: true },
          ],
        }],
      });
    });

    it('ignores elements of other namespaces, refuses unknown CARDDAV ones (403 supported-filter)', () => {
      assert.deepEqual(filterOf('<X:any xmlns:X="urn:x"/>'), { test: 'anyof', propFilters: [] });
      refused(`<C:filter ${C}><C:comp-filter name="VCARD"/></C:filter>`, 'supported-filter', /comp-filter/);
      refused(`<C:filter ${C}><C:prop-filter name="BDAY"><C:time-range start="20240101T000000Z"/></C:prop-filter></C:filter>`, 'supported-filter', /time-range/);
    });

    it('refuses an unknown collation (supported-collation) and match-type (supported-filter)', () => {
      refused(`<C:filter ${C}><C:prop-filter name="FN"><C:text-match collation="i;basic">a</C:text-match></C:prop-filter></C:filter>`, 'supported-collation', /i;basic/);
      refused(`<C:filter ${C}><C:prop-filter name="FN"><C:text-match collation="I;OCTET">a</C:text-match></C:prop-filter></C:filter>`, 'supported-collation');
      refused(`<C:filter ${C}><C:prop-filter name="FN"><C:text-match match-type="regex">a</C:text-match></C:prop-filter></C:filter>`, 'supported-filter', /regex/);
    });

    it('refuses a filter larger than the element limit (supported-filter)', () => {
      const many = '<C:prop-filter name="FN"/>'.repeat(11);
      assert.throws(() => parseCardFilter(parseXml(`<C:filter ${C}>${many}</C:filter>`), { maxElements: 10 }), (e: unknown) => e instanceof CardPreconditionError && e.precondition === 'supported-filter');
      assert.equal(parseCardFilter(parseXml(`<C:filter ${C}>${many}</C:filter>`), { maxElements: 11 }).propFilters.length, 11);
    });

    it('answers malformed shapes with 400', () => {
      malformed(`<C:addressbook-query ${C}/>`, /expected CARDDAV:filter/);
      malformed(`<C:filter ${C} test="some"/>`, /anyof or allof/);
      malformed(`<C:filter ${C}><C:prop-filter/></C:filter>`, /name attribute/);
      malformed(`<C:filter ${C}><C:prop-filter name="E MAIL"/></C:filter>`, /not a vCard name/);
      malformed(`<C:filter ${C}><C:prop-filter name="FN" test="none"/></C:filter>`, /anyof or allof/);
      malformed(`<C:filter ${C}><C:prop-filter name="FN"><C:is-not-defined/><C:text-match>a</C:text-match></C:prop-filter></C:filter>`, /stands alone/);
      malformed(`<C:filter ${C}><C:prop-filter name="TEL"><C:param-filter name="TYPE"><C:is-not-defined/><C:text-match>a</C:text-match></C:param-filter></C:prop-filter></C:filter>`, /is-not-defined or one text-match/);
      malformed(`<C:filter ${C}><C:prop-filter name="TEL"><C:param-filter name="a.TYPE"/></C:prop-filter></C:filter>`, /no group/);
      malformed(`<C:filter ${C}><C:prop-filter name="FN"><C:text-match negate-condition="maybe">a</C:text-match></C:prop-filter></C:filter>`, /yes or no/);
      malformed(`<C:filter ${C}><C:prop-filter name="FN"><C:text-match>a<C:b/></C:text-match></C:prop-filter></C:filter>`, /text only/);
    });
  });

  describe('matchesFilter', () => {
    it('an empty filter matches every card, whatever its test', () => {
      assert.equal(hit(ADA, ''), true);
      assert.equal(hit(ADA, '', ' test="allof"'), true);
    });

    it('an empty prop-filter asks for the property; is-not-defined for its absence', () => {
      assert.equal(hit(ADA, '<C:prop-filter name="TEL"/>'), true);
      assert.equal(hit(ADA, '<C:prop-filter name="ORG"/>'), false);
      assert.equal(hit(ADA, '<C:prop-filter name="ORG"><C:is-not-defined/></C:prop-filter>'), true);
      assert.equal(hit(ADA, '<C:prop-filter name="X-ABLABEL"><C:is-not-defined/></C:prop-filter>'), false, 'a grouped property is defined');
    });

    it('filter test: anyof needs one prop-filter, allof every one', () => {
      const two = '<C:prop-filter name="FN"><C:text-match>ada</C:text-match></C:prop-filter><C:prop-filter name="ORG"/>';
      assert.equal(hit(ADA, two), true);
      assert.equal(hit(ADA, two, ' test="allof"'), false);
    });

    it('prop-filter test combines its tests on one instance: no mixing of two EMAILs', () => {
      const both = (test: string) => `<C:prop-filter name="EMAIL" test="${test}"><C:param-filter name="TYPE"><C:text-match match-type="equals">home</C:text-match></C:param-filter><C:text-match>@work</C:text-match></C:prop-filter>`;
      assert.equal(hit(ADA, both('allof')), false, 'the HOME address is not @work and the @work one is not HOME');
      assert.equal(hit(ADA, both('anyof')), true);
      assert.equal(hit(ADA, '<C:prop-filter name="EMAIL" test="allof"><C:text-match>ada@</C:text-match><C:text-match>work</C:text-match></C:prop-filter>'), true);
    });

    it('a grouped property answers to its bare name; a group-qualified name to that group only', () => {
      assert.equal(hit(ADA, '<C:prop-filter name="EMAIL"><C:text-match match-type="equals">ada@work.example</C:text-match></C:prop-filter>'), true);
      assert.equal(hit(ADA, '<C:prop-filter name="ITEM1.EMAIL"><C:text-match>home</C:text-match></C:prop-filter>'), false);
      assert.equal(hit(ADA, '<C:prop-filter name="item1.email"><C:text-match>work</C:text-match></C:prop-filter>'), true);
      assert.equal(hit(ADA, '<C:prop-filter name="item2.EMAIL"/>'), false);
    });

    it('negate-condition inverts per instance, and never matches a missing property', () => {
      const neg = (prop: string, text: string) => hit(ADA, `<C:prop-filter name="${prop}"><C:text-match negate-condition="yes">${text}</C:text-match></C:prop-filter>`);
      assert.equal(neg('FN', 'ada'), false);
      assert.equal(neg('FN', 'grace'), true);
      assert.equal(neg('EMAIL', 'home'), true, 'the work address does not contain home');
      assert.equal(neg('EMAIL', 'ada'), false, 'every address contains ada');
      assert.equal(neg('ORG', 'x'), false);
    });

    it('text-match compares the unescaped whole value, structured ones with their ";"', () => {
      const tm = (prop: string, text: string, type = 'contains') => hit(ADA, `<C:prop-filter name="${prop}"><C:text-match match-type="${type}">${text}</C:text-match></C:prop-filter>`);
      assert.equal(tm('NOTE', 'one, two\nthree', 'equals'), true);
      assert.equal(tm('NOTE', 'one\\,', 'contains'), false);
      assert.equal(tm('N', 'Lovelace;Ada;;;', 'equals'), true);
      assert.equal(tm('N', 'lovelace;ada', 'starts-with'), true);
      assert.equal(tm('N', 'Lovelace', 'equals'), false);
    });

    it('param-filter: defined, is-not-defined and text-match on the instance examined, over every value', () => {
      const pf = (prop: string, inner: string) => hit(ADA, `<C:prop-filter name="${prop}"><C:param-filter name="TYPE">${inner}</C:param-filter></C:prop-filter>`);
      assert.equal(pf('TEL', ''), true);
      assert.equal(pf('X-ABLABEL', ''), false);
      assert.equal(pf('X-ABLABEL', '<C:is-not-defined/>'), true);
      assert.equal(pf('TEL', '<C:is-not-defined/>'), false);
      assert.equal(pf('TEL', '<C:text-match match-type="equals">voice</C:text-match>'), true, 'TYPE=WORK,VOICE is a list');
      assert.equal(pf('EMAIL', '<C:text-match match-type="equals">home</C:text-match>'), true, 'TYPE=INTERNET;TYPE=HOME repeats the parameter');
      assert.equal(pf('TEL', '<C:text-match negate-condition="yes">cell</C:text-match>'), true, 'the WORK,VOICE number');
      assert.equal(pf('EMAIL', '<C:text-match negate-condition="yes">internet</C:text-match>'), false, 'both addresses are INTERNET');
    });

    it('splits a quoted TYPE list (RFC 6350 §5.6 example), but no other parameter', () => {
      const card = parseCard(Buffer.from('BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u\r\nFN:x\r\nTEL;VALUE=uri;TYPE="voice,home";X-NOTE="a,b":tel:+1\r\nEND:VCARD\r\n'), { maxResourceSize: 1000 });
      const pf = (name: string, text: string) => hit(card, `<C:prop-filter name="TEL"><C:param-filter name="${name}"><C:text-match match-type="equals">${text}</C:text-match></C:param-filter></C:prop-filter>`);
      assert.equal(pf('TYPE', 'home'), true);
      assert.equal(pf('X-NOTE', 'a'), false);
      assert.equal(pf('X-NOTE', 'a,b'), true);
    });

    it('collations: unicode-casemap folds beyond ASCII, ascii-casemap only A–Z, octet nothing', () => {
      const card = vcard('FN:ZOË Łukasz');
      const tm = (text: string, collation: string) => hit(card, `<C:prop-filter name="FN"><C:text-match collation="${collation}">${text}</C:text-match></C:prop-filter>`);
      assert.equal(tm('zoë łukasz', 'i;unicode-casemap'), true);
      assert.equal(tm('zoë łukasz', 'i;ascii-casemap'), false);
      assert.equal(tm('zoË Łukasz', 'i;ascii-casemap'), true);
      assert.equal(tm('zoË Łukasz', 'i;octet'), false);
      assert.equal(tm('ZOË Łukasz', 'i;octet'), true);
    });

    it('a filter changed between calls is judged as it is now (compiled forms are kept only for frozen filters)', () => {
      const tm: { -readonly [K in keyof TextMatch]: TextMatch[K] } = { text: 'ada', collation: 'i;unicode-casemap', negate: false, matchType: 'contains' };
      const pf: { -readonly [K in keyof PropFilter]: PropFilter[K] } = { name: 'FN', test: 'anyof', isNotDefined: false, textMatches: [tm], paramFilters: [] };
      const f: CardFilter = { test: 'anyof', propFilters: [pf] };
      assert.equal(matchesFilter(ADA, f), true);
      tm.negate = true;
      assert.equal(matchesFilter(ADA, f), false);
      pf.textMatches = [{ ...tm, text: 'grace', negate: false }];
      assert.equal(matchesFilter(ADA, f), false);
      pf.isNotDefined = true;
      assert.equal(matchesFilter(ADA, f), false);
      pf.name = 'X-NONE';
      assert.equal(matchesFilter(ADA, f), true);
    });

    it('parseCardFilter\'s model is frozen all the way down', () => {
      const f = filterOf('<C:prop-filter name="EMAIL"><C:text-match>ada</C:text-match><C:param-filter name="TYPE"><C:text-match>home</C:text-match></C:param-filter></C:prop-filter>');
      const pf = f.propFilters[0]!;
      for (const part of [f, f.propFilters, pf, pf.textMatches, pf.textMatches[0], pf.paramFilters, pf.paramFilters[0], pf.paramFilters[0]!.textMatch]) assert.ok(Object.isFrozen(part));
      assert.throws(() => ((pf.textMatches[0] as { negate: boolean }).negate = true), TypeError);
      assert.equal(matchesFilter(ADA, f), true);
    });
  });

  describe('collationMatch: match-types over canonical forms', () => {
    it('CardDAV defaults to i;unicode-casemap, CalDAV keeps i;ascii-casemap', () => {
      assert.equal(DEFAULT_CARD_COLLATION, 'i;unicode-casemap');
      assert.equal(DEFAULT_COLLATION, 'i;ascii-casemap');
    });
    it('compares NFKD forms: "zoe" starts "Zoë" but neither equals nor ends it', () => {
      assert.equal(collationMatch('Zoë', 'zoe', 'i;unicode-casemap', 'starts-with'), true);
      assert.equal(collationMatch('Zoë', 'zoe', 'i;unicode-casemap', 'equals'), false);
      assert.equal(collationMatch('Zoë', 'zoe', 'i;unicode-casemap', 'ends-with'), false);
      assert.equal(collationMatch('Zoë', 'ZOË', 'i;unicode-casemap', 'equals'), true);
    });
    it('each match-type anchors where it says', () => {
      assert.deepEqual((['equals', 'contains', 'starts-with', 'ends-with'] as const).map((m) => collationMatch('Ada Lovelace', 'ada', 'i;ascii-casemap', m)), [false, true, true, false]);
      assert.deepEqual((['equals', 'contains', 'starts-with', 'ends-with'] as const).map((m) => collationMatch('Ada Lovelace', 'LACE', 'i;ascii-casemap', m)), [false, true, false, true]);
      assert.deepEqual((['equals', 'contains', 'starts-with', 'ends-with'] as const).map((m) => collationMatch('Ada', 'ada', 'i;octet', m)), [false, false, false, false]);
    });
  });

  describe('parseAddressDataRequest (RFC 6352 §10.4)', () => {
    const ad = (attrs: string, inner = '') => parseAddressDataRequest(parseXml(`<C:address-data ${C}${attrs}>${inner}</C:address-data>`));
    const refusedData = (attrs: string, pattern: RegExp) =>
      assert.throws(() => ad(attrs), (e: unknown) => e instanceof CardPreconditionError && e.precondition === 'supported-address-data' && pattern.test(e.message));

    it('absent or empty: the card as stored', () => {
      assert.deepEqual(parseAddressDataRequest(undefined), {});
      assert.deepEqual(ad(''), {});
      assert.deepEqual(ad(' content-type="text/vcard"', '<C:allprop/>'), {});
    });

    it('reads the version and the properties asked for, with novalue', () => {
      assert.deepEqual(ad(' content-type="text/vcard" version="4.0"', '<C:prop name="uid"/><C:prop name="EMAIL" novalue="yes"/><X:y xmlns:X="urn:x"/>'), {
        version: '4.0',
        props: [{ name: 'UID', noValue: false }, { name: 'EMAIL', noValue: true }],
      });
      assert.deepEqual(ad(' version="3.0"'), { version: '3.0' });
    });

    it('accepts vdirsyncer\'s Content-Type attribute and a charset parameter', () => {
      assert.deepEqual(ad(' Content-Type="text/vcard" version="4.0"'), { version: '4.0' });
      assert.deepEqual(ad(' content-type="text/vcard; charset=utf-8"'), {});
      assert.deepEqual(ad(' content-type="TEXT/VCARD"'), {});
    });

    it('refuses other media types and versions (403 supported-address-data)', () => {
      refusedData(' content-type="application/vcard+json"', /vcard\+json/);
      refusedData(' content-type="text/x-vcard"', /text\/x-vcard/);
      refusedData(' version="2.1"', /2\.1/);
    });

    it('answers malformed shapes with 400', () => {
      assert.throws(() => ad('', '<C:prop/>'), (e: unknown) => e instanceof DavError && e.status === 400);
      assert.throws(() => ad('', '<C:prop name="FN" novalue="perhaps"/>'), (e: unknown) => e instanceof DavError && e.status === 400);
      assert.throws(() => ad('', '<C:allprop/><C:prop name="FN"/>'), (e: unknown) => e instanceof DavError && e.status === 400);
      assert.throws(() => ad('', '<C:comp name="VCARD"/>'), (e: unknown) => e instanceof DavError && e.status === 400 && /not comp/.test(e.message));
    });
  });
});

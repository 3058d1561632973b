/**
 * The cost of an addressbook-query filter is bounded in steps (caldav/ical/budget.ts), not time: each
 * value is folded once per card whatever the number of text-matches, a hostile filter over a big
 * non-ASCII card runs out of the request's budget (StepBudgetExceeded, answered 507) after bounded
 * work, and ordinary queries over a large address book stay far inside it.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseXml } from '../../lib/dav/xml/parse.js';
import { DEFAULT_MAX_CALENDAR_STEPS, StepBudget, StepBudgetExceeded, withBudget } from '../../lib/caldav/ical/budget.js';
import { foldText } from '../../lib/caldav/ical/collation.js';
import { parseCard } from '../../lib/carddav/vcard/parse.js';
import { FOLD_CHARS_PER_STEP, matchesFilter, SCAN_CHARS_PER_STEP } from '../../lib/carddav/vcard/filter.js';
import { parseCardFilter } from '../../lib/carddav/reports/filter-xml.js';
import type { CardFilter, ParsedCard } from '../../lib/carddav/vcard/types.js';
import { loadContactFixtures, loadContactQueries } from '../helpers/contact-fixtures.js';

const C = 'xmlns:C="urn:ietf:params:xml:ns:carddav"';

function cardWithNote(note: string): ParsedCard {
  const text = `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:big\r\nFN:Zoë Ærø\r\nNOTE:${note}\r\nEND:VCARD\r\n`;
  return parseCard(Buffer.from(text, 'utf8'), { maxResourceSize: 11 * 1024 * 1024 });
}

/** One NOTE prop-filter with `n` distinct text-matches that match nothing. */
function noteFilter(n: number, collation = 'i;unicode-casemap'): CardFilter {
  const tms = Array.from({ length: n }, (_, i) => `<C:text-match collation="${collation}">nomatch${i}</C:text-match>`).join('');
  return parseCardFilter(parseXml(`<C:filter ${C}><C:prop-filter name="NOTE">${tms}</C:prop-filter></C:filter>`), { maxElements: 10_000 });
}

/** Steps `matchesFilter` spends on `card` (under a budget too large to run out). */
function stepsOf(card: ParsedCard, filter: CardFilter): number {
  const budget = new StepBudget(Number.MAX_SAFE_INTEGER);
  assert.equal(withBudget(budget, () => matchesFilter(card, filter)), false);
  return budget.spent;
}

/** RFC 5051 as first written: character by character (the reference the fast fold must equal). */
function referenceCasemap(s: string): string {
  let out = '';
  for (const ch of s.normalize('NFKD')) {
    const upper = ch.toUpperCase();
    out += [...upper].length === 1 ? upper : ch;
  }
  return out.normalize('NFKD');
}

describe('CardDAV filter cost: bounded by the step budget', () => {
  describe('the i;unicode-casemap fold (whole runs uppercased natively)', () => {
    it('equals the character-by-character fold on every code point', () => {
      const differ: string[] = [];
      for (let cp = 0; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        const ch = String.fromCodePoint(cp);
        if (foldText(ch, 'i;unicode-casemap') !== referenceCasemap(ch)) differ.push(cp.toString(16));
      }
      assert.deepEqual(differ, []);
    });

    it('equals it on any string, and across its 64K-unit slices (surrogate pairs, expanding characters)', () => {
      fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (s) => foldText(s, 'i;unicode-casemap') === referenceCasemap(s)), { numRuns: 20_000 });
      for (const shift of [0, 1, 2, 3]) {
        const long = 'x'.repeat(shift) + 'a𐐨ßﬀ'.repeat(40_000) + '𐐨'.repeat(40_000);
        assert.equal(foldText(long, 'i;unicode-casemap'), referenceCasemap(long), `shift ${shift}`);
      }
    });
  });

  describe('a filter of many text-matches over a big non-ASCII value', () => {
    const note = 'Zoë Ærø '.repeat(12_000); // 96,000 characters, the reviewer's card
    const card = cardWithNote(note);
    const foldSteps = 1 + Math.floor(note.length / FOLD_CHARS_PER_STEP);

    it('folds the value once: each further text-match costs one scan, not another fold', () => {
      const [s1, s100, s200] = [1, 100, 200].map((n) => stepsOf(card, noteFilter(n))) as [number, number, number];
      const perTextMatch = (s200 - s100) / 100;
      assert.equal(s100 - s1, 99 * perTextMatch, 'linear in the number of text-matches');
      assert.ok(perTextMatch <= 2 + (2 * note.length) / SCAN_CHARS_PER_STEP, `one scan per text-match (${perTextMatch} steps)`);
      assert.ok(perTextMatch < foldSteps, `a text-match (${perTextMatch} steps) costs less than a fold (${foldSteps})`);
      assert.ok(s1 - perTextMatch >= foldSteps, 'the fold is charged, once');
    });

    it('is charged in proportion to (value length × text-matches), for every collation', () => {
      for (const collation of ['i;unicode-casemap', 'i;ascii-casemap', 'i;octet']) {
        const steps = stepsOf(card, noteFilter(400, collation));
        assert.ok(steps >= 400 * Math.floor(note.length / SCAN_CHARS_PER_STEP), `${collation}: ${steps} steps`);
      }
    });

    it('charges identical text-matches once', () => {
      const one = noteFilter(1);
      const tm = `<C:text-match>nomatch0</C:text-match>`;
      const same = parseCardFilter(parseXml(`<C:filter ${C}><C:prop-filter name="NOTE">${tm.repeat(300)}</C:prop-filter></C:filter>`));
      assert.equal(stepsOf(card, same), stepsOf(card, one));
    });
  });

  it('a hostile query over a 10 MB non-ASCII card runs out of the default budget instead of running on', () => {
    const card = cardWithNote('Zoë Ærø '.repeat(900_000)); // ~9.9 MB of UTF-8
    const budget = new StepBudget(DEFAULT_MAX_CALENDAR_STEPS);
    assert.throws(() => withBudget(budget, () => matchesFilter(card, noteFilter(498))), StepBudgetExceeded);
    // It stopped at the budget: the last charge (one scan of the value) is the only overshoot.
    assert.ok(budget.spent <= DEFAULT_MAX_CALENDAR_STEPS + 2 + 7_200_000 / SCAN_CHARS_PER_STEP, `${budget.spent} steps`);
  });

  it('one text-match over that card fits the budget (a big card alone is not refused)', () => {
    const card = cardWithNote('Zoë Ærø '.repeat(900_000));
    const budget = new StepBudget(DEFAULT_MAX_CALENDAR_STEPS);
    assert.equal(withBudget(budget, () => matchesFilter(card, noteFilter(1))), false);
    assert.ok(budget.spent < DEFAULT_MAX_CALENDAR_STEPS / 2, `${budget.spent} steps`);
  });

  it('every queries.json query over 10,000 cards like the fixtures stays within the default budget', () => {
    const cards = loadContactFixtures().map((f) => parseCard(f.bytes, { maxResourceSize: 10_000_000 }));
    let worst = { name: '', perCard: 0 };
    for (const q of loadContactQueries()) {
      if (q.error) continue;
      const filter = parseCardFilter(parseXml(q.filter));
      const budget = new StepBudget(Number.MAX_SAFE_INTEGER);
      withBudget(budget, () => cards.forEach((card) => matchesFilter(card, filter)));
      const perCard = budget.spent / cards.length;
      if (perCard > worst.perCard) worst = { name: q.name, perCard };
    }
    assert.ok(worst.perCard >= 1, 'queries are charged');
    assert.ok(worst.perCard * 10_000 < DEFAULT_MAX_CALENDAR_STEPS / 4, `${worst.name}: ${worst.perCard} steps a card`);
  });

  it('charges nothing outside a budget (unit callers, tools)', () => {
    assert.equal(matchesFilter(cardWithNote('x'), noteFilter(3)), false);
  });
});

import assert from 'node:assert/strict';
import { parseXml } from '../../lib/dav/xml/parse.js';
import { parseCard } from '../../lib/carddav/vcard/parse.js';
import { matchesFilter } from '../../lib/carddav/vcard/filter.js';
import { CardPreconditionError } from '../../lib/carddav/vcard/errors.js';
import { parseCardFilter } from '../../lib/carddav/reports/filter-xml.js';
import type { ParsedCard } from '../../lib/carddav/vcard/types.js';
import { loadContactFixtures, loadContactQueries } from '../helpers/contact-fixtures.js';

const fixtures = loadContactFixtures();
const queries = loadContactQueries();
const cards = new Map<string, ParsedCard>(fixtures.map((f) => [f.name, parseCard(f.bytes, { maxResourceSize: 10_000_000 })]));

/** The fixtures' answer to one query: matching names, sorted, or the precondition it is refused with. */
function answer(filterXml: string): { names: string[]; error?: string } {
  try {
    const filter = parseCardFilter(parseXml(filterXml));
    return { names: [...cards].filter(([, card]) => matchesFilter(card, filter)).map(([name]) => name).sort() };
  } catch (err) {
    if (err instanceof CardPreconditionError) return { names: [], error: err.precondition };
    throw err;
  }
}

describe('CardDAV fixtures: contacts shaped like real clients and their queries', () => {
  describe('the cards', () => {
    it('come from the six sources, 4 to 8 cards each', () => {
      const bySource = new Map<string, number>();
      for (const f of fixtures) bySource.set(f.source, (bySource.get(f.source) ?? 0) + 1);
      assert.deepEqual([...bySource.keys()].sort(), ['apple', 'davx5', 'evolution', 'google', 'outlook', 'thunderbird']);
      for (const [source, n] of bySource) assert.ok(n >= 4 && n <= 8, `${source}: ${n} cards`);
    });

    it('each parse as one card with VERSION, UID and FN, CRLF line ends, UIDs unique across sources', () => {
      const uids = new Set<string>();
      for (const f of fixtures) {
        const card = cards.get(f.name)!;
        assert.ok(card.uid && card.fn, f.name);
        assert.ok(!uids.has(card.uid), `${f.name}: UID ${card.uid} used twice`);
        uids.add(card.uid);
        assert.ok(!/[^\r]\n/.test(f.bytes.toString('utf8')), `${f.name}: a bare LF`);
      }
    });

    it('have the shapes the queries rely on: both versions, groups of three kinds, grouped properties, cards without EMAIL or N', () => {
      const all = [...cards.values()];
      assert.ok(all.some((c) => c.version === '4.0') && all.some((c) => c.version === '3.0'));
      assert.deepEqual(all.filter((c) => c.kind === 'group').length, 3, 'KIND:group and X-ADDRESSBOOKSERVER-KIND:group cards');
      assert.ok(all.some((c) => c.properties.some((p) => p.group === 'item1' && p.name === 'EMAIL')));
      assert.ok(all.some((c) => c.version === '4.0' && c.kind !== 'group' && !c.properties.some((p) => p.name === 'N')));
      assert.ok(all.some((c) => !c.properties.some((p) => p.name === 'EMAIL')));
    });
  });

  describe('queries.json', () => {
    it('holds at least 40 queries, named uniquely, expecting sorted existing fixtures', () => {
      assert.ok(queries.length >= 40, `${queries.length} queries`);
      assert.equal(new Set(queries.map((q) => q.name)).size, queries.length);
      for (const q of queries) {
        assert.deepEqual([...q.expect], [...q.expect].sort(), `${q.name}: expect is not sorted`);
        for (const name of q.expect) assert.ok(cards.has(name), `${q.name}: no fixture ${name}`);
        if (q.error) assert.deepEqual(q.expect, [], `${q.name}: an error expects no cards`);
        if (q.limit !== undefined) assert.ok(Number.isInteger(q.limit) && q.limit > 0, q.name);
      }
    });

    it('covers every match-type under every collation, negation, is-not-defined on properties and parameters, and both errors', () => {
      const seen = new Set<string>();
      for (const q of queries) {
        for (const m of q.filter.matchAll(/<C:text-match([^>]*)>/g)) {
          const type = /match-type="([^"]+)"/.exec(m[1]!)?.[1] ?? 'contains';
          const collation = /collation="([^"]+)"/.exec(m[1]!)?.[1] ?? 'i;unicode-casemap';
          seen.add(`${type} ${collation}`);
          if (m[1]!.includes('negate-condition="yes"')) seen.add('negate');
        }
        if (/<C:prop-filter[^>]*><C:is-not-defined\/>/.test(q.filter)) seen.add('prop is-not-defined');
        if (/<C:param-filter[^>]*><C:is-not-defined\/>/.test(q.filter)) seen.add('param is-not-defined');
        if (q.error) seen.add(q.error);
        if (q.limit !== undefined) seen.add(q.expect.length > q.limit ? 'truncated' : 'within limit');
      }
      for (const type of ['equals', 'contains', 'starts-with', 'ends-with']) {
        for (const collation of ['i;unicode-casemap', 'i;ascii-casemap', 'i;octet']) assert.ok(seen.has(`${type} ${collation}`), `${type} ${collation}`);
      }
      for (const what of ['negate', 'prop is-not-defined', 'param is-not-defined', 'supported-filter', 'supported-collation', 'truncated', 'within limit']) assert.ok(seen.has(what), what);
    });

    for (const q of queries) {
      it(q.name, () => {
        const got = answer(q.filter);
        assert.equal(got.error, q.error);
        assert.deepEqual(got.names, q.expect);
      });
    }
  });
});

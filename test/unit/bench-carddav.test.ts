/**
 * The CardDAV bench's pure parts: the generated contacts (valid vCards by gitdav's own parser,
 * folded at 75 octets without splitting UTF-8, the same bytes every run, the query answers the
 * generator claims) and issue 15's verdicts (bench/carddav-targets.ts). No server is started.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { editedCard, expectedHits, fold, generateContacts } from '../../bench/carddav-data.js';
import { cardVerdicts, renderCardVerdicts, type CardFigures } from '../../bench/carddav-targets.js';
import { parseCard } from '../../lib/carddav/vcard/parse.js';

const cards = generateContacts(2000);

describe('bench CardDAV contacts', () => {
  it('are valid vCards by the server parser, with unique UIDs and names, 3.0 and 4.0', () => {
    const uids = new Set<string>();
    for (const c of cards) {
      const parsed = parseCard(Buffer.from(c.vcf), { maxResourceSize: 1 << 20 });
      assert.equal(parsed.fn, c.fn);
      assert.ok(parsed.uid.endsWith(c.uid), `${c.name}: UID ${parsed.uid}`);
      uids.add(c.uid);
    }
    assert.equal(uids.size, cards.length);
    assert.equal(new Set(cards.map((c) => c.name)).size, cards.length);
    assert.ok(cards.some((c) => c.vcf.includes('VERSION:4.0')) && cards.some((c) => c.vcf.includes('VERSION:3.0')));
  });

  it('are the same bytes every run, and realistically sized', () => {
    assert.deepEqual(generateContacts(50), cards.slice(0, 50));
    const sizes = cards.map((c) => Buffer.byteLength(c.vcf)).sort((a, b) => a - b);
    assert.ok(sizes[0]! >= 250 && sizes[sizes.length - 1]! <= 900, `${sizes[0]}–${sizes[sizes.length - 1]}`);
    assert.ok(sizes[sizes.length >> 1]! >= 400, `median ${sizes[sizes.length >> 1]}`);
  });

  it('every line is CRLF-terminated and at most 75 octets', () => {
    for (const c of cards) {
      assert.ok(c.vcf.endsWith('END:VCARD\r\n') && !/[^\r]\n/.test(c.vcf));
      for (const line of c.vcf.split('\r\n')) assert.ok(Buffer.byteLength(line) <= 75, `${c.name}: ${line}`);
    }
  });

  it('fold: unfolding gives the line back, no piece over 75 octets, no UTF-8 sequence split', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), (s) => {
        const folded = fold(s);
        assert.equal(folded.replace(/\r\n /g, ''), s);
        for (const piece of folded.split('\r\n')) {
          assert.ok(Buffer.byteLength(piece) <= 75);
          assert.equal(Buffer.from(piece).toString('utf8'), piece); // would hold U+FFFD if a sequence were split
        }
      }),
    );
  });

  it('the name query finds Müller and Müllerová (casemap folds Ü) but not Mueller; the e-mail query one domain', () => {
    const byName = expectedHits(cards, 'name');
    const fnOf = new Map(cards.map((c) => [c.name, c.fn]));
    assert.ok(byName.size > 20 && byName.size < cards.length / 10, `${byName.size} hits`);
    assert.ok([...byName].some((x) => fnOf.get(x)!.endsWith('Müllerová')));
    assert.ok([...byName].every((x) => /müller/i.test(fnOf.get(x)!)));
    assert.ok(cards.some((c) => c.fn.endsWith('Mueller') && !byName.has(c.name)));
    const byEmail = expectedHits(cards, 'email');
    assert.ok(byEmail.size > 20 && byEmail.size < cards.length / 10);
    for (const c of cards) assert.equal(byEmail.has(c.name), c.emails.some((e) => e.endsWith('@nordwind.example')));
  });

  it('an edited card is another valid card with the same UID', () => {
    const e = editedCard(cards[7]!, 3);
    assert.notEqual(e, cards[7]!.vcf);
    assert.equal(parseCard(Buffer.from(e), { maxResourceSize: 1 << 20 }).uid, parseCard(Buffer.from(cards[7]!.vcf), { maxResourceSize: 1 << 20 }).uid);
  });
});

describe('bench CardDAV targets (issue 15)', () => {
  const verdict = (f: CardFigures, text: RegExp, who: 'git' | 'fs' = 'git') => {
    const v = cardVerdicts(f, 10_000, 1000).find((x) => x.who === who && text.test(x.text));
    assert.ok(v, `no verdict ${text}`);
    return v;
  };

  it('upload: ≥ 5× the faster (higher-rate) peer; exactly 5× passes', () => {
    assert.equal(verdict({ upload: { git: 100, xandikos: 10, radicale: 20 } }, /upload/).verdict, 'PASS');
    assert.equal(verdict({ upload: { git: 99, xandikos: 10, radicale: 20 } }, /upload/).verdict, 'FAIL');
    assert.match(verdict({ upload: { git: 99, xandikos: 10, radicale: 20 } }, /upload/).detail, /Radicale 20\.0 cards\/s \(the faster peer\)/);
  });

  it('query: times are B ÷ A against the lower peer time; a peer that failed leaves the other', () => {
    assert.equal(verdict({ queryName: { fs: 10, xandikos: 1000, radicale: 49 } }, /by name/, 'fs').verdict, 'FAIL');
    assert.equal(verdict({ queryName: { fs: 10, xandikos: 1000, radicale: 50 } }, /by name/, 'fs').verdict, 'PASS');
    const only = verdict({ queryEmail: { git: 10, radicale: 100 } }, /e-mail/);
    assert.equal(only.verdict, 'PASS');
    assert.match(only.detail, /the only peer measured/);
  });

  it('n/a when gitdav or both peers were not measured, never PASS or FAIL', () => {
    assert.equal(verdict({ queryName: { xandikos: 10, radicale: 20 } }, /by name/).verdict, 'n/a');
    assert.equal(verdict({ queryName: { git: 10 } }, /by name/).verdict, 'n/a');
    assert.equal(verdict({}, /upload/).verdict, 'n/a');
    assert.equal(verdict({ syncBig: { git: 5 } }, /sync/).verdict, 'n/a');
  });

  it('sync on git: independent of size within 1.5×, or 1 ms apart', () => {
    assert.equal(verdict({ syncBig: { git: 15 }, syncSmall: { git: 10 } }, /sync/).verdict, 'PASS');
    assert.equal(verdict({ syncBig: { git: 16 }, syncSmall: { git: 10 } }, /sync/).verdict, 'FAIL');
    assert.equal(verdict({ syncBig: { git: 1.9 }, syncSmall: { git: 1 } }, /sync/).verdict, 'PASS');
    assert.equal(verdict({ syncBig: { git: 40 }, syncSmall: { git: 2 } }, /sync/).verdict, 'FAIL');
  });

  it('renders one line per target and the counts', () => {
    const lines = renderCardVerdicts(cardVerdicts({ upload: { git: 100, radicale: 10 } }, 10_000, 1000));
    assert.equal(lines.filter((l) => l.startsWith('- ')).length, 7);
    assert.match(lines[lines.length - 1]!, /1 PASS, 0 FAIL, 6 n\/a \(of 7\)/);
  });
});

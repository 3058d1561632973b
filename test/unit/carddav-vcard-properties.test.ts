/** Property tests (fast-check) for the vCard reader and writer: no input escapes as anything but a precondition, folding never changes a card, address-data and conversion keep what they must. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { addressData, CardPreconditionError, parseCard, type ParsedCard } from '../../lib/carddav/vcard/index.js';
import { escapeText, foldLine, head } from '../../lib/carddav/vcard/write.js';

const LIMIT = { maxResourceSize: 1_000_000 };
const SEED = { seed: 6352 };

/** Characters a real card's text holds, including the ones that need escaping, multi-byte and astral ones. */
const textChar = fc.constantFrom('a', 'Z', '0', ' ', '-', '.', '@', ',', ';', ':', '\\', '\n', '"', '=', 'é', 'ß', 'Ω', 'ツ', '€', '𝄞', '👍🏽');
const text = fc.array(textChar, { maxLength: 40 }).map((a) => a.join(''));
const paramChar = fc.constantFrom('a', 'B', '1', '-', ' ', ':', ';', ',', 'é', 'ツ', '/', '=');
const paramValue = fc.array(paramChar, { maxLength: 10 }).map((a) => a.join(''));
const param = fc.record({ name: fc.constantFrom('TYPE', 'X-LABEL', 'LANGUAGE', 'X-A_B'), values: fc.array(paramValue, { minLength: 1, maxLength: 3 }) });
const prop = fc.record({
  group: fc.option(fc.constantFrom('item1', 'item2', 'g-3'), { nil: undefined }),
  name: fc.constantFrom('NOTE', 'EMAIL', 'TEL', 'X-FOO', 'ORG', 'TITLE', 'CATEGORIES', 'URL', 'X-ABLABEL'),
  params: fc.array(param, { maxLength: 3 }),
  value: text,
});
const card = fc.record({
  version: fc.constantFrom('3.0', '4.0'),
  uid: fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/),
  fn: text,
  props: fc.array(prop, { maxLength: 12 }),
});
type GenCard = typeof card extends fc.Arbitrary<infer T> ? T : never;

/** Logical lines, unfolded. */
function lines(c: GenCard): string[] {
  return ['BEGIN:VCARD', `VERSION:${c.version}`, `UID:${c.uid}`, `FN:${escapeText(c.fn)}`, ...c.props.map((p) => head(p.group, p.name, p.params) + escapeText(p.value)), 'END:VCARD'];
}
const bytes = (ls: string[], eol = '\r\n') => Buffer.from(ls.map((l) => l + eol).join(''), 'utf8');

/** `line` with a fold (CRLF or LF, then space or tab) at each of the given octet offsets (inside the line). */
function foldAt(line: string, cuts: number[], eol: string, ws: string): Buffer {
  const b = Buffer.from(line, 'utf8');
  const at = [...new Set(cuts.map((c) => 1 + (c % Math.max(1, b.length - 1))))].filter((c) => c < b.length).sort((x, y) => x - y);
  const parts: Buffer[] = [];
  let from = 0;
  for (const c of at) {
    parts.push(b.subarray(from, c), Buffer.from(eol + ws));
    from = c;
  }
  parts.push(b.subarray(from), Buffer.from(eol));
  return Buffer.concat(parts);
}

function onlyPreconditions(input: Buffer): void {
  try {
    parseCard(input, LIMIT);
  } catch (err) {
    if (!(err instanceof CardPreconditionError)) throw err;
  }
}

describe('CardDAV vCard: properties (fast-check)', () => {
  it('random bytes never throw anything but CardPreconditionError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => onlyPreconditions(Buffer.from(b))), { ...SEED, numRuns: 2000 });
  });

  it('card-shaped noise (fragments of real lines, quotes, folds, bad bytes) never throws anything but CardPreconditionError', () => {
    const fragment = fc.constantFrom('BEGIN:VCARD', 'END:VCARD', 'VERSION:3.0', 'VERSION:4.0', 'VERSION:2.1', 'UID:x', 'FN:y', 'item1.', 'EMAIL', ';', ':', '=', '"', ',', '\\', '\r\n', '\n', '\r\n ', '\n\t', ' ', 'é', '\u0000', 'BEGIN:VCALENDAR', 'KIND:group', 'KIND:org');
    const noise = fc.array(fc.oneof(fragment.map((f) => Buffer.from(f, 'utf8')), fc.constantFrom(Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xef, 0xbb, 0xbf]))), { maxLength: 60 });
    fc.assert(fc.property(noise, (parts) => onlyPreconditions(Buffer.concat(parts))), { ...SEED, numRuns: 3000 });
  });

  it('a valid card folded at arbitrary octets (even inside a UTF-8 character) parses to the same ParsedCard', () => {
    const cuts = fc.array(fc.array(fc.nat(), { maxLength: 4 }), { minLength: 20, maxLength: 20 });
    fc.assert(
      fc.property(card, cuts, fc.constantFrom('\r\n', '\n'), fc.constantFrom(' ', '\t'), (c, cut, eol, ws) => {
        const ls = lines(c);
        const want = parseCard(bytes(ls), LIMIT);
        const folded = Buffer.concat(ls.map((l, i) => foldAt(l, cut[i % cut.length], eol, ws)));
        assert.deepEqual(parseCard(folded, LIMIT), want);
        assert.equal(want.fn, c.fn);
        assert.deepEqual(want.properties.slice(3).map((p) => p.value), c.props.map((p) => p.value));
      }),
      { ...SEED, numRuns: 500 },
    );
  });

  it('address-data asking for every property gives back the card\'s properties', () => {
    fc.assert(
      fc.property(card, (c) => {
        const text = bytes(lines(c)).toString('utf8');
        const parsed = parseCard(Buffer.from(text), LIMIT);
        const names = [...new Set(parsed.properties.map((p) => p.name))].map((name) => ({ name, noValue: false }));
        const out = addressData(text, parsed, { props: names });
        assert.deepEqual(parseCard(Buffer.from(out), LIMIT), parsed);
        for (const physical of out.split('\r\n')) assert.ok(Buffer.byteLength(physical) <= 75, physical);
      }),
      { ...SEED, numRuns: 500 },
    );
  });

  it('foldLine: physical lines ≤ 75 octets, each valid UTF-8, unfolding gives the line back', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    fc.assert(
      fc.property(fc.array(textChar, { maxLength: 300 }), (chars) => {
        const line = `NOTE:${chars.join('').replace(/\n/g, ' ')}`;
        const folded = foldLine(line);
        for (const physical of folded.split('\r\n')) {
          const b = Buffer.from(physical, 'utf8');
          assert.ok(b.length <= 75);
          assert.equal(strict.decode(b), physical);
        }
        assert.equal(folded.replace(/\r\n /g, ''), line);
      }),
      { ...SEED, numRuns: 1000 },
    );
  });

  describe('version conversion keeps the mapped properties', () => {
    const b64 = fc.uint8Array({ minLength: 1, maxLength: 200 }).map((a) => Buffer.from(a).toString('base64'));
    const mmdd = fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 })).map(([m, d]) => `${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`);
    const uuid = fc.uuid();

    /** The properties whose meaning both versions can say, in a version-free form. */
    function meaning(c: ParsedCard): string[] {
      const out: string[] = [];
      for (const p of c.properties) {
        const types = p.params.filter((x) => x.name === 'TYPE').flatMap((x) => x.values.map((v) => v.toUpperCase()));
        const pref = types.includes('PREF') || p.params.some((x) => x.name === 'PREF' && x.values[0] === '1');
        const typeList = types.filter((t) => t !== 'PREF').sort().join(',');
        if (p.name === 'PHOTO') out.push(`PHOTO ${p.value.replace(/^data:image\/jpeg;base64,/, '')}`);
        else if (p.name === 'KIND' || p.name === 'X-ADDRESSBOOKSERVER-KIND') out.push(`KIND ${p.value.toLowerCase()}`);
        else if (p.name === 'MEMBER' || p.name === 'X-ADDRESSBOOKSERVER-MEMBER') out.push(`MEMBER ${p.value}`);
        else if (p.name === 'BDAY') out.push(`BDAY ${p.value.replace(/^1604-(\d\d)-(\d\d)$/, '--$1$2')}`);
        else if (p.name === 'TEL' || p.name === 'EMAIL') out.push(`${p.name} ${typeList} ${pref} ${p.value}`);
        else if (p.name !== 'VERSION' && p.name !== 'N') out.push(`${p.name} ${p.value}`);
      }
      return out.sort();
    }

    it('3.0 → 4.0 → 3.0', () => {
      const v3 = fc.record({ photo: fc.option(b64), group: fc.boolean(), members: fc.array(uuid, { maxLength: 3 }), bday: fc.option(mmdd), pref: fc.boolean(), fn: text });
      fc.assert(
        fc.property(v3, (g) => {
          const ls = ['BEGIN:VCARD', 'VERSION:3.0', 'UID:u', `FN:${escapeText(g.fn)}`, 'N:Doe;Jo;;;'];
          if (g.photo) ls.push(`PHOTO;ENCODING=b;TYPE=JPEG:${g.photo}`);
          if (g.group) ls.push('X-ADDRESSBOOKSERVER-KIND:group');
          for (const m of g.members) ls.push(`X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:${m}`);
          if (g.bday) ls.push(`BDAY;X-APPLE-OMIT-YEAR=1604:1604-${g.bday}`);
          ls.push(g.pref ? 'TEL;TYPE=CELL;type=pref:+1 555' : 'TEL;TYPE=CELL:+1 555', 'item1.EMAIL;TYPE=INTERNET,PREF:a@b.c', 'END:VCARD');
          const text = bytes(ls).toString('utf8');
          const stored = parseCard(Buffer.from(text), LIMIT);
          const as40 = addressData(text, stored, { version: '4.0' });
          const c40 = parseCard(Buffer.from(as40), LIMIT);
          assert.equal(c40.version, '4.0');
          assert.equal(c40.kind, stored.kind);
          assert.ok(!c40.properties.some((p) => p.name.startsWith('X-ADDRESSBOOKSERVER') || p.params.some((x) => x.name === 'ENCODING')), as40);
          const back = parseCard(Buffer.from(addressData(as40, c40, { version: '3.0' })), LIMIT);
          assert.deepEqual(meaning(back), meaning(stored));
          assert.deepEqual(meaning(c40), meaning(stored));
        }),
        { ...SEED, numRuns: 300 },
      );
    });

    it('4.0 → 3.0 → 4.0', () => {
      const v4 = fc.record({ photo: fc.option(b64), group: fc.boolean(), members: fc.array(uuid, { maxLength: 3 }), bday: fc.option(mmdd), pref: fc.boolean(), fn: text });
      fc.assert(
        fc.property(v4, (g) => {
          const ls = ['BEGIN:VCARD', 'VERSION:4.0', 'UID:u', `FN:${escapeText(g.fn)}`];
          if (g.photo) ls.push(`PHOTO:data:image/jpeg;base64,${g.photo}`);
          if (g.group) ls.push('KIND:group');
          for (const m of g.members) ls.push(`MEMBER:urn:uuid:${m}`);
          if (g.bday) ls.push(`BDAY:--${g.bday.replace('-', '')}`);
          ls.push(g.pref ? 'TEL;TYPE=cell;PREF=1:+1 555' : 'TEL;TYPE=cell:+1 555', 'END:VCARD');
          const text = bytes(ls).toString('utf8');
          const stored = parseCard(Buffer.from(text), LIMIT);
          const as30 = addressData(text, stored, { version: '3.0' });
          const c30 = parseCard(Buffer.from(as30), LIMIT);
          assert.equal(c30.kind, stored.kind);
          assert.ok(c30.properties.some((p) => p.name === 'N'), 'a 3.0 card has N');
          const back = parseCard(Buffer.from(addressData(as30, c30, { version: '4.0' })), LIMIT);
          assert.deepEqual(meaning(back), meaning(stored));
          assert.deepEqual(meaning(c30), meaning(stored));
        }),
        { ...SEED, numRuns: 300 },
      );
    });
  });
});

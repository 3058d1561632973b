import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CardPreconditionError, cardTitle, parseCard, type CardPrecondition, type ParsedCard } from '../../lib/carddav/vcard/index.js';

const CONTACTS = fileURLToPath(new URL('../../../fixtures/contacts/', import.meta.url));
const LIMIT = { maxResourceSize: 100_000 };

const card = (...lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n`, 'utf8');
const v3 = (...props: string[]) => card('BEGIN:VCARD', 'VERSION:3.0', 'UID:u1', 'FN:Ada Lovelace', ...props, 'END:VCARD');
const v4 = (...props: string[]) => card('BEGIN:VCARD', 'VERSION:4.0', 'UID:u1', 'FN:Ada Lovelace', ...props, 'END:VCARD');

function fails(bytes: Buffer, pattern: RegExp, precondition: CardPrecondition = 'valid-address-data', limits = LIMIT): void {
  assert.throws(
    () => parseCard(bytes, limits),
    (err: unknown) => err instanceof CardPreconditionError && err.precondition === precondition && pattern.test(err.message),
    `expected ${precondition} ${pattern}`,
  );
}

const names = (c: ParsedCard) => c.properties.map((p) => (p.group ? `${p.group}.${p.name}` : p.name));

/** fixtures/contacts/bad/<file> → what its refusal says (README.md there lists the same). */
const BAD: Record<string, RegExp> = {
  'no-uid.vcf': /no UID/,
  'no-uid-empty.vcf': /no UID/,
  'no-end.vcf': /no END:VCARD/,
  'two-vcards.vcf': /more than one vCard/,
  'vcalendar.vcf': /calendar object/,
  'version-2.1.vcf': /2\.1 is not supported/,
  'version-5.vcf': /VERSION:5\.0 is not supported/,
  'broken-folding.vcf': /line 6 is not a content line.*folded line must start with a space/,
  'invalid-utf8.vcf': /line 4: not valid UTF-8/,
  'no-fn.vcf': /no FN/,
  'no-version.vcf': /no VERSION/,
  'begin-inside.vcf': /line 5: BEGIN:VCARD inside a vCard/,
  'two-uids.vcf': /more than one UID/,
  'unclosed-quote.vcf': /unclosed quote/,
  'empty.vcf': /no BEGIN:VCARD/,
  'control-char.vcf': /line 5: a control character \(U\+000B\)/,
};

describe('CardDAV vCard: parseCard', () => {
  it('reads a 3.0 and a 4.0 card: UID, FN, version, kind, every property in order with VERSION', () => {
    const c3 = parseCard(v3('N:Lovelace;Ada;;;', 'EMAIL;TYPE=INTERNET:ada@example.com'), LIMIT);
    assert.equal(c3.version, '3.0');
    assert.equal(c3.uid, 'u1');
    assert.equal(c3.fn, 'Ada Lovelace');
    assert.equal(c3.kind, 'individual');
    assert.deepEqual(names(c3), ['VERSION', 'UID', 'FN', 'N', 'EMAIL']);
    const c4 = parseCard(v4(), LIMIT);
    assert.equal(c4.version, '4.0');
    assert.deepEqual(names(c4), ['VERSION', 'UID', 'FN']);
  });

  it('reads groups, parameters (quoted, with : ; , inside, bare 3.0 TYPE), raw lines and unescaped values', () => {
    const c = parseCard(v3('item1.EMAIL;type=INTERNET;type=pref:ada@example.com', 'TEL;WORK;VOICE:+44 1', 'X-L;LABEL="a:b;c,d",e:x', 'NOTE:one\\ntwo\\, three\\; four\\\\ \\x'), LIMIT);
    const [email, tel, label, note] = c.properties.slice(3);
    assert.equal(email.group, 'item1');
    assert.equal(email.name, 'EMAIL');
    assert.deepEqual(email.params, [{ name: 'TYPE', values: ['INTERNET'] }, { name: 'TYPE', values: ['pref'] }]);
    assert.equal(email.raw, 'item1.EMAIL;type=INTERNET;type=pref:ada@example.com');
    assert.deepEqual(tel.params, [{ name: 'TYPE', values: ['WORK'] }, { name: 'TYPE', values: ['VOICE'] }]);
    assert.deepEqual(label.params, [{ name: 'LABEL', values: ['a:b;c,d', 'e'] }]);
    assert.equal(label.value, 'x');
    assert.equal(note.value, 'one\ntwo, three; four\\ \\x');
  });

  it('kind: 4.0 KIND, else X-ADDRESSBOOKSERVER-KIND, lower-cased; default individual', () => {
    assert.equal(parseCard(v4('KIND:Group'), LIMIT).kind, 'group');
    assert.equal(parseCard(v3('X-ADDRESSBOOKSERVER-KIND:GROUP'), LIMIT).kind, 'group');
    assert.equal(parseCard(v4('KIND:org', 'X-ADDRESSBOOKSERVER-KIND:group'), LIMIT).kind, 'org');
    assert.equal(parseCard(v4('KIND:'), LIMIT).kind, 'individual');
    fails(v4('KIND:group', 'KIND:org'), /more than one KIND/);
  });

  it('unfolds CRLF or LF + space or tab, including a fold that splits a UTF-8 character', () => {
    const c = parseCard(card('BEGIN:VCARD', 'VERSION:4.0', 'UID:u', ' 1', 'FN:A', '\tda', 'END:VCARD'), LIMIT);
    assert.equal(c.uid, 'u1');
    assert.equal(c.fn, 'Ada');
    const text = Buffer.from('BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u\r\nFN:Zoë\r\nEND:VCARD\r\n');
    const at = text.indexOf(0xc3) + 1;
    const split = Buffer.concat([text.subarray(0, at), Buffer.from('\r\n '), text.subarray(at)]);
    assert.equal(parseCard(split, LIMIT).fn, 'Zoë');
    assert.equal(parseCard(Buffer.from(split.toString('latin1').replace(/\r\n/g, '\n'), 'latin1'), LIMIT).fn, 'Zoë');
  });

  it('refuses what RFC 6352 §5.1 / §6.3.2.1 refuses, naming valid-address-data and the line', () => {
    fails(card('BEGIN:VCARD', 'VERSION:4.0', 'FN:A', 'END:VCARD'), /no UID/);
    fails(card('BEGIN:VCARD', 'VERSION:4.0', 'UID: ', 'FN:A', 'END:VCARD'), /no UID/);
    fails(card('BEGIN:VCARD', 'VERSION:4.0', 'UID:u', 'END:VCARD'), /no FN \(vCard 4\.0 requires one\)/);
    fails(card('BEGIN:VCARD', 'VERSION:3.0', 'UID:u', 'END:VCARD'), /no FN \(vCard 3\.0/);
    fails(card('BEGIN:VCARD', 'VERSION:4.0', 'UID:u', 'FN:A'), /no END:VCARD/);
    fails(card('VERSION:4.0', 'UID:u', 'FN:A', 'END:VCARD'), /line 1: VERSION before BEGIN:VCARD/);
    fails(card('BEGIN:VCARD', 'VERSION:4.0', 'UID:u', 'FN:A', 'END:VCARD', 'NOTE:x'), /line 6: NOTE after END:VCARD/);
    fails(card('BEGIN:VCARD', 'VERSION:4.0', 'UID:u', 'FN:A', 'BEGIN:VALARM', 'END:VALARM', 'END:VCARD'), /line 5: BEGIN:VALARM/);
    fails(card('BEGIN:VCARD', 'VERSION:4.0', 'UID:u', 'FN:A', 'END:VCALENDAR'), /line 5: END:VCALENDAR inside a vCard/);
    fails(card('BEGIN:VCARD', 'VERSION:4.0', 'VERSION:3.0', 'UID:u', 'FN:A', 'END:VCARD'), /more than one VERSION/);
    fails(card('BEGIN:VCARD', 'VERSION:2.1', 'N;ENCODING=QUOTED-PRINTABLE:L=', 'ove', 'END:VCARD'), /vCard 2\.1 is not supported/);
    fails(card(' BEGIN:VCARD', 'VERSION:4.0', 'UID:u', 'FN:A', 'END:VCARD'), /line 1: a folded line with nothing before it/);
    fails(v4('EMAIL;=x:a'), /line 5: a parameter without a name/);
    fails(v4('.EMAIL:a'), /line 5 is not a content line/);
    fails(v4('item1.:a'), /line 5 is not a content line/);
    fails(v4('FN'), /line 5 is not a content line/);
    fails(v4('NOTE:a\u0000b'), /line 5: a control character \(U\+0000\)/);
    fails(card('BEGIN:VCARD', 'VERSION:4.0', 'UID:u', 'FN:A', 'NOTE:a', ' b\u001bc', 'END:VCARD'), /line 5: a control character \(U\+001B\)/);
    fails(v4('NOTE:\uffff'), /U\+FFFF/);
    assert.equal(parseCard(v4('NOTE:tab\there, a lone CR\rthere'), LIMIT).properties[3].value, 'tab\there, a lone CR\rthere');
    fails(Buffer.concat([v4().subarray(0, 30), Buffer.from([0xc3, 0x28]), v4().subarray(30)]), /line \d: not valid UTF-8/);
  });

  it('refuses a card over max-resource-size before reading it (a 50 MB card)', () => {
    const huge = Buffer.alloc(50 * 1024 * 1024, 0xff); // not even UTF-8: the size alone decides
    fails(huge, /52428800 octets, more than the 10000000/, 'max-resource-size', { maxResourceSize: 10_000_000 });
    fails(v4(), /octets, more than the 10 /, 'max-resource-size', { maxResourceSize: 10 });
    assert.equal(parseCard(v4(), { maxResourceSize: v4().length }).uid, 'u1');
  });

  it('stays linear on pathological input: 50,000 parameters, 200,000 bare ones, 2 MB values, 100,000 folds, 50,000 lines', () => {
    // Quadratic work on any of these takes minutes: the test's timeout is the bound.
    const params = parseCard(v4(`X-P${';A=1'.repeat(50_000)}:v`), { maxResourceSize: 10_000_000 });
    assert.equal(params.properties[3].params.length, 50_000);
    fails(v4(`X-P${';A'.repeat(200_000)}`), /line 5 is not a content line/, 'valid-address-data', { maxResourceSize: 10_000_000 });
    fails(v4(`X-P;A="${'x'.repeat(2_000_000)}`), /unclosed quote/, 'valid-address-data', { maxResourceSize: 10_000_000 });
    const long = parseCard(v4(`NOTE:${'\\,'.repeat(1_000_000)}`), { maxResourceSize: 10_000_000 });
    assert.equal(long.properties[3].value.length, 1_000_000);
    const lines = parseCard(v4(new Array<string>(50_000).fill('item1.EMAIL;TYPE=work:a@b').join('\r\n')), { maxResourceSize: 10_000_000 });
    assert.equal(lines.properties.length, 50_003);
    const folds = parseCard(v4(`NOTE:${'ab\r\n '.repeat(100_000)}`), { maxResourceSize: 10_000_000 });
    assert.equal(folds.properties[3].value.length, 200_000);
  });

  describe('fixtures/contacts/bad: every file refused with valid-address-data', () => {
    const files = readdirSync(`${CONTACTS}bad`).filter((f) => f.endsWith('.vcf')).sort();
    it('lists exactly the files README.md lists', () => {
      assert.deepEqual(files, Object.keys(BAD).sort());
      const readme = readFileSync(`${CONTACTS}bad/README.md`, 'utf8');
      for (const f of files) assert.ok(readme.includes(`\`${f}\``), `${f} missing from README.md`);
    });
    for (const f of Object.keys(BAD).sort()) {
      it(f, () => fails(readFileSync(`${CONTACTS}bad/${f}`), BAD[f]));
    }
  });

  describe('fixtures/contacts/edge: every file accepted', () => {
    const expected: Record<string, Partial<ParsedCard>> = {
      'fold-splits-utf8.vcf': { fn: 'Zoë Ångström', version: '4.0' },
      'lf-only.vcf': { uid: 'edge-lf' },
      'bom.vcf': { uid: 'edge-bom', version: '3.0' },
      'trailing-whitespace.vcf': { uid: 'edge-trailing', version: '3.0' },
      'photo-base64-folded.vcf': { uid: 'edge-photo' },
      'escapes.vcf': { fn: 'Lovelace, Ada' },
      'quoted-param-colon.vcf': { uid: 'edge-quoted' },
      'version-not-second.vcf': { version: '4.0' },
      'empty-fn.vcf': { fn: '' },
      'tab-fold.vcf': { fn: 'Ada Lovelace' },
      'apple-group.vcf': { kind: 'group', fn: 'Family' },
      'grouped-props.vcf': { uid: 'edge-grouped' },
      'kind-group-40.vcf': { kind: 'group' },
    };
    it('lists every edge file', () => {
      assert.deepEqual(readdirSync(`${CONTACTS}edge`).filter((f) => f.endsWith('.vcf')).sort(), Object.keys(expected).sort());
    });
    for (const [f, want] of Object.entries(expected)) {
      it(f, () => {
        const c = parseCard(readFileSync(`${CONTACTS}edge/${f}`), { maxResourceSize: 1_000_000 });
        for (const [k, v] of Object.entries(want)) assert.deepEqual(c[k as keyof ParsedCard], v, k);
      });
    }
    it('the folded PHOTO reads back as its base64 whole; a quoted parameter keeps its ":"', () => {
      const photo = parseCard(readFileSync(`${CONTACTS}edge/photo-base64-folded.vcf`), LIMIT).properties.find((p) => p.name === 'PHOTO')!;
      assert.match(photo.value, /^\/9j\/[A-Za-z0-9+/]+=*$/);
      assert.equal(Buffer.from(photo.value, 'base64').length, 3006);
      const email = parseCard(readFileSync(`${CONTACTS}edge/quoted-param-colon.vcf`), LIMIT).properties.find((p) => p.name === 'EMAIL')!;
      assert.deepEqual(email.params[1], { name: 'X-LABEL', values: ['Office: room 1;2,3'] });
      assert.equal(email.value, 'ada@example.com');
    });
  });

  describe('cardTitle', () => {
    it('names contacts, groups and organizations as history does, cut at 80 graphemes', () => {
      assert.equal(cardTitle(parseCard(v4(), LIMIT)), 'contact "Ada Lovelace"');
      assert.equal(cardTitle(parseCard(card('BEGIN:VCARD', 'VERSION:3.0', 'UID:g', 'FN:Family', 'X-ADDRESSBOOKSERVER-KIND:group', 'END:VCARD'), LIMIT)), 'group "Family"');
      assert.equal(cardTitle(parseCard(card('BEGIN:VCARD', 'VERSION:4.0', 'UID:o', 'KIND:org', 'FN:ACME', 'END:VCARD'), LIMIT)), 'organization "ACME"');
      assert.equal(cardTitle(parseCard(card('BEGIN:VCARD', 'VERSION:3.0', 'UID:e', 'FN:', 'END:VCARD'), LIMIT)), 'contact');
      assert.equal(cardTitle(parseCard(card('BEGIN:VCARD', 'VERSION:4.0', 'UID:q', 'FN:say "hi"\\nnow', 'END:VCARD'), LIMIT)), 'contact "say  hi now"');
      const long = cardTitle(parseCard(card('BEGIN:VCARD', 'VERSION:4.0', 'UID:l', `FN:${'👍🏽'.repeat(100)}`, 'END:VCARD'), LIMIT));
      assert.equal(long, `contact "${'👍🏽'.repeat(79)}…"`);
    });
  });
});

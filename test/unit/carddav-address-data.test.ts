import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { addressData, CardPreconditionError, parseCard, type AddressDataRequest, type ParsedCard } from '../../lib/carddav/vcard/index.js';

const EDGE = fileURLToPath(new URL('../../../fixtures/contacts/edge/', import.meta.url));
const LIMIT = { maxResourceSize: 1_000_000 };

const text = (...lines: string[]) => `${lines.join('\r\n')}\r\n`;
const read = (t: string) => parseCard(Buffer.from(t, 'utf8'), LIMIT);
const edge = (name: string) => readFileSync(`${EDGE}${name}`, 'utf8');
const ask = (t: string, request: AddressDataRequest, card: ParsedCard | null = read(t)) => addressData(t, card, request);
const props = (...names: string[]) => names.map((n) => (n.startsWith('!') ? { name: n.slice(1), noValue: true } : { name: n, noValue: false }));
const lines = (t: string) => t.replace(/\r\n /g, '').split('\r\n').filter(Boolean);

const APPLE = edge('grouped-props.vcf');

describe('CardDAV address-data (RFC 6352 §10.4)', () => {
  describe('the card as stored', () => {
    it('nothing asked, or the stored version asked: the stored text itself, octet for octet', () => {
      const lf = edge('lf-only.vcf');
      assert.equal(ask(lf, {}), lf);
      assert.equal(ask(lf, { version: '3.0' }), lf);
      assert.equal(ask(APPLE, { version: '3.0' }, null), APPLE);
    });

    it('a stored file that is not a card comes back as it is (nothing to select or convert)', () => {
      assert.equal(addressData('not a card', null, { props: props('EMAIL') }), 'not a card');
      assert.equal(addressData('not a card', null, { version: '4.0' }), 'not a card');
    });
  });

  describe('CARDDAV:prop', () => {
    it('keeps only the asked properties, plus BEGIN, END, VERSION and UID; CRLF lines', () => {
      const out = ask(APPLE, { props: props('TEL') });
      assert.equal(out, text('BEGIN:VCARD', 'VERSION:3.0', 'TEL;type=CELL;type=VOICE;type=pref:+44 7700 900000', 'UID:edge-grouped', 'END:VCARD'));
    });

    it('Evolution\'s listing (VERSION and UID only) and names in any case', () => {
      assert.deepEqual(lines(ask(APPLE, { props: props('VERSION', 'UID') })), ['BEGIN:VCARD', 'VERSION:3.0', 'UID:edge-grouped', 'END:VCARD']);
      assert.deepEqual(lines(ask(APPLE, { props: props('fn') })), ['BEGIN:VCARD', 'VERSION:3.0', 'FN:Ada Lovelace', 'UID:edge-grouped', 'END:VCARD']);
    });

    it('a grouped property matches by name, keeps its group and brings its group\'s X-ABLabel (only its group\'s)', () => {
      assert.deepEqual(lines(ask(APPLE, { props: props('EMAIL') })), [
        'BEGIN:VCARD',
        'VERSION:3.0',
        'item1.EMAIL;type=INTERNET;type=pref:ada@example.com',
        'item1.X-ABLabel:_$!<Other>!$_',
        'UID:edge-grouped',
        'END:VCARD',
      ]);
      assert.deepEqual(lines(ask(APPLE, { props: props('item2.URL') })).slice(2, 4), ['item2.URL;type=pref:https://example.com', 'item2.X-ABLabel:_$!<HomePage>!$_']);
    });

    it('novalue: the property and its parameters (quoted ":" kept) with an empty value; asked also with a value wins', () => {
      const t = edge('quoted-param-colon.vcf');
      assert.deepEqual(lines(ask(t, { props: props('!EMAIL', '!TEL') })).slice(3, 5), ['EMAIL;TYPE=work;X-LABEL="Office: room 1;2,3":', 'TEL;VALUE=uri;TYPE="voice,cell":']);
      assert.deepEqual(lines(ask(t, { props: props('!EMAIL', 'EMAIL', 'FN') }))[4], 'EMAIL;TYPE=work;X-LABEL="Office: room 1;2,3":ada@example.com');
      assert.equal(read(ask(t, { props: props('!EMAIL', 'FN') })).properties.find((p) => p.name === 'EMAIL')!.value, '');
    });

    it('VERSION comes right after BEGIN (RFC 6350 §6.7.9) even when stored later', () => {
      assert.deepEqual(lines(ask(edge('version-not-second.vcf'), { props: props('FN') })), ['BEGIN:VCARD', 'VERSION:4.0', 'UID:edge-version-late', 'FN:Ada Lovelace', 'END:VCARD']);
    });

    it('folds at 75 octets without splitting a UTF-8 character', () => {
      const t = text('BEGIN:VCARD', 'VERSION:4.0', 'UID:u', 'FN:x', `NOTE:${'é'.repeat(30)}${'ツ'.repeat(30)}`, 'END:VCARD');
      const out = ask(t, { props: props('NOTE', 'FN') });
      const physical = out.split('\r\n');
      assert.ok(physical.length > 5);
      for (const l of physical) assert.ok(Buffer.byteLength(l) <= 75, l);
      assert.deepEqual(physical.slice(4, 6), [`NOTE:${'é'.repeat(30)}${'ツ'.repeat(3)}`, ` ${'ツ'.repeat(24)}`]);
      assert.equal(read(out).properties[3].value, `${'é'.repeat(30)}${'ツ'.repeat(30)}`);
    });

    it('the long folded PHOTO is refolded the same way and reads back whole', () => {
      const t = edge('photo-base64-folded.vcf');
      const out = ask(t, { props: props('PHOTO', 'FN') });
      for (const l of out.split('\r\n')) assert.ok(l.length <= 75);
      assert.equal(read(out).properties.find((p) => p.name === 'PHOTO')!.value, read(t).properties.find((p) => p.name === 'PHOTO')!.value);
    });
  });

  describe('version="4.0" of a 3.0 card', () => {
    it('Apple group: X-ADDRESSBOOKSERVER-KIND/MEMBER → KIND/MEMBER', () => {
      assert.deepEqual(lines(ask(edge('apple-group.vcf'), { version: '4.0' })), [
        'BEGIN:VCARD',
        'VERSION:4.0',
        'PRODID:-//Apple Inc.//macOS 14.0//EN',
        'N:Family',
        'FN:Family',
        'KIND:group',
        'MEMBER:urn:uuid:edge-grouped',
        'REV:2024-01-01T00:00:00Z',
        'UID:edge-apple-group',
        'END:VCARD',
      ]);
    });

    it('TYPE=PREF → PREF=1, inline PHOTO → data: URI, year-less BDAY, X-ABDATE anniversary, X-ABSHOWAS:COMPANY → KIND:org', () => {
      const t = text(
        'BEGIN:VCARD', 'VERSION:3.0', 'UID:u', 'FN:ACME', 'N:;;;;',
        'TEL;TYPE=WORK,pref:+1 1', 'EMAIL;type=INTERNET;type=pref:a@b.c', 'TEL;PREF:2',
        'PHOTO;ENCODING=b;TYPE=PNG:iVBORw0KGgo=', 'LOGO;VALUE=uri:https://example.com/l.png',
        'BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-12', 'item3.X-ABDATE;type=pref:2010-06-01', 'item3.X-ABLabel:_$!<Anniversary>!$_',
        'X-ABShowAs:COMPANY', 'END:VCARD',
      );
      assert.deepEqual(lines(ask(t, { version: '4.0' })), [
        'BEGIN:VCARD', 'VERSION:4.0', 'UID:u', 'FN:ACME', 'N:;;;;',
        'TEL;TYPE=WORK;PREF=1:+1 1', 'EMAIL;TYPE=INTERNET;PREF=1:a@b.c', 'TEL;PREF=1:2',
        'PHOTO:data:image/png;base64,iVBORw0KGgo=', 'LOGO;VALUE=uri:https://example.com/l.png',
        'BDAY:--0412', 'ANNIVERSARY;PREF=1:2010-06-01',
        'KIND:org', 'END:VCARD',
      ]);
    });
  });

  describe('version="3.0" of a 4.0 card (Apple Contacts reads 3.0 only)', () => {
    it('KIND:group/MEMBER → X-ADDRESSBOOKSERVER-*, and an N made from FN', () => {
      assert.deepEqual(lines(ask(edge('kind-group-40.vcf'), { version: '3.0' })), [
        'BEGIN:VCARD',
        'VERSION:3.0',
        'N:Analysts;;;;',
        'UID:edge-kind-group',
        'X-ADDRESSBOOKSERVER-KIND:group',
        'FN:Analysts',
        'X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:edge-grouped',
        'X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:edge-escapes',
        'END:VCARD',
      ]);
    });

    it('PREF=1 → TYPE=PREF (other ranks dropped), data: PHOTO → ENCODING=b, URI PHOTO gains VALUE=uri, --MMDD, ANNIVERSARY → itemN.X-ABDATE, KIND:org/individual', () => {
      const t = text(
        'BEGIN:VCARD', 'VERSION:4.0', 'UID:u', 'FN:Zoë\\, Ltd', 'KIND:org',
        'TEL;TYPE=cell;PREF=1:1', 'TEL;PREF=1:2', 'EMAIL;PREF=2:c@d.e',
        'PHOTO;MEDIATYPE=image/jpeg:data:image/jpeg;base64,/9j/4AA=', 'LOGO:https://example.com/l.png',
        'BDAY:--1224', 'item2.X-ABLabel:x', 'ANNIVERSARY:20100601', 'END:VCARD',
      );
      assert.deepEqual(lines(ask(t, { version: '3.0' })), [
        'BEGIN:VCARD', 'VERSION:3.0', 'N:Zoë\\, Ltd;;;;', 'UID:u', 'FN:Zoë\\, Ltd', 'X-ABSHOWAS:COMPANY',
        'TEL;TYPE=cell,PREF:1', 'TEL;TYPE=PREF:2', 'EMAIL:c@d.e',
        'PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AA=', 'LOGO;VALUE=uri:https://example.com/l.png',
        'BDAY;X-APPLE-OMIT-YEAR=1604:1604-12-24', 'item2.X-ABLabel:x',
        'item3.X-ABDATE:20100601', 'item3.X-ABLABEL:_$!<Anniversary>!$_', 'END:VCARD',
      ]);
      assert.ok(!lines(ask(text('BEGIN:VCARD', 'VERSION:4.0', 'UID:u', 'FN:A', 'N:A;;;;', 'KIND:individual', 'END:VCARD'), { version: '3.0' })).some((l) => l.includes('KIND')));
    });

    it('a tel: URI becomes 3.0 text and a quoted TYPE list is split', () => {
      assert.deepEqual(lines(ask(edge('quoted-param-colon.vcf'), { version: '3.0' })).slice(-3, -1), ['EMAIL;TYPE=work;X-LABEL="Office: room 1;2,3":ada@example.com', 'TEL;TYPE=voice,cell:+44-20-7946-0000']);
    });

    it('a data: URI that is not base64 cannot be said in 3.0: supported-address-data-conversion', () => {
      const t = text('BEGIN:VCARD', 'VERSION:4.0', 'UID:u', 'FN:A', 'PHOTO:data:image/svg+xml,%3Csvg%3E', 'END:VCARD');
      assert.throws(() => ask(t, { version: '3.0' }), (e: unknown) => e instanceof CardPreconditionError && e.precondition === 'supported-address-data-conversion' && /not base64/.test(e.message));
    });

    it('props and version together: the asked properties, converted', () => {
      assert.deepEqual(lines(ask(edge('kind-group-40.vcf'), { version: '3.0', props: props('X-ADDRESSBOOKSERVER-MEMBER') })), [
        'BEGIN:VCARD',
        'VERSION:3.0',
        'UID:edge-kind-group',
        'X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:edge-grouped',
        'X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:edge-escapes',
        'END:VCARD',
      ]);
    });
  });
});

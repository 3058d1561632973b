/**
 * PUT into an address book over HTTP on both backends (RFC 6352 §6.3.2): cards stored byte for byte
 * with their ETag; every kind of bad input answered with its CARDDAV precondition (or CalDAV's, for a
 * card sent to a calendar) and nothing stored: the listing and, on git, the branch unchanged.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { forEachBackend } from '../helpers/backends.js';
import { raw, startTestServer, type RawResponse, type TestServer } from '../helpers/server.js';
import { assertPrecondition, BOOK, put, snapshot, vcard } from './helpers.js';

const EVENT = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VEVENT', 'UID:ev', 'DTSTAMP:20260101T000000Z', 'DTSTART:20260101T100000Z', 'SUMMARY:x', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');

/** Sends only the head of a request whose body it never sends; resolves with the status line answered. */
function headOnly(s: TestServer, path: string, headers: Record<string, string | number>): Promise<string> {
  const url = new URL(s.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(`PUT ${path} HTTP/1.1\r\nHost: ${url.host}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\nBEGIN:VCARD\r\n`);
    });
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) {
        socket.destroy();
        resolve(got.slice(0, got.indexOf('\r\n')));
      }
    });
    socket.on('error', reject);
  });
}

forEachBackend((backend) =>
  describe(`CardDAV PUT (${backend} backend)`, function () {
    this.timeout(60_000);
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ backend, caldav: true });
    });
    after(() => s.close());

    it('stores a vCard 3.0 byte for byte, answers its ETag, serves it as text/vcard', async () => {
      // Odd but valid: a folded line, LF-only endings kept as sent.
      const text = 'BEGIN:VCARD\nVERSION:3.0\nUID:ada\nFN:Ada Lovelace\nNOTE:first half \n and second\nEND:VCARD\n';
      const r = await put(s, `${BOOK}ada.vcf`, text);
      assert.equal(r.status, 201, r.text);
      assert.match(String(r.headers.etag), /^"[^"]+"$/, 'a strong ETag on PUT');
      const got = await raw(s.url, `${BOOK}ada.vcf`);
      assert.equal(got.status, 200);
      assert.equal(got.text, text);
      assert.equal(got.headers.etag, r.headers.etag);
      assert.equal(got.headers['content-type'], 'text/vcard; charset=utf-8');
    });

    it('accepts vCard 4.0, and text/x-vcard, text/directory or no Content-Type', async () => {
      assert.equal((await put(s, `${BOOK}v4.vcf`, vcard('v4', 'Four', { version: '4.0' }))).status, 201);
      assert.equal((await put(s, `${BOOK}x.vcf`, vcard('x', 'X'), { 'Content-Type': 'text/x-vcard' })).status, 201);
      assert.equal((await put(s, `${BOOK}dir.vcf`, vcard('dir', 'Dir'), { 'Content-Type': 'text/directory; profile=vcard' })).status, 201);
      assert.equal((await put(s, `${BOOK}none.vcf`, vcard('none', 'None'), {})).status, 201);
    });

    it('If-None-Match: * refuses to overwrite; If-Match must name the current ETag', async () => {
      const first = await put(s, `${BOOK}cond.vcf`, vcard('cond', 'Cond'), { 'Content-Type': 'text/vcard', 'If-None-Match': '*' });
      assert.equal(first.status, 201);
      const again = await put(s, `${BOOK}cond.vcf`, vcard('cond', 'Cond 2'), { 'Content-Type': 'text/vcard', 'If-None-Match': '*' });
      assert.equal(again.status, 412);
      const stale = await put(s, `${BOOK}cond.vcf`, vcard('cond', 'Cond 2'), { 'Content-Type': 'text/vcard', 'If-Match': '"not-it"' });
      assert.equal(stale.status, 412);
      const ok = await put(s, `${BOOK}cond.vcf`, vcard('cond', 'Cond 2'), { 'Content-Type': 'text/vcard', 'If-Match': String(first.headers.etag) });
      assert.equal(ok.status, 204);
      assert.notEqual(ok.headers.etag, first.headers.etag);
      assert.match((await raw(s.url, `${BOOK}cond.vcf`)).text, /FN:Cond 2/);
    });

    it('a card may change its UID on update, to one no other card has (as on calendars)', async () => {
      assert.equal((await put(s, `${BOOK}re.vcf`, vcard('re-1', 'Re'))).status, 201);
      assert.equal((await put(s, `${BOOK}re.vcf`, vcard('re-2', 'Re'))).status, 204);
      // The old UID is free again; the new one is taken.
      assert.equal((await put(s, `${BOOK}re-old.vcf`, vcard('re-1', 'Re old'))).status, 201);
      const clash = await put(s, `${BOOK}re.vcf`, vcard('ada', 'Re'));
      assertPrecondition(clash, 409, 'no-uid-conflict');
      assert.match(clash.text, /<D:href>\/addressbooks\/user\/contacts\/ada\.vcf<\/D:href>/);
    });

    it('one UID PUT at once to five hrefs: exactly one is stored, the others name it', async () => {
      const all = await Promise.all([1, 2, 3, 4, 5].map((i) => put(s, `${BOOK}race-${i}.vcf`, vcard('race', `Race ${i}`))));
      assert.deepEqual(all.map((r) => r.status).sort(), [201, 409, 409, 409, 409]);
      const winner = all.findIndex((r) => r.status === 201) + 1;
      for (const r of all.filter((r) => r.status === 409)) assert.match(r.text, new RegExp(`race-${winner}\\.vcf</D:href>`));
    });

    it('a vCard PUT into a calendar is refused by CalDAV (supported-calendar-data; valid-calendar-data untyped)', async () => {
      const cal = '/calendars/user/calendar/';
      const before = await snapshot(s, backend, cal);
      assertPrecondition(await put(s, `${cal}card.ics`, vcard('c', 'C')), 403, 'supported-calendar-data', 'urn:ietf:params:xml:ns:caldav');
      assertPrecondition(await put(s, `${cal}card.ics`, vcard('c', 'C'), {}), 403, 'valid-calendar-data', 'urn:ietf:params:xml:ns:caldav');
      assert.equal(await snapshot(s, backend, cal), before);
    });

    describe('bad input: its precondition, nothing stored', () => {
      let before: string;
      beforeEach(async () => (before = await snapshot(s, backend)));
      afterEach(async () => {
        assert.equal(await snapshot(s, backend), before, 'the address book and the branch are unchanged');
        assert.equal((await raw(s.url, `${BOOK}bad.vcf`)).status, 404);
      });
      const bad = (body: string | Buffer, headers?: Record<string, string | number>): Promise<RawResponse> => put(s, `${BOOK}bad.vcf`, body, headers);

      it('no UID → 403 valid-address-data', async () => assertPrecondition(await bad(vcard(null, 'Nobody')), 403, 'valid-address-data'));
      it('no END:VCARD → 403 valid-address-data', async () => assertPrecondition(await bad(vcard('e', 'E').replace('END:VCARD\r\n', '')), 403, 'valid-address-data'));
      it('two vCards in one resource → 403 valid-address-data', async () => assertPrecondition(await bad(vcard('a2', 'A') + vcard('b2', 'B')), 403, 'valid-address-data'));
      it('no FN → 403 valid-address-data', async () => assertPrecondition(await bad('BEGIN:VCARD\r\nVERSION:3.0\r\nUID:nofn\r\nEND:VCARD\r\n'), 403, 'valid-address-data'));
      it('vCard 2.1 → 403 valid-address-data', async () => assertPrecondition(await bad(vcard('old', 'Old', { version: '2.1' })), 403, 'valid-address-data'));
      it('broken line folding (a continuation without its space) → 403 valid-address-data', async () => {
        assertPrecondition(await bad(vcard('fold', 'Fold', { extra: ['NOTE:a long note that was', 'folded without the leading space'] })), 403, 'valid-address-data');
      });
      it('invalid UTF-8 → 403 valid-address-data', async () => {
        const body = Buffer.concat([Buffer.from('BEGIN:VCARD\r\nVERSION:3.0\r\nUID:utf\r\nFN:Bad '), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('\r\nEND:VCARD\r\n')]);
        assertPrecondition(await bad(body), 403, 'valid-address-data');
      });
      it('a calendar object typed text/calendar → 403 supported-address-data', async () => assertPrecondition(await bad(EVENT, { 'Content-Type': 'text/calendar' }), 403, 'supported-address-data'));
      it('a calendar object without a type → 403 valid-address-data', async () => assertPrecondition(await bad(EVENT, {}), 403, 'valid-address-data'));
      it('any other media type → 403 supported-address-data', async () => assertPrecondition(await bad(vcard('j', 'J'), { 'Content-Type': 'application/json' }), 403, 'supported-address-data'));
      it('a UID another card has → 409 no-uid-conflict naming it', async () => {
        const r = await bad(vcard('ada', 'Ada again'));
        assertPrecondition(r, 409, 'no-uid-conflict');
        assert.match(r.text, /<x\d+:no-uid-conflict[^>]*><D:href>\/addressbooks\/user\/contacts\/ada\.vcf<\/D:href>/);
      });
      it('a 50 MB card → 403 max-resource-size', async () => assertPrecondition(await bad(Buffer.alloc(50 * 1024 * 1024, 'x')), 403, 'max-resource-size'));
      it('a 50 MB card is refused from its Content-Length alone: the answer comes with the body never sent', async () => {
        const status = await headOnly(s, `${BOOK}bad.vcf`, { 'Content-Type': 'text/vcard', 'Content-Length': 50 * 1024 * 1024 });
        assert.match(status, /^HTTP\/1\.1 403 /);
      });
      it('an 11 MB card sent chunked (no length) → 403 max-resource-size once the limit is passed', async () => {
        const r = await bad(Buffer.alloc(11 * 1024 * 1024, 'x'), { 'Content-Type': 'text/vcard', 'Transfer-Encoding': 'chunked' });
        assertPrecondition(r, 403, 'max-resource-size');
      });
    });
  }),
);

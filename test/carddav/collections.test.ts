/**
 * Address books as collections over HTTP on both backends: extended MKCOL with the addressbook type
 * and initial properties (RFC 6352 §6.3.1, RFC 5689), the description by PROPPATCH, nesting refused
 * (addressbook-collection-location-ok), COPY/MOVE of cards checked as PUT is, GET of an address book
 * as one text/vcard, and DELETE.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { forEachBackend } from '../helpers/backends.js';
import { raw, startTestServer, type RawResponse, type TestServer } from '../helpers/server.js';
import { textOf } from '../../lib/dav/xml/parse.js';
import { assertPrecondition, BOOK, CARDDAV, multistatus, NSS, put, snapshot, vcard } from './helpers.js';

const CALDAV = 'urn:ietf:params:xml:ns:caldav';
const XMLH = { 'Content-Type': 'application/xml; charset=utf-8' };
const mkcolBody = (displayname: string, description?: string, type = '<C:addressbook/>') =>
  `<D:mkcol ${NSS}><D:set><D:prop><D:resourcetype><D:collection/>${type}</D:resourcetype><D:displayname>${displayname}</D:displayname>${description ? `<C:addressbook-description>${description}</C:addressbook-description>` : ''}</D:prop></D:set></D:mkcol>`;
const mkcol = (s: TestServer, path: string, body: string): Promise<RawResponse> => raw(s.url, path, { method: 'MKCOL', headers: XMLH, body });
const transfer = (s: TestServer, method: 'COPY' | 'MOVE', from: string, to: string, headers: Record<string, string> = {}) =>
  raw(s.url, from, { method, headers: { Destination: `${s.url}${to}`, ...headers } });
const propsOf = async (s: TestServer, path: string, props: string) =>
  multistatus((await raw(s.url, path, { method: 'PROPFIND', headers: { Depth: '0', ...XMLH }, body: `<D:propfind ${NSS}><D:prop>${props}</D:prop></D:propfind>` })).text).get(path)!;

forEachBackend((backend) =>
  describe(`CardDAV address books (${backend} backend)`, function () {
    this.timeout(60_000);
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ backend, caldav: true });
      for (const [name, fn] of [['ada', 'Ada Lovelace'], ['grace', 'Grace Hopper']]) assert.equal((await put(s, `${BOOK}${name}.vcf`, vcard(name, fn))).status, 201);
    });
    after(() => s.close());

    it('extended MKCOL makes an address book with displayname and addressbook-description', async () => {
      const r = await mkcol(s, '/addressbooks/user/work/', mkcolBody('Work', 'People at work'));
      assert.equal(r.status, 201, r.text);
      const p = await propsOf(s, '/addressbooks/user/work/', '<D:resourcetype/><D:displayname/><C:addressbook-description/><C:supported-address-data/>');
      assert.ok(p.ok.get('{DAV:}resourcetype')!.children.some((c) => (c as { local?: string }).local === 'addressbook'));
      assert.equal(textOf(p.ok.get('{DAV:}displayname')!), 'Work');
      assert.equal(textOf(p.ok.get(`{${CARDDAV}}addressbook-description`)!), 'People at work');
      assert.ok(p.ok.has(`{${CARDDAV}}supported-address-data`));
      assert.equal((await put(s, '/addressbooks/user/work/boss.vcf', vcard('boss', 'The Boss'))).status, 201, 'it takes cards');
    });

    it('PROPPATCH sets and removes addressbook-description (a dead property)', async () => {
      const patch = (inner: string) => raw(s.url, BOOK, { method: 'PROPPATCH', headers: XMLH, body: `<D:propertyupdate ${NSS}>${inner}</D:propertyupdate>` });
      assert.equal((await patch('<D:set><D:prop><C:addressbook-description>Everyone I know</C:addressbook-description></D:prop></D:set>')).status, 207);
      assert.equal(textOf((await propsOf(s, BOOK, '<C:addressbook-description/>')).ok.get(`{${CARDDAV}}addressbook-description`)!), 'Everyone I know');
      assert.equal((await patch('<D:remove><D:prop><C:addressbook-description/></D:prop></D:remove>')).status, 207);
      assert.deepEqual((await propsOf(s, BOOK, '<C:addressbook-description/>')).missing, [`{${CARDDAV}}addressbook-description`]);
      // Protected properties stay protected.
      const r = await patch('<D:set><D:prop><C:max-resource-size>1</C:max-resource-size></D:prop></D:set>');
      assert.match(r.text, /403 Forbidden/);
    });

    describe('nothing nests: addressbook-collection-location-ok, the tree unchanged', () => {
      let before: string;
      beforeEach(async () => (before = await snapshot(s, backend, '/addressbooks/user/') + (await snapshot(s, backend, BOOK)) + (await snapshot(s, backend, '/calendars/user/calendar/'))));
      afterEach(async () => assert.equal(await snapshot(s, backend, '/addressbooks/user/') + (await snapshot(s, backend, BOOK)) + (await snapshot(s, backend, '/calendars/user/calendar/')), before));

      it('extended MKCOL of an address book inside an address book → 403', async () => assertPrecondition(await mkcol(s, `${BOOK}inner/`, mkcolBody('Inner')), 403, 'addressbook-collection-location-ok'));
      it('extended MKCOL of an address book inside a calendar → 403', async () => assertPrecondition(await mkcol(s, '/calendars/user/calendar/inner/', mkcolBody('Inner')), 403, 'addressbook-collection-location-ok'));
      it('a calendar inside an address book (MKCALENDAR or extended MKCOL) → 403 calendar-collection-location-ok', async () => {
        assertPrecondition(await raw(s.url, `${BOOK}cal/`, { method: 'MKCALENDAR' }), 403, 'calendar-collection-location-ok', CALDAV);
        assertPrecondition(await mkcol(s, `${BOOK}cal/`, mkcolBody('Cal', undefined, '<CAL:calendar xmlns:CAL="urn:ietf:params:xml:ns:caldav"/>')), 403, 'calendar-collection-location-ok', CALDAV);
      });
      it('COPY or MOVE of an address book into an address book or a calendar → 403', async () => {
        for (const method of ['COPY', 'MOVE'] as const) {
          assertPrecondition(await transfer(s, method, '/addressbooks/user/work/', `${BOOK}work/`), 403, 'addressbook-collection-location-ok');
          assertPrecondition(await transfer(s, method, '/addressbooks/user/work/', '/calendars/user/calendar/work/'), 403, 'addressbook-collection-location-ok');
        }
      });
      it('COPY or MOVE of a calendar into an address book → 403 calendar-collection-location-ok', async () => {
        for (const method of ['COPY', 'MOVE'] as const) assertPrecondition(await transfer(s, method, '/calendars/user/calendar/', `${BOOK}cal/`), 403, 'calendar-collection-location-ok', CALDAV);
      });
      it('COPY of a card into the same address book under a new name → 409 no-uid-conflict', async () => {
        const r = await transfer(s, 'COPY', `${BOOK}ada.vcf`, `${BOOK}ada-copy.vcf`);
        assertPrecondition(r, 409, 'no-uid-conflict');
        assert.match(r.text, /\/addressbooks\/user\/contacts\/ada\.vcf<\/D:href>/);
      });
      it('COPY of a file that is no vCard into an address book → 403 valid-address-data', async () => {
        assert.equal((await raw(s.url, '/note.txt', { method: 'PUT', body: 'just text\n' })).status, 201);
        before = await snapshot(s, backend, '/addressbooks/user/') + (await snapshot(s, backend, BOOK)) + (await snapshot(s, backend, '/calendars/user/calendar/'));
        assertPrecondition(await transfer(s, 'COPY', '/note.txt', `${BOOK}note.vcf`), 403, 'valid-address-data');
      });
    });

    it('MOVE within an address book keeps the UID; COPY into another address book is checked there', async () => {
      assert.equal((await put(s, `${BOOK}mover.vcf`, vcard('mover', 'Mover'))).status, 201);
      assert.equal((await transfer(s, 'MOVE', `${BOOK}mover.vcf`, `${BOOK}moved.vcf`)).status, 201);
      assert.equal((await raw(s.url, `${BOOK}mover.vcf`)).status, 404);
      assert.match((await raw(s.url, `${BOOK}moved.vcf`)).text, /UID:mover/);
      assert.equal((await transfer(s, 'COPY', `${BOOK}moved.vcf`, '/addressbooks/user/work/moved.vcf')).status, 201, 'another book: its own UIDs');
      // The UID is now taken in work/ by the copy: a second copy under another name clashes there.
      assertPrecondition(await transfer(s, 'COPY', `${BOOK}moved.vcf`, '/addressbooks/user/work/again.vcf'), 409, 'no-uid-conflict');
      // The UID index followed the MOVE: the UID is held by the new href, not the old one.
      const clash = await put(s, `${BOOK}mover.vcf`, vcard('mover', 'Mover back'));
      assertPrecondition(clash, 409, 'no-uid-conflict');
      assert.match(clash.text, /\/addressbooks\/user\/contacts\/moved\.vcf<\/D:href>/);
    });

    it('GET of an address book: every card once, as stored, CRLF-ended, with the collection ETag and conditional GET', async () => {
      const r = await raw(s.url, BOOK);
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'text/vcard; charset=utf-8');
      const cards = r.text.split(/(?<=END:VCARD\r\n)/).filter(Boolean);
      assert.ok(cards.every((c) => c.startsWith('BEGIN:VCARD\r\n') && c.endsWith('END:VCARD\r\n')), r.text);
      const uids = cards.map((c) => /UID:(.*)\r\n/.exec(c)![1]).sort();
      const members = [...multistatus((await raw(s.url, BOOK, { method: 'PROPFIND', headers: { Depth: '1' } })).text).keys()].filter((h) => h !== BOOK);
      assert.equal(uids.length, members.length);
      assert.ok(uids.includes('ada') && uids.includes('grace'));
      assert.equal(new Set(uids).size, uids.length);
      const etag = (await raw(s.url, BOOK, { method: 'PROPFIND', headers: { Depth: '0' } })).text.match(/<D:getetag>([^<]+)</)![1]!.replace(/&quot;/g, '"');
      assert.equal(r.headers.etag, etag);
      assert.equal((await raw(s.url, BOOK, { headers: { 'If-None-Match': etag } })).status, 304);
      assert.equal((await raw(s.url, BOOK, { headers: { 'If-Match': '"other"' } })).status, 412);
      const head = await raw(s.url, BOOK, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(Number(head.headers['content-length']), r.body.length, 'HEAD says the length GET sends');
      assert.equal(head.body.length, 0);
    });

    if (backend === 'fs') it('GET of an address book leaves out a file that is not a card (put there behind the server)', async () => {
      await writeFile(join(s.root, 'addressbooks/user/contacts/junk.vcf'), 'not a card\n');
      const r = await raw(s.url, BOOK);
      assert.equal(r.status, 200);
      assert.doesNotMatch(r.text, /not a card/);
      assert.match(r.text, /UID:ada/);
    });

    it('a GET of an empty address book is an empty text/vcard body', async () => {
      assert.equal((await mkcol(s, '/addressbooks/user/empty/', mkcolBody('Empty'))).status, 201);
      const r = await raw(s.url, '/addressbooks/user/empty/');
      assert.equal(r.status, 200);
      assert.equal(r.text, '');
    });

    it('DELETE of an address book removes it and its cards', async () => {
      assert.equal((await raw(s.url, '/addressbooks/user/work/', { method: 'DELETE' })).status, 204);
      assert.equal((await raw(s.url, '/addressbooks/user/work/boss.vcf')).status, 404);
      assert.equal((await raw(s.url, '/addressbooks/user/work/', { method: 'PROPFIND', headers: { Depth: '0' } })).status, 404);
      // Its UIDs went with it: a new book of the same name takes them again.
      assert.equal((await mkcol(s, '/addressbooks/user/work/', mkcolBody('Work again'))).status, 201);
      assert.equal((await put(s, '/addressbooks/user/work/boss.vcf', vcard('boss', 'The Boss'))).status, 201);
    });
  }),
);

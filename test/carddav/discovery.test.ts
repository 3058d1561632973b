/**
 * CardDAV discovery as clients walk it (RFC 6764, RFC 5397, RFC 6352 §7), logged in as a user of a
 * multi-user server on both backends: /.well-known/carddav before the login, the DAV: header,
 * current-user-principal → addressbook-home-set → the home's Depth 1 listing with the default address
 * book and what DAVx5, Thunderbird, Apple Contacts and Evolution ask of it.
 */
import assert from 'node:assert/strict';
import { forEachBackend } from '../helpers/backends.js';
import { basic, raw, startTestServer, type TestServer } from '../helpers/server.js';
import { elements, textOf } from '../../lib/dav/xml/parse.js';
import { CARDDAV, multistatus, NSS, vcard } from './helpers.js';

const ALICE = basic('alice', 'alice-pw');
const CS = 'http://calendarserver.org/ns/';
const BOOK = '/addressbooks/alice/contacts/';
const propfind = (s: TestServer, path: string, depth: string, props: string) =>
  raw(s.url, path, { method: 'PROPFIND', headers: { ...ALICE, Depth: depth, 'Content-Type': 'application/xml' }, body: `<D:propfind ${NSS}><D:prop>${props}</D:prop></D:propfind>` });
const href = (e: { children: unknown[] } | undefined) => textOf(elements(e as never).find((h) => h.local === 'href')!);

forEachBackend((backend) =>
  describe(`CardDAV discovery (${backend} backend)`, function () {
    this.timeout(60_000);
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ backend, users: { alice: 'alice-pw' } });
    });
    after(() => s.close());

    it('/.well-known/carddav: 301 to the root without a login, for PROPFIND and GET', async () => {
      for (const method of ['PROPFIND', 'GET']) {
        const r = await raw(s.url, '/.well-known/carddav', { method });
        assert.equal(r.status, 301, method);
        assert.equal(r.headers.location, '/');
      }
    });

    it('OPTIONS on the root, principal, home and address book say addressbook and extended-mkcol', async () => {
      for (const p of ['/', '/principals/alice/', '/addressbooks/alice/', BOOK]) {
        const r = await raw(s.url, p, { method: 'OPTIONS', headers: ALICE });
        assert.equal(r.status, 200, p);
        const classes = String(r.headers.dav).split(/\s*,\s*/);
        assert.ok(classes.includes('addressbook'), `${p}: ${r.headers.dav}`);
        assert.ok(classes.includes('extended-mkcol'), `${p}: ${r.headers.dav}`);
      }
    });

    it('current-user-principal → addressbook-home-set (not the principal) → the home lists the default address book', async () => {
      const root = multistatus((await propfind(s, '/', '0', '<D:current-user-principal/>')).text);
      const principal = href(root.get('/')!.ok.get('{DAV:}current-user-principal'));
      assert.equal(principal, '/principals/alice/');

      const p = multistatus((await propfind(s, principal, '0', '<C:addressbook-home-set/><D:principal-URL/><D:displayname/>')).text).get(principal)!;
      const home = href(p.ok.get(`{${CARDDAV}}addressbook-home-set`));
      assert.equal(home, '/addressbooks/alice/');
      assert.notEqual(home, principal);
      assert.equal(href(p.ok.get('{DAV:}principal-URL')), principal);

      const listing = await propfind(s, home, '1', '<D:resourcetype/><D:displayname/><D:current-user-privilege-set/><CS:getctag/>');
      assert.equal(listing.status, 207);
      const members = multistatus(listing.text);
      assert.deepEqual([...members.keys()].sort(), [home, BOOK]);
      const book = members.get(BOOK)!;
      assert.equal(book.firstStatus, 'HTTP/1.1 200 OK', 'Thunderbird reads the first propstat');
      assert.deepEqual(elements(book.ok.get('{DAV:}resourcetype')!).map((e) => `{${e.ns}}${e.local}`).sort(), ['{DAV:}collection', `{${CARDDAV}}addressbook`]);
      assert.equal(textOf(book.ok.get('{DAV:}displayname')!), 'Contacts');
      const privileges = elements(book.ok.get('{DAV:}current-user-privilege-set')!).map((p) => elements(p)[0]!.local);
      assert.ok(privileges.includes('write') && privileges.includes('write-content'), privileges.join());
      assert.ok(textOf(book.ok.get(`{${CS}}getctag`)!).length > 0);
      // The home itself is no address book: no getctag there.
      assert.ok(members.get(home)!.missing.includes(`{${CS}}getctag`));
    });

    it('the address book has what DAVx5 probes: supported-address-data 3.0 and 4.0, max-resource-size, sync-token, getctag', async () => {
      const r = await propfind(s, BOOK, '0', '<C:supported-address-data/><C:max-resource-size/><C:supported-collation-set/><D:sync-token/><CS:getctag/><C:addressbook-description/>');
      const book = multistatus(r.text).get(BOOK)!;
      const types = elements(book.ok.get(`{${CARDDAV}}supported-address-data`)!).map((e) => `${e.local} ${e.attrs.get('content-type')} ${e.attrs.get('version')}`);
      assert.deepEqual(types, ['address-data-type text/vcard 3.0', 'address-data-type text/vcard 4.0']);
      assert.equal(textOf(book.ok.get(`{${CARDDAV}}max-resource-size`)!), String(10 * 1024 * 1024));
      const collations = elements(book.ok.get(`{${CARDDAV}}supported-collation-set`)!).map(textOf);
      assert.ok(collations.includes('i;unicode-casemap') && collations.includes('i;ascii-casemap'), collations.join());
      assert.match(textOf(book.ok.get('{DAV:}sync-token')!), /\S/);
      assert.deepEqual(book.missing, [`{${CARDDAV}}addressbook-description`], 'no description until one is set');
    });

    it('getctag changes with a card, on the address book only; the calendar keeps its own', async () => {
      const ctag = async (path: string) => textOf(multistatus((await propfind(s, path, '0', '<CS:getctag/>')).text).get(path)!.ok.get(`{${CS}}getctag`)!);
      const [book, calendar] = [await ctag(BOOK), await ctag('/calendars/alice/calendar/')];
      const put = await raw(s.url, `${BOOK}ada.vcf`, { method: 'PUT', headers: { ...ALICE, 'Content-Type': 'text/vcard' }, body: vcard('ada', 'Ada Lovelace') });
      assert.equal(put.status, 201);
      assert.notEqual(await ctag(BOOK), book);
      assert.equal(await ctag('/calendars/alice/calendar/'), calendar);
    });

    it('members list as Thunderbird and vdirsyncer need them: <resourcetype/>, getetag, text/vcard', async () => {
      const r = await propfind(s, BOOK, '1', '<D:resourcetype/><D:getetag/><D:getcontenttype/>');
      const member = multistatus(r.text).get(`${BOOK}ada.vcf`)!;
      assert.equal(member.firstStatus, 'HTTP/1.1 200 OK');
      assert.deepEqual(elements(member.ok.get('{DAV:}resourcetype')!), []);
      assert.match(textOf(member.ok.get('{DAV:}getetag')!), /^"[^"]+"$/);
      assert.equal(textOf(member.ok.get('{DAV:}getcontenttype')!), 'text/vcard; charset=utf-8');
    });

    it("Apple's me-card PROPPATCH on the home is stored and read back", async () => {
      const body = `<D:propertyupdate ${NSS}><D:set><D:prop><CS:me-card><D:href>${BOOK}ada.vcf</D:href></CS:me-card></D:prop></D:set></D:propertyupdate>`;
      const r = await raw(s.url, '/addressbooks/alice/', { method: 'PROPPATCH', headers: { ...ALICE, 'Content-Type': 'application/xml' }, body });
      assert.equal(r.status, 207);
      assert.equal(multistatus(r.text).get('/addressbooks/alice/')!.firstStatus, 'HTTP/1.1 200 OK', r.text);
      const back = multistatus((await propfind(s, '/addressbooks/alice/', '0', '<CS:me-card/>')).text).get('/addressbooks/alice/')!;
      assert.equal(href(back.ok.get(`{${CS}}me-card`)), `${BOOK}ada.vcf`);
    });
  }),
);

/**
 * fixtures/contacts over HTTP on both backends: every good fixture card is PUT into the default
 * address book (`apple/family.vcf` → `apple--family.vcf`), every query of queries.json runs as an
 * addressbook-query REPORT and must answer exactly its expected cards (with CARDDAV:limit: that many
 * of them, and a 507 iff more match), or its 403 with the CARDDAV precondition element; and each card
 * comes back byte for byte through address-data in a multiget.
 */
import assert from 'node:assert/strict';
import { raw, startTestServer, XML, type TestServer } from '../helpers/server.js';
import { forEachBackend } from '../helpers/backends.js';
import { loadContactFixtures, loadContactQueries } from '../helpers/contact-fixtures.js';
import { elements, parseXml, textOf, type XmlElement } from '../../lib/dav/xml/parse.js';

const BOOK = '/addressbooks/user/contacts/';
const NSS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"';
const CARDDAV = 'urn:ietf:params:xml:ns:carddav';
const cards = loadContactFixtures();
const queries = loadContactQueries();
const fileOf = (name: string) => name.replace('/', '--');
const nameOf = (href: string) => decodeURIComponent(href.split('/').pop()!).replace('--', '/');

const child = (e: XmlElement, local: string) => elements(e).find((c) => c.local === local);

/** The responses of a 207: the cards' fixture names, and the status responses (a truncation's 507). */
function read(text: string): { names: string[]; statuses: Array<{ href: string; status: string; error?: XmlElement }> } {
  const names: string[] = [];
  const statuses: Array<{ href: string; status: string; error?: XmlElement }> = [];
  for (const resp of elements(parseXml(text)).filter((e) => e.local === 'response')) {
    const href = textOf(child(resp, 'href')!);
    const status = child(resp, 'status');
    if (status) statuses.push({ href, status: textOf(status), error: child(resp, 'error') });
    else names.push(nameOf(href));
  }
  return { names: names.sort(), statuses };
}

describe('contact fixtures are what the replay needs', () => {
  it('has good cards from several sources and queries over them, some with limits and errors', () => {
    assert.ok(cards.length >= 20, `${cards.length} cards`);
    assert.ok(new Set(cards.map((c) => c.source)).size >= 5);
    assert.ok(queries.length >= 40, `${queries.length} queries`);
    assert.ok(queries.some((q) => q.limit !== undefined && q.expect.length > q.limit), 'a query truncated by its limit');
    assert.ok(queries.some((q) => q.error === 'supported-filter') && queries.some((q) => q.error === 'supported-collation'));
    const names = new Set(cards.map((c) => c.name));
    for (const q of queries) for (const e of q.expect) assert.ok(names.has(e), `${q.name}: ${e} is a fixture`);
  });
});

forEachBackend((backend) => {
  describe(`CardDAV fixtures replayed over HTTP (${backend} backend)`, function () {
    this.timeout(120_000);
    let s: TestServer;
    const report = (body: string, depth = '1') => raw(s.url, BOOK, { method: 'REPORT', headers: { ...XML, Depth: depth }, body });

    before(async () => {
      s = await startTestServer({ backend, caldav: true });
      for (const c of cards) {
        const r = await raw(s.url, BOOK + encodeURIComponent(fileOf(c.name)), { method: 'PUT', body: c.bytes, headers: { 'Content-Type': 'text/vcard; charset=utf-8', 'If-None-Match': '*' } });
        assert.equal(r.status, 201, `${c.name}: ${r.text}`);
      }
    });
    after(() => s.close());

    for (const q of queries) {
      it(`addressbook-query: ${q.name}`, async () => {
        const limit = q.limit !== undefined ? `<C:limit><C:nresults>${q.limit}</C:nresults></C:limit>` : '';
        const r = await report(`<?xml version="1.0" encoding="utf-8"?><C:addressbook-query ${NSS}><D:prop><D:getetag/></D:prop>${q.filter}${limit}</C:addressbook-query>`);
        if (q.error) {
          assert.equal(r.status, 403, r.text);
          const first = elements(parseXml(r.text))[0]!;
          assert.deepEqual([first.ns, first.local], [CARDDAV, q.error]);
          return;
        }
        assert.equal(r.status, 207, r.text);
        const { names, statuses } = read(r.text);
        if (q.limit === undefined || q.expect.length <= q.limit) {
          assert.deepEqual(names, [...q.expect]);
          assert.deepEqual(statuses, []);
        } else {
          assert.equal(names.length, q.limit);
          for (const n of names) assert.ok(q.expect.includes(n), `${n} matches`);
          assert.equal(statuses.length, 1);
          assert.equal(statuses[0]!.href, BOOK);
          assert.match(statuses[0]!.status, /^HTTP\/1.1 507 /);
          assert.equal(elements(statuses[0]!.error!)[0]!.local, 'number-of-matches-within-limits');
        }
      });
    }

    it('every card comes back byte for byte as address-data in its own version (multiget)', async () => {
      for (const version of ['3.0', '4.0']) {
        const mine = cards.filter((c) => c.bytes.toString('utf8').includes(`\nVERSION:${version}`));
        const hrefs = mine.map((c) => `<D:href>${BOOK}${encodeURIComponent(fileOf(c.name))}</D:href>`).join('');
        const r = await report(`<C:addressbook-multiget ${NSS}><D:prop><D:getetag/><C:address-data content-type="text/vcard" version="${version}"/></D:prop>${hrefs}</C:addressbook-multiget>`);
        assert.equal(r.status, 207, r.text);
        const got = new Map(elements(parseXml(r.text)).filter((e) => e.local === 'response').map((resp) => {
          const data = elements(child(child(resp, 'propstat')!, 'prop')!).find((p) => p.local === 'address-data');
          return [nameOf(textOf(child(resp, 'href')!)), data && textOf(data)] as const;
        }));
        assert.equal(got.size, mine.length);
        for (const c of mine) assert.equal(got.get(c.name), c.bytes.toString('utf8').replace(/^\uFEFF/, ''), c.name);
      }
    });

    it('the empty-filter query agrees with a PROPFIND of the book, ETag for ETag', async () => {
      const q = await report(`<C:addressbook-query ${NSS}><D:prop><D:getetag/></D:prop><C:filter/></C:addressbook-query>`);
      const p = await raw(s.url, BOOK, { method: 'PROPFIND', headers: { ...XML, Depth: '1' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>' });
      const etags = (text: string) =>
        elements(parseXml(text))
          .filter((e) => e.local === 'response' && textOf(child(e, 'href')!) !== BOOK)
          .map((e) => `${textOf(child(e, 'href')!)} ${textOf(elements(child(child(e, 'propstat')!, 'prop')!)[0]!)}`)
          .sort();
      assert.equal(etags(q.text).length, cards.length);
      assert.deepEqual(etags(q.text), etags(p.text));
    });
  });
});

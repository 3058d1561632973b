/**
 * The address book REPORTs as a grantee (needs i15-reports): addressbook-query and
 * addressbook-multiget in a shared book answer in the grantee's paths, with the cards Alice stored,
 * read-only or read-write alike; hrefs in Alice's own paths find nothing. Both backends.
 */
import assert from 'node:assert/strict';
import type { Share } from '../../lib/auth/shares-file.js';
import { basic, raw, startTestServer, XML, type BackendName, type TestServer } from '../helpers/server.js';
import { vcard, VCF } from './access-helpers.js';
import { CARDDAV as C } from './helpers.js';

const ALICE = basic('alice', 'alice-secret');
const BOB = basic('bob', 'bob-secret!');
const SHARES: Share[] = [{ owner: 'alice', path: '/addressbooks/alice/contacts', grantee: 'bob', access: 'read' }];
const BOBS = '/addressbooks/bob/alice~contacts/';
const ADA = vcard('ada-lovelace', 'Ada Lovelace');
const GRACE = vcard('grace-hopper', 'Grace Hopper');

for (const backend of ['fs', 'git'] as BackendName[]) describe(`address book REPORTs in a shared book (${backend} backend)`, function () {
  this.timeout(30_000);
  let s: TestServer;
  const report = (path: string, body: string, depth = '1') => raw(s.url, path, { method: 'REPORT', body, headers: { ...BOB, ...XML, Depth: depth } });

  before(async () => {
    s = await startTestServer({ backend, users: { alice: 'alice-secret', bob: 'bob-secret!' }, shares: SHARES });
    for (const [name, card] of [['ada.vcf', ADA], ['grace.vcf', GRACE]] as const) {
      assert.equal((await raw(s.url, `/addressbooks/alice/contacts/${name}`, { method: 'PUT', body: card, headers: { ...ALICE, ...VCF } })).status, 201);
    }
  });
  after(() => s.close());

  it('addressbook-query by name finds Alice’s card at Bob’s href, with its data', async () => {
    const query = `<?xml version="1.0"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="${C}"><D:prop><D:getetag/><C:address-data/></D:prop><C:filter><C:prop-filter name="FN"><C:text-match collation="i;unicode-casemap" match-type="contains">hopper</C:text-match></C:prop-filter></C:filter></C:addressbook-query>`;
    const r = await report(BOBS, query);
    assert.equal(r.status, 207, r.text);
    assert.deepEqual([...r.text.matchAll(/<D:href>([^<]+)<\/D:href>/g)].map((m) => m[1]), [`${BOBS}grace.vcf`]);
    assert.match(r.text, /FN:Grace Hopper/);
    assert.doesNotMatch(r.text, /\/addressbooks\/alice\//);
  });

  it('addressbook-multiget: Bob’s hrefs give the cards; Alice’s own hrefs give 404', async () => {
    const multiget = `<?xml version="1.0"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="${C}"><D:prop><D:getetag/><C:address-data/></D:prop><D:href>${BOBS}ada.vcf</D:href><D:href>${BOBS}grace.vcf</D:href><D:href>/addressbooks/alice/contacts/ada.vcf</D:href></C:addressbook-multiget>`;
    const r = await report(BOBS, multiget);
    assert.equal(r.status, 207, r.text);
    const blocks = r.text.split('<D:response>').slice(1);
    const of = (href: string) => blocks.find((b) => b.includes(`<D:href>${href}</D:href>`)) ?? '';
    assert.match(of(`${BOBS}ada.vcf`), /FN:Ada Lovelace/);
    assert.match(of(`${BOBS}grace.vcf`), /FN:Grace Hopper/);
    assert.match(of('/addressbooks/alice/contacts/ada.vcf'), /HTTP\/1\.1 404 /);
    assert.doesNotMatch(of('/addressbooks/alice/contacts/ada.vcf'), /Lovelace/);
  });
});

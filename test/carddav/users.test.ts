/**
 * Address books with users: each user has their own address book home and default book, found by
 * discovery from their own principal; nothing of Alice's address books — cards, listings, sync
 * tokens, hrefs in a REPORT, history — reaches Bob without a share; an anonymous reader of Alice's
 * tree (--anonymous-read) reads her address books and writes nothing. Both backends.
 */
import assert from 'node:assert/strict';
import { basic, propfindBody, raw, startTestServer, XML, type BackendName, type TestServer } from '../helpers/server.js';
import { tool } from '../helpers/tools.js';
import { responses } from '../helpers/listings.js';
import { syncCollectionBody, syncReport } from '../helpers/sync-report.js';
import { vcard, VCF } from './access-helpers.js';
import { CARDDAV as C, multistatus } from './helpers.js';

const ALICE = basic('alice', 'alice-secret');
const BOB = basic('bob', 'bob-secret!');
const ADA = vcard('ada-lovelace', 'Ada Lovelace');
const cardProps = (...names: string[]) => `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="${C}"><D:prop>${names.map((n) => (n.startsWith('C:') ? `<${n}/>` : `<D:${n}/>`)).join('')}</D:prop></D:propfind>`;

for (const backend of ['fs', 'git'] as BackendName[]) describe(`CardDAV with users (${backend} backend)`, function () {
  this.timeout(30_000);
  let s: TestServer;
  let aliceToken: string;

  before(async () => {
    s = await startTestServer({ backend, users: { alice: 'alice-secret', bob: 'bob-secret!' } });
    const put = await raw(s.url, '/addressbooks/alice/contacts/ada.vcf', { method: 'PUT', body: ADA, headers: { ...ALICE, ...VCF } });
    assert.equal(put.status, 201, put.text);
    const r = await raw(s.url, '/addressbooks/alice/contacts/', { method: 'PROPFIND', body: propfindBody('sync-token'), headers: { ...ALICE, ...XML, Depth: '0' } });
    aliceToken = /<D:sync-token>([^<]+)</.exec(r.text)![1]!;
  });
  after(() => s.close());

  const aliceStill = async () => {
    assert.equal((await raw(s.url, '/addressbooks/alice/contacts/ada.vcf', { headers: ALICE })).text, ADA, 'Alice’s card is unchanged');
    const list = await raw(s.url, '/addressbooks/alice/contacts/', { method: 'PROPFIND', body: propfindBody('getetag'), headers: { ...ALICE, ...XML, Depth: '1' } });
    assert.equal((list.text.match(/<D:response>/g) ?? []).length, 2, 'nothing added to Alice’s address book');
  };

  it('each user has an address book home and a default address book of their own', async () => {
    for (const [user, who] of [['alice', ALICE], ['bob', BOB]] as const) {
      const home = await raw(s.url, `/addressbooks/${user}/`, { method: 'PROPFIND', body: propfindBody('resourcetype', 'owner', 'current-user-privilege-set'), headers: { ...who, ...XML, Depth: '1' } });
      assert.equal(home.status, 207, home.text);
      const book = responses(home.text).get(`/addressbooks/${user}/contacts/`);
      assert.ok(book, `${user}: ${home.text}`);
      assert.match(book, new RegExp(`<addressbook xmlns="${C}"/>`));
      assert.match(book, new RegExp(`<D:owner><D:href>/principals/${user}/</D:href></D:owner>`));
      assert.match(book, /<D:write\/>/, 'their own book is theirs to write');
      assert.equal((home.text.match(/<D:response>/g) ?? []).length, 2, 'the home holds the default book only');
    }
  });

  it('discovery from the root gives each user their own principal and address book home', async () => {
    for (const [user, who] of [['alice', ALICE], ['bob', BOB]] as const) {
      const wk = await raw(s.url, '/.well-known/carddav', { method: 'PROPFIND', headers: { ...who, Depth: '0' } });
      assert.equal(wk.status, 301);
      assert.equal(wk.headers.location, '/');
      const root = await raw(s.url, '/', { method: 'PROPFIND', body: propfindBody('current-user-principal'), headers: { ...who, ...XML, Depth: '0' } });
      assert.match(root.text, new RegExp(`<D:current-user-principal><D:href>/principals/${user}/</D:href>`));
      const principal = await raw(s.url, `/principals/${user}/`, { method: 'PROPFIND', body: cardProps('C:addressbook-home-set'), headers: { ...who, ...XML, Depth: '0' } });
      assert.equal(principal.status, 207);
      assert.match(principal.text, new RegExp(`addressbook-home-set[^>]*><D:href>/addressbooks/${user}/</D:href>`), principal.text);
      const options = await raw(s.url, `/addressbooks/${user}/contacts/`, { method: 'OPTIONS', headers: who });
      assert.match(String(options.headers.dav), /\baddressbook\b/);
    }
  });

  it('Bob reaches none of Alice’s address books: 404 for every read, nothing written for any write', async () => {
    for (const url of ['/addressbooks/alice/', '/addressbooks/alice/contacts/', '/addressbooks/alice/contacts/ada.vcf']) {
      for (const method of ['GET', 'PROPFIND', 'REPORT']) {
        const body = method === 'PROPFIND' ? propfindBody('displayname') : method === 'REPORT' ? syncCollectionBody('') : undefined;
        const r = await raw(s.url, url, { method, body, headers: { ...BOB, ...XML, Depth: '1' } });
        assert.equal(r.status, 404, `${method} ${url}: ${r.status}`);
        assert.doesNotMatch(r.text, /Lovelace/);
      }
    }
    const writes: Array<[string, string, Record<string, string>, string?]> = [
      ['PUT', '/addressbooks/alice/contacts/ada.vcf', VCF, vcard('ada-lovelace', 'Ada Byron')],
      ['PUT', '/addressbooks/alice/contacts/new.vcf', VCF, vcard('new', 'New Person')],
      ['DELETE', '/addressbooks/alice/contacts/ada.vcf', {}],
      ['DELETE', '/addressbooks/alice/contacts/', {}],
      ['MKCOL', '/addressbooks/alice/contacts/sub', {}],
      ['PROPPATCH', '/addressbooks/alice/contacts/', XML, '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Bob’s now</D:displayname></D:prop></D:set></D:propertyupdate>'],
      ['MOVE', '/addressbooks/alice/contacts/ada.vcf', { Destination: '/addressbooks/bob/contacts/ada.vcf' }],
    ];
    for (const [method, url, headers, body] of writes) {
      const r = await raw(s.url, url, { method, headers: { ...BOB, ...headers }, body });
      assert.ok([403, 404, 409].includes(r.status), `${method} ${url}: ${r.status} ${r.text}`);
    }
    await aliceStill();
    const names = await raw(s.url, '/addressbooks/alice/contacts/', { method: 'PROPFIND', body: propfindBody('displayname'), headers: { ...ALICE, ...XML, Depth: '0' } });
    assert.doesNotMatch(names.text, /Bob’s now/);
  });

  it('a REPORT of Bob’s with Alice’s sync token or hrefs gives him nothing of hers', async () => {
    const sync = await syncReport(s.url, '/addressbooks/bob/contacts/', aliceToken, { headers: BOB });
    assert.equal(sync.status, 403, sync.text);
    assert.match(sync.text, /valid-sync-token/);
    const own = await syncReport(s.url, '/addressbooks/alice/contacts/', aliceToken, { headers: ALICE });
    assert.equal(own.status, 207, 'the token still works for its owner');
    const multiget = `<?xml version="1.0"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="${C}"><D:prop><D:getetag/><C:address-data/></D:prop><D:href>/addressbooks/alice/contacts/ada.vcf</D:href><D:href>${s.url}/addressbooks/alice/contacts/ada.vcf</D:href></C:addressbook-multiget>`;
    const m = await raw(s.url, '/addressbooks/bob/contacts/', { method: 'REPORT', body: multiget, headers: { ...BOB, ...XML, Depth: '1' } });
    assert.doesNotMatch(m.text, /Lovelace/);
    assert.ok([207, 403, 404].includes(m.status), `${m.status} ${m.text}`);
    if (m.status === 207) assert.doesNotMatch(m.text, /HTTP\/1\.1 200 /);
  });

  it('the same href and UID in Bob’s own book is his own card, apart from Alice’s', async () => {
    const mine = vcard('ada-lovelace', 'Ada (Bob’s copy)');
    const r = await raw(s.url, '/addressbooks/bob/contacts/ada.vcf', { method: 'PUT', body: mine, headers: { ...BOB, ...VCF, 'If-None-Match': '*' } });
    assert.equal(r.status, 201, `UIDs are unique per address book, not across users: ${r.text}`);
    assert.equal((await raw(s.url, '/addressbooks/bob/contacts/ada.vcf', { headers: BOB })).text, mine);
    await aliceStill();
  });

  if (backend === 'git') it('history: Alice’s card is a commit of hers in her repository only', async () => {
    const log = await tool('git', ['--git-dir', `${s.root}/users/alice`, 'log', '--format=%an|%s', '--', 'addressbooks/alice/contacts/ada.vcf']);
    assert.match(log.stdout, /^alice\|/, log.stdout);
    const bobs = await tool('git', ['--git-dir', `${s.root}/users/bob`, 'log', '--all', '--format=%s', '--name-only']);
    assert.doesNotMatch(bobs.stdout, /addressbooks\/alice/);
    // The card's versions are in Alice's history; Bob's history holds his own address book home only.
    const versions = await raw(s.url, '/.history/versions/addressbooks/alice/contacts/ada.vcf/', { method: 'PROPFIND', body: propfindBody('resourcetype'), headers: { ...ALICE, ...XML, Depth: '1' } });
    assert.equal(versions.status, 207, versions.text);
    assert.equal([...multistatus(versions.text).keys()].length, 2, `the folder and Alice’s one version: ${versions.text}`);
    assert.equal((await raw(s.url, '/.history/versions/addressbooks/alice/contacts/ada.vcf/', { method: 'PROPFIND', body: propfindBody('resourcetype'), headers: { ...BOB, ...XML, Depth: '1' } })).status, 404);
    const bobsHomes = await raw(s.url, '/.history/branches/main/addressbooks/', { method: 'PROPFIND', body: propfindBody('resourcetype'), headers: { ...BOB, ...XML, Depth: '1' } });
    assert.equal(bobsHomes.status, 207, bobsHomes.text);
    assert.deepEqual([...multistatus(bobsHomes.text).keys()].sort(), ['/.history/branches/main/addressbooks/', '/.history/branches/main/addressbooks/bob/']);
  });
});

describe('CardDAV with --anonymous-read', function () {
  this.timeout(30_000);
  for (const backend of ['fs', 'git'] as BackendName[]) {
    it(`${backend} backend: the configured user’s address books are readable without a login, never writable, shares not included`, async () => {
      const shares = [{ owner: 'bob', path: '/addressbooks/bob/contacts', grantee: 'alice', access: 'write' as const }];
      const s = await startTestServer({ backend, users: { alice: 'alice-secret', bob: 'bob-secret!' }, anonymousRead: 'alice', shares });
      try {
        assert.equal((await raw(s.url, '/addressbooks/alice/contacts/ada.vcf', { method: 'PUT', body: ADA, headers: { ...ALICE, ...VCF } })).status, 201);
        assert.equal((await raw(s.url, '/addressbooks/bob/contacts/grace.vcf', { method: 'PUT', body: vcard('grace', 'Grace Hopper'), headers: { ...BOB, ...VCF } })).status, 201);
        assert.equal((await raw(s.url, '/addressbooks/alice/bob~contacts/grace.vcf', { headers: ALICE })).status, 200, 'Alice reads what Bob shared with her');

        assert.equal((await raw(s.url, '/addressbooks/alice/contacts/ada.vcf')).text, ADA);
        const home = await raw(s.url, '/addressbooks/alice/', { method: 'PROPFIND', body: propfindBody('resourcetype', 'current-user-privilege-set'), headers: { ...XML, Depth: '1' } });
        assert.equal(home.status, 207);
        const book = responses(home.text).get('/addressbooks/alice/contacts/');
        assert.ok(book, home.text);
        assert.match(book, /<D:read\/>/);
        assert.doesNotMatch(book, /<D:write\/>/, 'read-only for an anonymous reader');
        assert.equal(responses(home.text).get('/addressbooks/alice/bob~contacts/'), undefined, 'what Bob shared with Alice is not shared with the public');
        assert.equal((await raw(s.url, '/addressbooks/alice/bob~contacts/grace.vcf')).status, 404);
        const sync = await syncReport(s.url, '/addressbooks/alice/contacts/', '');
        assert.equal(sync.status, 207);
        assert.deepEqual([...sync.changed.keys()], ['/addressbooks/alice/contacts/ada.vcf']);

        for (const [method, url] of [['PUT', '/addressbooks/alice/contacts/ada.vcf'], ['PUT', '/addressbooks/alice/contacts/new.vcf'], ['DELETE', '/addressbooks/alice/contacts/ada.vcf'], ['MKCOL', '/addressbooks/alice/other/'], ['PROPPATCH', '/addressbooks/alice/contacts/'], ['MOVE', '/addressbooks/alice/contacts/ada.vcf']]) {
          const r = await raw(s.url, url!, { method, body: method === 'PUT' ? vcard('x', 'Defaced') : undefined, headers: { ...VCF, Destination: `${s.url}/moved.vcf` } });
          assert.equal(r.status, 401, `${method} ${url}: anonymous writes ask for a login, as everywhere`);
        }
        assert.equal((await raw(s.url, '/addressbooks/alice/contacts/ada.vcf', { headers: ALICE })).text, ADA);
        assert.equal((await raw(s.url, '/addressbooks/alice/contacts/new.vcf', { headers: ALICE })).status, 404);
      } finally {
        await s.close();
      }
    });
  }
});

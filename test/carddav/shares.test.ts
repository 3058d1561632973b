/**
 * Shared address books (`gitdav share`): Alice's default address book, shared read-only with Bob and
 * read-write with Carol, appears in each grantee's address book home at /addressbooks/GRANTEE/alice~contacts/
 * beside their own book. Bob reads, lists and syncs it and writes nothing; Carol's writes land in
 * Alice's tree (on git, commits in Alice's repository authored by Carol); Dave, not granted, sees
 * nothing; a removed share is gone from the running server. Both backends.
 */
import assert from 'node:assert/strict';
import { DAVClient } from 'tsdav';
import { writeShares, type Share } from '../../lib/auth/shares-file.js';
import { basic, propfindBody, raw, startTestServer, XML, type BackendName, type TestServer } from '../helpers/server.js';
import { tool } from '../helpers/tools.js';
import { responses } from '../helpers/listings.js';
import { syncReport } from '../helpers/sync-report.js';
import { vcard, VCF } from './access-helpers.js';
import { CARDDAV as C } from './helpers.js';

const ALICE = basic('alice', 'alice-secret');
const BOB = basic('bob', 'bob-secret!');
const CAROL = basic('carol', 'carol-secret');
const DAVE = basic('dave', 'dave-secret');
const USERS = { alice: 'alice-secret', bob: 'bob-secret!', carol: 'carol-secret', dave: 'dave-secret' };
const ADA = vcard('ada-lovelace', 'Ada Lovelace');
const SHARES: Share[] = [
  { owner: 'alice', path: '/addressbooks/alice/contacts', grantee: 'bob', access: 'read' },
  { owner: 'alice', path: '/addressbooks/alice/contacts', grantee: 'carol', access: 'write' },
];
const BOBS = '/addressbooks/bob/alice~contacts/';
const CAROLS = '/addressbooks/carol/alice~contacts/';

for (const backend of ['fs', 'git'] as BackendName[]) describe(`shared address books (${backend} backend)`, function () {
  this.timeout(30_000);
  let s: TestServer;
  const get = (path: string, who = ALICE) => raw(s.url, path, { headers: who });
  const put = (path: string, body: string, who: Record<string, string>, headers: Record<string, string> = {}) => raw(s.url, path, { method: 'PUT', body, headers: { ...who, ...VCF, ...headers } });
  const members = async (path: string, who: Record<string, string>) => {
    const r = await raw(s.url, path, { method: 'PROPFIND', body: propfindBody('getetag'), headers: { ...who, ...XML, Depth: '1' } });
    return [...r.text.matchAll(/<D:href>([^<]+\.vcf)<\/D:href>/g)].map((m) => m[1]!.split('/').pop()!).sort();
  };

  before(async () => {
    s = await startTestServer({ backend, users: USERS, shares: SHARES });
    assert.equal((await put('/addressbooks/alice/contacts/ada.vcf', ADA, ALICE)).status, 201);
  });
  after(() => s.close());

  it('each grantee finds the shared book in their own address book home, with what they may do and whose it is', async () => {
    for (const [who, home, write] of [[BOB, '/addressbooks/bob/', false], [CAROL, '/addressbooks/carol/', true]] as const) {
      const r = await raw(s.url, home, { method: 'PROPFIND', body: propfindBody('resourcetype', 'current-user-privilege-set', 'owner', 'displayname'), headers: { ...who, ...XML, Depth: '1' } });
      assert.equal(r.status, 207);
      const shared = responses(r.text).get(`${home}alice~contacts/`);
      assert.ok(shared, r.text);
      assert.match(shared, new RegExp(`<addressbook xmlns="${C}"/>`), 'an address book, for clients listing the home');
      assert.match(shared, /<D:owner><D:href>\/principals\/alice\/<\/D:href><\/D:owner>/);
      assert.match(shared, /<D:read\/>/);
      if (write) {
        assert.match(shared, /<D:write\/>/);
        assert.match(shared, /<D:write-content\/>/);
        assert.doesNotMatch(shared, /<D:unlock\/>/, 'lifting Alice’s locks stays hers');
      } else assert.doesNotMatch(shared, /<D:write|<D:bind\/>|<D:unbind\/>/, 'read-only: clients show it so');
      const own = responses(r.text).get(`${home}contacts/`);
      assert.ok(own, 'the grantee’s own default book is still there');
      assert.match(own, /<D:write\/>/);
      // macOS Contacts syncs only the first address book listed: the grantee's own must come first.
      assert.ok(r.text.indexOf(`<D:href>${home}contacts/</D:href>`) < r.text.indexOf(`<D:href>${home}alice~contacts/</D:href>`), 'own books listed before shared ones');
    }
  });

  it('read-only (Bob): GET, PROPFIND and sync-collection work, at his paths, with Alice’s ETags', async () => {
    const card = await get(`${BOBS}ada.vcf`, BOB);
    assert.equal(card.status, 200);
    assert.equal(card.text, ADA, 'the bytes Alice stored');
    assert.equal(card.headers.etag, (await get('/addressbooks/alice/contacts/ada.vcf')).headers.etag, 'one card, one ETag, whoever looks');
    assert.deepEqual(await members(BOBS, BOB), ['ada.vcf']);
    const first = await syncReport(s.url, BOBS, '', { headers: BOB });
    assert.equal(first.status, 207, first.text);
    assert.deepEqual([...first.changed.keys()], [`${BOBS}ada.vcf`], 'at Bob’s path, none in Alice’s');
    // Alice adds a card: Bob's next sync from his token has it (and only it).
    assert.equal((await put('/addressbooks/alice/contacts/charles.vcf', vcard('charles-babbage', 'Charles Babbage'), ALICE)).status, 201);
    assert.ok(first.token);
    const next = await syncReport(s.url, BOBS, first.token, { headers: BOB });
    assert.equal(next.status, 207, next.text);
    assert.deepEqual([...next.changed.keys()], [`${BOBS}charles.vcf`]);
    assert.deepEqual(next.removed, []);
  });

  it('the shared book answers a sync client’s probe (DAVx5) as the owner’s does: getctag, sync-token, vCard versions, size limit', async () => {
    const probe = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="${C}" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/><D:sync-token/><C:supported-address-data/><C:max-resource-size/><D:supported-report-set/></D:prop></D:propfind>`;
    const bobs = await raw(s.url, BOBS, { method: 'PROPFIND', body: probe, headers: { ...BOB, ...XML, Depth: '0' } });
    assert.equal(bobs.status, 207, bobs.text);
    assert.doesNotMatch(bobs.text, /404 Not Found/, bobs.text);
    assert.match(bobs.text, /address-data-type[^>]*content-type="text\/vcard"[^>]*version="3\.0"/);
    assert.match(bobs.text, /<D:sync-collection\/>/);
    const alices = await raw(s.url, '/addressbooks/alice/contacts/', { method: 'PROPFIND', body: probe, headers: { ...ALICE, ...XML, Depth: '0' } });
    const ctag = (text: string) => /getctag[^>]*>([^<]+)</.exec(text)?.[1];
    assert.ok(ctag(bobs.text));
    assert.equal(ctag(bobs.text), ctag(alices.text), 'one book, one ctag, whoever looks');
  });

  it('read-only (Bob): every write into the shared book is 403 (as for a shared calendar), and Alice’s cards are unchanged', async () => {
    const before = await members('/addressbooks/alice/contacts/', ALICE);
    assert.equal((await put('/addressbooks/bob/contacts/mine.vcf', vcard('bobs-own', 'Bob Own'), BOB)).status, 201);
    const attempts: Array<[string, string, Record<string, string>, string?]> = [
      ['PUT', `${BOBS}ada.vcf`, VCF, vcard('ada-lovelace', 'Ada Byron')],
      ['PUT', `${BOBS}new.vcf`, { ...VCF, 'If-None-Match': '*' }, vcard('new-one', 'New One')],
      ['DELETE', `${BOBS}ada.vcf`, {}],
      ['DELETE', BOBS, {}],
      ['MKCOL', `${BOBS}sub`, {}],
      ['PROPPATCH', `${BOBS}ada.vcf`, XML, '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:y xmlns:x="urn:x">1</x:y></D:prop></D:set></D:propertyupdate>'],
      ['MOVE', `${BOBS}ada.vcf`, { Destination: '/addressbooks/bob/contacts/ada.vcf' }],
      ['COPY', '/addressbooks/bob/contacts/mine.vcf', { Destination: `${BOBS}mine.vcf` }],
      ['MOVE', '/addressbooks/bob/contacts/mine.vcf', { Destination: `${BOBS}mine.vcf` }],
    ];
    for (const [method, url, headers, body] of attempts) {
      const r = await raw(s.url, url, { method, headers: { ...BOB, ...headers }, body });
      assert.equal(r.status, 403, `${method} ${url}: ${r.status} ${r.text}`);
      // Every one says why (RFC 3744 §7.1.1), whether refused before it runs (a write at a URL in the
      // share) or by the mount (a PROPPATCH of a card, a COPY or MOVE from Bob's own book into it).
      assert.match(r.text, /<D:need-privileges\/>/, `${method} ${url}: ${r.text}`);
    }
    assert.equal((await get('/addressbooks/alice/contacts/ada.vcf')).text, ADA);
    assert.deepEqual(await members('/addressbooks/alice/contacts/', ALICE), before);
    assert.equal((await get('/addressbooks/bob/contacts/mine.vcf', BOB)).status, 200, 'the refused move left Bob’s card where it was');
    // Copying out is a read.
    assert.equal((await raw(s.url, `${BOBS}ada.vcf`, { method: 'COPY', headers: { ...BOB, Destination: '/addressbooks/bob/contacts/ada-copy.vcf' } })).status, 201);
    assert.equal((await get('/addressbooks/bob/contacts/ada-copy.vcf', BOB)).text, ADA);
    // How Bob sees the shared book (its name) is his own to set, as for a shared calendar; Alice's name stays.
    const rename = '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Alice’s contacts</D:displayname></D:prop></D:set></D:propertyupdate>';
    assert.equal((await raw(s.url, BOBS, { method: 'PROPPATCH', body: rename, headers: { ...BOB, ...XML } })).status, 207);
    assert.match((await raw(s.url, BOBS, { method: 'PROPFIND', body: propfindBody('displayname'), headers: { ...BOB, ...XML, Depth: '0' } })).text, /Alice’s contacts/);
    assert.doesNotMatch((await raw(s.url, '/addressbooks/alice/contacts/', { method: 'PROPFIND', body: propfindBody('displayname'), headers: { ...ALICE, ...XML, Depth: '0' } })).text, /Alice’s contacts/);
  });

  it('read-write (Carol): creates, updates and deletes cards; they are Alice’s, and Bob sees them', async () => {
    const grace = vcard('grace-hopper', 'Grace Hopper');
    const made = await put(`${CAROLS}grace.vcf`, grace, CAROL, { 'If-None-Match': '*' });
    assert.equal(made.status, 201, made.text);
    const alices = await get('/addressbooks/alice/contacts/grace.vcf');
    assert.equal(alices.text, grace, 'stored in Alice’s address book, bytes unchanged');
    assert.ok(made.headers.etag, 'PUT answers the stored card’s ETag');
    assert.equal(made.headers.etag, alices.headers.etag, 'the ETag Carol got is the one Alice sees');
    assert.equal((await get(`${BOBS}grace.vcf`, BOB)).text, grace, 'and Bob, reading the same book, sees it');
    assert.equal((await put(`${CAROLS}grace.vcf`, grace, CAROL, { 'If-None-Match': '*' })).status, 412);
    assert.equal((await put(`${CAROLS}grace.vcf`, grace, CAROL, { 'If-Match': '"stale"' })).status, 412);
    const edited = vcard('grace-hopper', 'Grace Brewster Hopper');
    assert.equal((await put(`${CAROLS}grace.vcf`, edited, CAROL, { 'If-Match': String(alices.headers.etag) })).status, 204);
    assert.equal((await get('/addressbooks/alice/contacts/grace.vcf')).text, edited);
    // A card of Carol's own, copied into the shared book: Alice has it, Carol keeps hers.
    const own = vcard('carols-friend', 'Katherine Johnson');
    assert.equal((await put('/addressbooks/carol/contacts/kj.vcf', own, CAROL)).status, 201);
    assert.equal((await raw(s.url, '/addressbooks/carol/contacts/kj.vcf', { method: 'COPY', headers: { ...CAROL, Destination: `${CAROLS}kj.vcf` } })).status, 201);
    assert.equal((await get('/addressbooks/alice/contacts/kj.vcf')).text, own);
    assert.equal((await get('/addressbooks/carol/contacts/kj.vcf', CAROL)).text, own);
    assert.equal((await raw(s.url, `${CAROLS}kj.vcf`, { method: 'DELETE', headers: CAROL })).status, 204);
    assert.equal((await get('/addressbooks/alice/contacts/kj.vcf')).status, 404);
    assert.deepEqual(await members(CAROLS, CAROL), await members('/addressbooks/alice/contacts/', ALICE));
    if (backend === 'git') {
      const log = await tool('git', ['--git-dir', `${s.root}/users/alice`, 'log', '--format=%an|%s', '--', 'addressbooks/alice/contacts/grace.vcf', 'addressbooks/alice/contacts/kj.vcf']);
      // Carol's writes are commits in Alice's repository, authored by her, with the contacts' messages.
      assert.deepEqual(log.stdout.trim().split('\n'), [
        'carol|Delete contact "Katherine Johnson"',
        'carol|Copy contact "Katherine Johnson"',
        'carol|Update contact "Grace Brewster Hopper"',
        'carol|Add contact "Grace Hopper"',
      ]);
      const carols = await tool('git', ['--git-dir', `${s.root}/users/carol`, 'log', '--all', '--format=%s', '--name-only']);
      assert.doesNotMatch(carols.stdout, /grace\.vcf/, 'nothing of it in Carol’s own repository');
    }
  });

  it('read-write (Carol): her cards are validated as Alice’s are, and a UID is unique in the book whoever writes', async () => {
    const before = await members('/addressbooks/alice/contacts/', ALICE);
    // Alice's UID, from Carol's side: 409 no-uid-conflict naming Alice's card as Carol sees it.
    const clash = await put(`${CAROLS}dup.vcf`, vcard('ada-lovelace', 'Ada Again'), CAROL);
    assert.equal(clash.status, 409, clash.text);
    assert.match(clash.text, /no-uid-conflict[^]*<D:href>\/addressbooks\/carol\/alice~contacts\/ada\.vcf<\/D:href>/);
    assert.doesNotMatch(clash.text, /\/addressbooks\/alice\//, 'nothing in Alice’s paths');
    // Carol's UID (grace-hopper, stored through the share), from Alice's side: the same index.
    const back = await put('/addressbooks/alice/contacts/dup.vcf', vcard('grace-hopper', 'Grace Again'), ALICE);
    assert.equal(back.status, 409, back.text);
    assert.match(back.text, /<D:href>\/addressbooks\/alice\/contacts\/grace\.vcf<\/D:href>/);
    // A card of Carol's own with Alice's UID cannot be moved or copied in either; hers stays.
    assert.equal((await put('/addressbooks/carol/contacts/ada.vcf', vcard('ada-lovelace', 'Carol’s Ada'), CAROL)).status, 201);
    for (const method of ['MOVE', 'COPY']) {
      const r = await raw(s.url, '/addressbooks/carol/contacts/ada.vcf', { method, headers: { ...CAROL, Destination: `${CAROLS}carols-ada.vcf` } });
      assert.equal(r.status, 409, `${method}: ${r.text}`);
      assert.match(r.text, /no-uid-conflict/);
    }
    assert.equal((await get('/addressbooks/carol/contacts/ada.vcf', CAROL)).status, 200, 'the refused move left Carol’s card where it was');
    // Not a vCard, a calendar object, a card without UID: 403 valid-address-data / supported-address-data.
    assert.match((await put(`${CAROLS}bad.vcf`, 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No UID\r\nEND:VCARD\r\n', CAROL)).text, /valid-address-data/);
    const ics = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:e\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
    const cal = await raw(s.url, `${CAROLS}event.ics`, { method: 'PUT', body: ics, headers: { ...CAROL, 'Content-Type': 'text/calendar' } });
    assert.equal(cal.status, 403, cal.text);
    assert.match(cal.text, /supported-address-data|valid-address-data/);
    assert.deepEqual(await members('/addressbooks/alice/contacts/', ALICE), before, 'nothing stored');
  });

  it('read-write (Carol): the shared book itself stays Alice’s', async () => {
    const refusals: Array<[string, Record<string, string>, number, RegExp, string?]> = [
      ['DELETE', {}, 403, /the shared collection itself is its owner’s/],
      ['MOVE', { Destination: '/addressbooks/carol/taken/' }, 403, /the shared collection itself is its owner’s/],
      ['PUT', VCF, 405, /PUT cannot replace or create a collection/, vcard('over', 'Over Written')],
    ];
    for (const [method, headers, status, why, body] of refusals) {
      const r = await raw(s.url, CAROLS, { method, body, headers: { ...CAROL, ...headers } });
      assert.equal(r.status, status, `${method} ${CAROLS}: ${r.text}`);
      assert.match(r.text, why, `${method} ${CAROLS}`);
    }
    assert.equal((await get('/addressbooks/carol/taken/', CAROL)).status, 404, 'nothing moved');
    assert.deepEqual(await members(CAROLS, CAROL), await members('/addressbooks/alice/contacts/', ALICE));
    assert.equal((await get('/addressbooks/alice/contacts/ada.vcf')).text, ADA);
  });

  it('a grantee’s address book client (tsdav) finds the shared book beside their own and writes into it', async () => {
    const client = new DAVClient({ serverUrl: `${s.url}/`, credentials: { username: 'carol', password: 'carol-secret' }, authMethod: 'Basic', defaultAccountType: 'carddav' });
    await client.login();
    const books = await client.fetchAddressBooks();
    assert.deepEqual(books.map((b) => b.url).sort(), [`${s.url}${CAROLS}`, `${s.url}/addressbooks/carol/contacts/`]);
    const shared = books.find((b) => b.url.endsWith('/alice~contacts/'))!;
    const card = vcard('mary-jackson', 'Mary Jackson');
    const made = await client.createVCard({ addressBook: shared, filename: 'mary.vcf', vCardString: card });
    assert.equal(made.status, 201);
    assert.equal((await get('/addressbooks/alice/contacts/mary.vcf')).text, card);
    const bob = new DAVClient({ serverUrl: `${s.url}/`, credentials: { username: 'bob', password: 'bob-secret!' }, authMethod: 'Basic', defaultAccountType: 'carddav' });
    await bob.login();
    assert.deepEqual((await bob.fetchAddressBooks()).map((b) => b.url).sort(), [`${s.url}${BOBS}`, `${s.url}/addressbooks/bob/contacts/`]);
  });

  it('Dave, not granted, finds nothing of Alice’s; a removed share is gone from the running server', async () => {
    for (const url of [`${BOBS}ada.vcf`, '/addressbooks/dave/alice~contacts/ada.vcf', '/addressbooks/alice/contacts/ada.vcf']) {
      assert.equal((await get(url, DAVE)).status, 404, url);
    }
    const home = await raw(s.url, '/addressbooks/dave/', { method: 'PROPFIND', body: propfindBody('resourcetype'), headers: { ...DAVE, ...XML, Depth: '1' } });
    assert.doesNotMatch(home.text, /alice~/);
    await writeShares(s.root, SHARES.slice(1));
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await get(`${BOBS}ada.vcf`, BOB)).status, 404);
    const bobs = await raw(s.url, '/addressbooks/bob/', { method: 'PROPFIND', body: propfindBody('resourcetype'), headers: { ...BOB, ...XML, Depth: '1' } });
    assert.doesNotMatch(bobs.text, /alice~contacts/);
    assert.equal((await get(`${CAROLS}ada.vcf`, CAROL)).status, 200, 'the other share stays');
    assert.equal((await get('/addressbooks/alice/contacts/ada.vcf')).text, ADA);
    await writeShares(s.root, SHARES);
    await new Promise((r) => setTimeout(r, 1100));
  });
});

describe('an address book Alice made (extended MKCOL) and her calendar, shared with one grantee', function () {
  this.timeout(30_000);
  for (const backend of ['fs', 'git'] as BackendName[]) {
    it(`${backend} backend: each in Bob’s home of its kind, the book writable, the calendar not`, async () => {
      const shares: Share[] = [
        { owner: 'alice', path: '/addressbooks/alice/family', grantee: 'bob', access: 'write' },
        { owner: 'alice', path: '/calendars/alice/calendar', grantee: 'bob', access: 'read' },
      ];
      const s = await startTestServer({ backend, users: USERS, shares });
      try {
        const mkcol = `<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="${C}"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>Family</D:displayname></D:prop></D:set></D:mkcol>`;
        const made = await raw(s.url, '/addressbooks/alice/family/', { method: 'MKCOL', body: mkcol, headers: { ...ALICE, ...XML } });
        assert.equal(made.status, 201, made.text);
        const books = await raw(s.url, '/addressbooks/bob/', { method: 'PROPFIND', body: propfindBody('resourcetype', 'displayname', 'current-user-privilege-set'), headers: { ...BOB, ...XML, Depth: '1' } });
        const family = responses(books.text).get('/addressbooks/bob/alice~family/');
        assert.ok(family, books.text);
        assert.match(family, new RegExp(`<addressbook xmlns="${C}"/>`));
        assert.match(family, /displayname[^>]*>Family</);
        assert.match(family, /<D:write-content\/>/);
        assert.doesNotMatch(books.text, /alice~calendar/, 'the calendar is not among the address books');
        const calendars = await raw(s.url, '/calendars/bob/', { method: 'PROPFIND', body: propfindBody('current-user-privilege-set'), headers: { ...BOB, ...XML, Depth: '1' } });
        const calendar = responses(calendars.text).get('/calendars/bob/alice~calendar/');
        assert.ok(calendar, calendars.text);
        assert.doesNotMatch(calendar, /<D:write/);
        assert.doesNotMatch(calendars.text, /alice~family/);
        const card = vcard('grandma', 'Grandma Moses');
        assert.equal((await raw(s.url, '/addressbooks/bob/alice~family/grandma.vcf', { method: 'PUT', body: card, headers: { ...BOB, ...VCF } })).status, 201);
        assert.equal((await raw(s.url, '/addressbooks/alice/family/grandma.vcf', { headers: ALICE })).text, card);
        // Bob's own book keeps its UIDs apart from Alice's: the same card is fine there.
        assert.equal((await raw(s.url, '/addressbooks/bob/contacts/grandma.vcf', { method: 'PUT', body: card, headers: { ...BOB, ...VCF } })).status, 201);
      } finally {
        await s.close();
      }
    });
  }
});

describe('OWNER~NAME in a calendar or address book home is where shares appear: no user makes one of their own', function () {
  this.timeout(30_000);
  for (const backend of ['fs', 'git'] as BackendName[]) {
    it(`${backend} backend: MKCOL, extended MKCOL, MKCALENDAR, PUT, COPY and MOVE there are 403 with why; elsewhere ~ is fine; the share itself is unchanged`, async () => {
      const shares: Share[] = [{ owner: 'alice', path: '/addressbooks/alice/contacts', grantee: 'bob', access: 'write' }];
      const s = await startTestServer({ backend, users: USERS, shares });
      const as = (method: string, path: string, headers: Record<string, string> = {}, body?: string) => raw(s.url, path, { method, body, headers: { ...BOB, ...headers } });
      try {
        const book = `<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="${C}"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>`;
        assert.equal((await as('MKCOL', '/addressbooks/bob/mine/', XML, book)).status, 201);
        assert.equal((await as('MKCOL', '/calendars/bob/work/')).status, 201);
        const attempts: Array<[string, string, Record<string, string>, string?]> = [
          ['MKCOL', '/addressbooks/bob/carol~family/', {}],
          ['MKCOL', '/addressbooks/bob/carol~family/', XML, book],
          ['MKCOL', '/calendars/bob/carol~work/', {}],
          ['MKCALENDAR', '/calendars/bob/carol~work/', {}],
          ['MKCALENDAR', '/calendars/bob/~/', {}],
          ['PUT', '/addressbooks/bob/carol~x.vcf', VCF, vcard('loose', 'Loose Card')],
          ['COPY', '/addressbooks/bob/mine/', { Destination: '/addressbooks/bob/carol~mine/' }],
          ['MOVE', '/addressbooks/bob/mine/', { Destination: '/addressbooks/bob/carol~mine/' }],
          ['MOVE', '/calendars/bob/work/', { Destination: `${s.url}/calendars/bob/carol~work/` }],
        ];
        for (const [method, path, headers, body] of attempts) {
          const r = await as(method, path, headers, body);
          assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
          assert.match(r.text, /is reserved: a name with ~ directly in a calendar or address book home is where shares appear \(OWNER~NAME\)/, `${method} ${path}`);
        }
        for (const path of ['/addressbooks/bob/carol~family/', '/calendars/bob/carol~work/', '/calendars/bob/~/', '/addressbooks/bob/carol~x.vcf', '/addressbooks/bob/carol~mine/']) {
          assert.equal((await as('PROPFIND', path, { Depth: '0' })).status, 404, `nothing made at ${path}`);
        }
        assert.equal((await as('PROPFIND', '/addressbooks/bob/mine/', { Depth: '0' })).status, 207, 'the refused move left the book where it was');
        // Deeper down, or outside the homes, ~ is an ordinary character.
        assert.equal((await as('PUT', '/addressbooks/bob/mine/a~b.vcf', VCF, vcard('tilde', 'Tilde Card'))).status, 201);
        assert.equal((await as('MKCOL', '/notes~old/')).status, 201);
        // The share's own mount point answers as before: it exists (405), and what goes into it is Alice's.
        assert.equal((await as('MKCOL', '/addressbooks/bob/alice~contacts/')).status, 405);
        assert.equal((await as('PUT', '/addressbooks/bob/alice~contacts/grace.vcf', VCF, vcard('grace', 'Grace Hopper'))).status, 201);
        assert.equal((await raw(s.url, '/addressbooks/alice/contacts/grace.vcf', { headers: ALICE })).status, 200);
      } finally {
        await s.close();
      }
    });
  }
});

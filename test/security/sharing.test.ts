/**
 * Read-only shares (`gitdav share`): Alice's folder and calendar appear in Bob's tree, Bob can read,
 * list, query, sync and copy out of them — and write nothing there; Carol, not granted, sees none of it; removing
 * the share takes it away from a running server. Both backends.
 */
import assert from 'node:assert/strict';
import { DAVClient } from 'tsdav';
import { writeShares, type Share } from '../../lib/auth/shares-file.js';
import { basic, lockBody, propfindBody, raw, startTestServer, XML, type BackendName, type TestServer } from '../helpers/server.js';

const ALICE = basic('alice', 'alice-secret');
const BOB = basic('bob', 'bob-secret!');
const CAROL = basic('carol', 'carol-secret');
const EVENT = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', 'BEGIN:VEVENT', 'UID:team-meeting', 'DTSTAMP:20260101T000000Z', 'DTSTART:20261201T100000Z', 'DURATION:PT1H', 'SUMMARY:Team meeting', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
const SHARES: Share[] = [
  { owner: 'alice', path: '/docs', grantee: 'bob', access: 'read' },
  { owner: 'alice', path: '/calendars/alice/calendar', grantee: 'bob', access: 'read' },
];

for (const backend of ['fs', 'git'] as BackendName[]) describe(`read-only shares (${backend} backend)`, function () {
  this.timeout(30_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend, users: { alice: 'alice-secret', bob: 'bob-secret!', carol: 'carol-secret' }, shares: SHARES });
    assert.equal((await raw(s.url, '/docs', { method: 'MKCOL', headers: ALICE })).status, 201);
    assert.equal((await raw(s.url, '/docs/plan.txt', { method: 'PUT', body: 'the plan', headers: ALICE })).status, 201);
    assert.equal((await raw(s.url, '/private.txt', { method: 'PUT', body: 'alice only', headers: ALICE })).status, 201);
    assert.equal((await raw(s.url, '/calendars/alice/calendar/meeting.ics', { method: 'PUT', body: EVENT, headers: { ...ALICE, 'Content-Type': 'text/calendar' } })).status, 201);
  });
  after(() => s.close());

  const aliceStill = async () => {
    assert.equal((await raw(s.url, '/docs/plan.txt', { headers: ALICE })).text, 'the plan');
    assert.equal((await raw(s.url, '/calendars/alice/calendar/meeting.ics', { headers: ALICE })).text, EVENT);
    const list = await raw(s.url, '/docs/', { method: 'PROPFIND', body: propfindBody('displayname'), headers: { ...ALICE, ...XML, Depth: '1' } });
    assert.equal((list.text.match(/<D:response>/g) ?? []).length, 2, 'nothing added to Alice’s folder');
  };

  it('Bob reads and lists the shared folder where shares appear; nothing else of Alice’s', async () => {
    const root = await raw(s.url, '/', { method: 'PROPFIND', body: propfindBody('resourcetype'), headers: { ...BOB, ...XML, Depth: '1' } });
    assert.match(root.text, /<D:href>\/shared\/<\/D:href>/);
    const shared = await raw(s.url, '/shared/alice/', { method: 'PROPFIND', body: propfindBody('resourcetype'), headers: { ...BOB, ...XML, Depth: '1' } });
    assert.match(shared.text, /\/shared\/alice\/docs\//);
    assert.equal((await raw(s.url, '/shared/alice/docs/plan.txt', { headers: BOB })).text, 'the plan');
    for (const url of ['/shared/alice/private.txt', '/shared/alice/docs/../private.txt', '/shared/alice/calendars/alice/calendar/meeting.ics', '/private.txt']) {
      const r = await raw(s.url, url, { headers: BOB });
      assert.ok([400, 403, 404].includes(r.status), `${url}: ${r.status}`);
    }
    assert.equal((await raw(s.url, '/shared/alice/docs/plan.txt', { headers: CAROL })).status, 404, 'Carol was not granted anything');
  });

  it('every write into a share is refused with 403, and Alice’s data is unchanged', async () => {
    await raw(s.url, '/mine.txt', { method: 'PUT', body: 'bob’s', headers: BOB });
    const attempts: Array<[string, string, Record<string, string>, string?]> = [
      ['PUT', '/shared/alice/docs/plan.txt', {}, 'overwritten'],
      ['PUT', '/shared/alice/docs/new.txt', {}, 'new'],
      ['DELETE', '/shared/alice/docs/plan.txt', {}],
      ['DELETE', '/shared/alice/docs/', {}],
      ['DELETE', '/shared/', {}],
      ['MKCOL', '/shared/alice/docs/sub', {}],
      ['PROPPATCH', '/shared/alice/docs/plan.txt', XML, '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:y xmlns:x="urn:x">1</x:y></D:prop></D:set></D:propertyupdate>'],
      ['LOCK', '/shared/alice/docs/plan.txt', XML, lockBody()],
      ['MOVE', '/shared/alice/docs/plan.txt', { Destination: '/stolen.txt' }],
      ['COPY', '/mine.txt', { Destination: '/shared/alice/docs/mine.txt' }],
      ['MOVE', '/mine.txt', { Destination: '/shared/alice/docs/mine.txt' }],
      ['PUT', '/calendars/bob/alice~calendar/meeting.ics', { 'Content-Type': 'text/calendar' }, EVENT.replace('Team meeting', 'Cancelled!')],
    ];
    for (const [method, url, headers, body] of attempts) {
      const r = await raw(s.url, url, { method, headers: { ...BOB, ...headers }, body });
      assert.equal(r.status, 403, `${method} ${url}: ${r.status} ${r.text}`);
    }
    await aliceStill();
    assert.equal((await raw(s.url, '/mine.txt', { headers: BOB })).text, 'bob’s');
    // Only how Bob sees the shared calendar (its name, its colour) is his to set.
    const rename = '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Alice’s</D:displayname></D:prop></D:set></D:propertyupdate>';
    assert.equal((await raw(s.url, '/calendars/bob/alice~calendar/', { method: 'PROPPATCH', body: rename, headers: { ...BOB, ...XML } })).status, 207);
    const alices = await raw(s.url, '/calendars/alice/calendar/', { method: 'PROPFIND', body: propfindBody('displayname'), headers: { ...ALICE, ...XML, Depth: '0' } });
    assert.doesNotMatch(alices.text, /Alice’s/);
  });

  it('Bob may copy out of a read-only share into his own tree (reading is all it takes)', async () => {
    const r = await raw(s.url, '/shared/alice/docs/', { method: 'COPY', headers: { ...BOB, Destination: '/docs-copy/' } });
    assert.equal(r.status, 201, r.text);
    assert.equal((await raw(s.url, '/docs-copy/plan.txt', { headers: BOB })).text, 'the plan');
    assert.equal((await raw(s.url, '/shared/alice/docs/plan.txt', { method: 'MOVE', headers: { ...BOB, Destination: '/moved.txt' } })).status, 403, 'moving out would change Alice’s');
    await aliceStill();
  });

  it('the shared calendar is in Bob’s calendar home: read-only privileges, query and sync work', async () => {
    const home = await raw(s.url, '/calendars/bob/', { method: 'PROPFIND', body: propfindBody('resourcetype', 'current-user-privilege-set'), headers: { ...BOB, ...XML, Depth: '1' } });
    const block = home.text.split('<D:response>').find((b) => b.includes('alice~calendar'))!;
    assert.ok(block, home.text);
    assert.match(block, /<calendar xmlns="urn:ietf:params:xml:ns:caldav"\/>/);
    const own = home.text.split('<D:response>').find((b) => b.includes('<D:href>/calendars/bob/</D:href>'))!;
    assert.match(own, /<D:write\/>/, 'Bob’s own home stays his to write');
    assert.doesNotMatch(block, /<D:write\/>/);
    assert.match(block, /<D:read\/>/);
    const query = '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20261201T000000Z" end="20261202T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>';
    const q = await raw(s.url, '/calendars/bob/alice~calendar/', { method: 'REPORT', body: query, headers: { ...BOB, ...XML, Depth: '1' } });
    assert.equal(q.status, 207);
    assert.match(q.text, /\/calendars\/bob\/alice~calendar\/meeting\.ics/);
    assert.match(q.text, /Team meeting/);
    const sync = await raw(s.url, '/calendars/bob/alice~calendar/', { method: 'REPORT', body: '<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>', headers: { ...BOB, ...XML } });
    assert.equal(sync.status, 207);
    assert.match(sync.text, /alice~calendar\/meeting\.ics/);
    const client = new DAVClient({ serverUrl: `${s.url}/`, credentials: { username: 'bob', password: 'bob-secret!' }, authMethod: 'Basic', defaultAccountType: 'caldav' });
    await client.login();
    const urls = (await client.fetchCalendars()).map((c) => c.url).sort();
    assert.deepEqual(urls, [`${s.url}/calendars/bob/alice~calendar/`, `${s.url}/calendars/bob/calendar/`]);
  });

  it('Alice’s locks on her shared folder and calendar show in Bob’s Depth 1 listings of their parents', async () => {
    const lock = async (path: string, depth: string) => {
      const r = await raw(s.url, path, { method: 'LOCK', body: lockBody(), headers: { ...ALICE, ...XML, Depth: depth, Timeout: 'Second-600' } });
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      return { path, token: String(r.headers['lock-token']) };
    };
    const listed = async (folder: string, href: string) => {
      const r = await raw(s.url, folder, { method: 'PROPFIND', body: propfindBody('lockdiscovery'), headers: { ...BOB, ...XML, Depth: '1' } });
      assert.equal(r.status, 207);
      const block = r.text.split('<D:response>').find((b) => b.includes(`<D:href>${href}</D:href>`));
      assert.ok(block, `${href} listed in ${folder}`);
      return block;
    };
    const unlock = async (l: { path: string; token: string }) =>
      assert.equal((await raw(s.url, l.path, { method: 'UNLOCK', headers: { ...ALICE, 'Lock-Token': l.token } })).status, 204);
    assert.doesNotMatch(await listed('/shared/alice/', '/shared/alice/docs/'), /activelock/);
    const locks = [await lock('/docs/', '0'), await lock('/calendars/alice/calendar/', '0')];
    const docs = await listed('/shared/alice/', '/shared/alice/docs/');
    assert.match(docs, /<D:activelock>/);
    assert.match(docs, /<D:lockroot><D:href>\/shared\/alice\/docs\/<\/D:href><\/D:lockroot>/);
    assert.match(await listed('/calendars/bob/', '/calendars/bob/alice~calendar/'), /<D:activelock>/);
    assert.doesNotMatch(await listed('/calendars/bob/', '/calendars/bob/calendar/'), /activelock/, 'Bob’s own calendar is not locked');
    for (const l of locks) await unlock(l);
    // A depth-infinity lock Alice holds above her shared calendar reaches it: it shows rooted at the mount point.
    const above = await lock('/calendars/alice/', 'infinity');
    assert.match(await listed('/calendars/bob/', '/calendars/bob/alice~calendar/'), /<D:lockroot><D:href>\/calendars\/bob\/alice~calendar\/<\/D:href><\/D:lockroot>/);
    await unlock(above);
    assert.doesNotMatch(await listed('/shared/alice/', '/shared/alice/docs/'), /activelock/);
    assert.doesNotMatch(await listed('/calendars/bob/', '/calendars/bob/alice~calendar/'), /activelock/);
  });

  it('a removed share is gone from the running server', async () => {
    await writeShares(s.root, SHARES.slice(1));
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await raw(s.url, '/shared/alice/docs/plan.txt', { headers: BOB })).status, 404);
    assert.equal((await raw(s.url, '/calendars/bob/alice~calendar/meeting.ics', { headers: BOB })).status, 200, 'the other share stays');
    await aliceStill();
  });
});

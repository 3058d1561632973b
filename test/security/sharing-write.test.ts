/**
 * Read-write shares (`gitdav share add … --write`): Bob changes what is inside Alice's shared folder
 * and calendar, and it lands in Alice's tree (a commit in her repository, authored by Bob); both see
 * and respect the same locks, neither can use the other's lock token; the shared collection itself
 * stays Alice's; COPY and MOVE work across the two trees; Carol, not granted, can do nothing; taking
 * the share away takes Bob's locks in it along. Both backends.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { DAVClient } from 'tsdav';
import { writeShares, type Share } from '../../lib/auth/shares-file.js';
import { basic, lockBody, propfindBody, raw, startTestServer, XML, type BackendName, type TestServer } from '../helpers/server.js';
import { tool } from '../helpers/tools.js';

const ALICE = basic('alice', 'alice-secret');
const BOB = basic('bob', 'bob-secret!');
const CAROL = basic('carol', 'carol-secret');
const ICS = { 'Content-Type': 'text/calendar; charset=utf-8' };
const event = (uid: string, summary: string) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z', 'DTSTART:20261201T100000Z', 'DURATION:PT1H', `SUMMARY:${summary}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
const SHARES: Share[] = [
  { owner: 'alice', path: '/docs', grantee: 'bob', access: 'write' },
  { owner: 'alice', path: '/calendars/alice/calendar', grantee: 'bob', access: 'write' },
];
const propOf = (text: string, name: string) => new RegExp(`<${name}[^>]*>([^<]*)</`).exec(text)?.[1];
const tokenOf = (r: { headers: Record<string, unknown> }) => String(r.headers['lock-token']).replace(/[<>]/g, '');

for (const backend of ['fs', 'git'] as BackendName[]) describe(`read-write shares (${backend} backend)`, function () {
  this.timeout(30_000);
  let s: TestServer;
  const get = async (path: string, who = ALICE) => raw(s.url, path, { headers: who });
  const put = (path: string, body: string, who = BOB, headers: Record<string, string> = {}) => raw(s.url, path, { method: 'PUT', body, headers: { ...who, ...headers } });

  before(async () => {
    s = await startTestServer({ backend, users: { alice: 'alice-secret', bob: 'bob-secret!', carol: 'carol-secret' }, shares: SHARES });
    assert.equal((await raw(s.url, '/docs', { method: 'MKCOL', headers: ALICE })).status, 201);
    assert.equal((await put('/docs/plan.txt', 'the plan', ALICE)).status, 201);
    assert.equal((await put('/private.txt', 'alice only', ALICE)).status, 201);
    assert.equal((await put('/calendars/alice/calendar/meeting.ics', event('team-meeting', 'Team meeting'), ALICE, ICS)).status, 201);
  });
  after(() => s.close());

  it('Bob creates, updates (with If-Match) and deletes files in the shared folder; Alice sees each change', async () => {
    const created = await put('/shared/alice/docs/notes.txt', 'from bob');
    assert.equal(created.status, 201, created.text);
    assert.equal((await get('/docs/notes.txt')).text, 'from bob');
    const aliceEtag = (await get('/docs/notes.txt')).headers.etag as string;
    assert.equal(created.headers.etag, aliceEtag, 'one resource, one ETag, whoever looks');
    assert.equal((await put('/shared/alice/docs/notes.txt', 'stale', BOB, { 'If-Match': '"nope"' })).status, 412);
    assert.equal((await put('/shared/alice/docs/notes.txt', 'edited by bob', BOB, { 'If-Match': aliceEtag })).status, 204);
    assert.equal((await get('/docs/notes.txt')).text, 'edited by bob');
    assert.equal((await raw(s.url, '/shared/alice/docs/sub', { method: 'MKCOL', headers: BOB })).status, 201);
    assert.equal((await raw(s.url, '/docs/sub/', { method: 'PROPFIND', headers: { ...ALICE, Depth: '0' } })).status, 207);
    const patch = '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:tag xmlns:x="urn:x">bob was here</x:tag></D:prop></D:set></D:propertyupdate>';
    assert.equal((await raw(s.url, '/shared/alice/docs/notes.txt', { method: 'PROPPATCH', body: patch, headers: { ...BOB, ...XML } })).status, 207);
    const props = await raw(s.url, '/docs/notes.txt', { method: 'PROPFIND', body: '<D:propfind xmlns:D="DAV:"><D:prop><x:tag xmlns:x="urn:x"/></D:prop></D:propfind>', headers: { ...ALICE, ...XML, Depth: '0' } });
    assert.match(props.text, /bob was here/);
    assert.equal((await raw(s.url, '/shared/alice/docs/sub', { method: 'DELETE', headers: BOB })).status, 204);
    assert.equal((await get('/docs/sub/')).status, 404);
    if (backend === 'git') {
      const log = await tool('git', ['--git-dir', `${s.root}/users/alice`, 'log', '--format=%an|%s']);
      const lines = log.stdout.trim().split('\n');
      assert.ok(lines.some((l) => l.startsWith('bob|') && l.includes('notes.txt')), `Bob's writes are commits in Alice's repository, authored by him:\n${log.stdout}`);
      const bobs = await tool('git', ['--git-dir', `${s.root}/users/bob`, 'log', '--format=%s', '--all']);
      assert.doesNotMatch(bobs.stdout, /notes\.txt/, 'nothing of it in Bob’s own repository');
    }
  });

  it('MOVE and COPY inside the share, and across the two trees', async () => {
    assert.equal((await put('/shared/alice/docs/draft.txt', 'draft')).status, 201);
    assert.equal((await raw(s.url, '/shared/alice/docs/draft.txt', { method: 'MOVE', headers: { ...BOB, Destination: '/shared/alice/docs/final.txt' } })).status, 201);
    assert.equal((await get('/docs/final.txt')).text, 'draft');
    assert.equal((await get('/docs/draft.txt')).status, 404);
    // Out of the share into Bob's own tree (a copy: Alice keeps hers).
    assert.equal((await raw(s.url, '/shared/alice/docs/plan.txt', { method: 'COPY', headers: { ...BOB, Destination: '/plan-copy.txt' } })).status, 201);
    assert.equal((await get('/plan-copy.txt', BOB)).text, 'the plan');
    assert.equal((await get('/docs/plan.txt')).text, 'the plan');
    // From Bob's tree into the share (a move: Bob's is gone).
    assert.equal((await put('/mine.txt', 'bob’s own')).status, 201);
    assert.equal((await raw(s.url, '/mine.txt', { method: 'MOVE', headers: { ...BOB, Destination: '/shared/alice/docs/mine.txt' } })).status, 201);
    assert.equal((await get('/docs/mine.txt')).text, 'bob’s own');
    assert.equal((await get('/mine.txt', BOB)).status, 404);
    // A folder with members and a dead property, across, and over an existing file.
    assert.equal((await raw(s.url, '/shared/alice/docs/tree', { method: 'MKCOL', headers: BOB })).status, 201);
    assert.equal((await put('/shared/alice/docs/tree/a.txt', 'A')).status, 201);
    assert.equal((await raw(s.url, '/shared/alice/docs/tree/deep', { method: 'MKCOL', headers: BOB })).status, 201);
    assert.equal((await put('/shared/alice/docs/tree/deep/b.txt', 'B')).status, 201);
    const patch = '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:k xmlns:x="urn:x">v</x:k></D:prop></D:set></D:propertyupdate>';
    assert.equal((await raw(s.url, '/shared/alice/docs/tree/deep', { method: 'PROPPATCH', body: patch, headers: { ...BOB, ...XML } })).status, 207);
    assert.equal((await put('/backup', 'in the way')).status, 201);
    assert.equal((await raw(s.url, '/shared/alice/docs/tree/', { method: 'COPY', headers: { ...BOB, Destination: '/backup/', Overwrite: 'F' } })).status, 412);
    assert.equal((await raw(s.url, '/shared/alice/docs/tree/', { method: 'COPY', headers: { ...BOB, Destination: '/backup/' } })).status, 204);
    assert.equal((await get('/backup/deep/b.txt', BOB)).text, 'B');
    assert.equal((await get('/backup/a.txt', BOB)).text, 'A');
    const prop = await raw(s.url, '/backup/deep/', { method: 'PROPFIND', body: '<D:propfind xmlns:D="DAV:"><D:prop><x:k xmlns:x="urn:x"/></D:prop></D:propfind>', headers: { ...BOB, ...XML, Depth: '0' } });
    assert.match(prop.text, />v</, 'dead properties travel with the copy');
    assert.equal((await raw(s.url, '/backup/', { method: 'MOVE', headers: { ...BOB, Destination: '/shared/alice/docs/backup/' } })).status, 201);
    assert.equal((await get('/docs/backup/deep/b.txt')).text, 'B');
    assert.equal((await get('/backup/a.txt', BOB)).status, 404);
  });

  it('the shared collection itself stays Alice’s, and nothing outside it is reachable', async () => {
    for (const [method, url, headers] of [
      ['DELETE', '/shared/alice/docs/', {}],
      ['MOVE', '/shared/alice/docs/', { Destination: '/taken/' }],
      ['COPY', '/plan-copy.txt', { Destination: '/shared/alice/docs/' }],
      ['PUT', '/shared/alice/docs', {}],
      ['DELETE', '/calendars/bob/alice~calendar/', {}],
    ] as Array<[string, string, Record<string, string>]>) {
      const r = await raw(s.url, url, { method, headers: { ...BOB, ...headers }, body: method === 'PUT' ? 'x' : undefined });
      assert.ok([403, 405].includes(r.status), `${method} ${url}: ${r.status} ${r.text}`);
    }
    assert.equal((await get('/docs/plan.txt')).text, 'the plan');
    assert.equal((await get('/calendars/alice/calendar/meeting.ics')).status, 200);
    for (const url of ['/shared/alice/private.txt', '/shared/alice/docs/../private.txt', '/shared/alice/docs/%2e%2e/private.txt']) {
      const r = await put(url, 'overwritten');
      assert.ok([400, 403, 404, 409].includes(r.status), `${url}: ${r.status}`);
    }
    assert.equal((await get('/private.txt')).text, 'alice only');
    for (const method of ['PUT', 'DELETE', 'MKCOL']) {
      const r = await raw(s.url, `/shared/alice/docs/plan.txt${method === 'MKCOL' ? '-dir' : ''}`, { method, headers: CAROL, body: method === 'PUT' ? 'carol' : undefined });
      assert.ok([403, 404, 409].includes(r.status), `Carol ${method}: ${r.status}`);
    }
    assert.equal((await get('/docs/plan.txt')).text, 'the plan');
  });

  it('one set of locks: each side’s lock stops the other, and neither can use the other’s token', async () => {
    const locked = await raw(s.url, '/shared/alice/docs/plan.txt', { method: 'LOCK', body: lockBody(), headers: { ...BOB, ...XML, Timeout: 'Second-600' } });
    assert.equal(locked.status, 200, locked.text);
    const bobToken = tokenOf(locked);
    assert.match(locked.text, /<D:lockroot><D:href>\/shared\/alice\/docs\/plan\.txt<\/D:href>/);
    assert.equal((await put('/docs/plan.txt', 'alice overwrites', ALICE)).status, 423, 'Bob’s lock holds against Alice');
    // The If header names a token that is not Alice's to use: it does not hold (412).
    assert.equal((await put('/docs/plan.txt', 'with a stolen token', ALICE, { If: `(<${bobToken}>)` })).status, 412, 'a token is its holder’s alone');
    const seen = await raw(s.url, '/docs/plan.txt', { method: 'PROPFIND', body: propfindBody('lockdiscovery'), headers: { ...ALICE, ...XML, Depth: '0' } });
    assert.match(seen.text, /<D:activelock>/, 'Alice sees the lock on her file');
    assert.match(seen.text, /<D:lockroot><D:href>\/docs\/plan\.txt<\/D:href>/, 'in her own paths');
    assert.ok(!seen.text.includes(bobToken), 'but not its token');
    assert.equal((await raw(s.url, '/docs/plan.txt', { method: 'UNLOCK', headers: { ...CAROL, 'Lock-Token': `<${bobToken}>` } })).status, 409, 'Carol has no such lock');
    assert.equal((await put('/shared/alice/docs/plan.txt', 'the plan, by bob', BOB, { If: `(<${bobToken}>)` })).status, 204);
    assert.equal((await raw(s.url, '/shared/alice/docs/plan.txt', { method: 'UNLOCK', headers: { ...BOB, 'Lock-Token': `<${bobToken}>` } })).status, 204);
    assert.equal((await put('/docs/plan.txt', 'the plan', ALICE)).status, 204, 'unlocked for Alice');

    // The owner may lift a grantee's lock on her own data (a client that crashed holding one).
    const again = await raw(s.url, '/shared/alice/docs/plan.txt', { method: 'LOCK', body: lockBody(), headers: { ...BOB, ...XML, Timeout: 'Second-600' } });
    assert.equal(again.status, 200);
    assert.equal((await raw(s.url, '/docs/plan.txt', { method: 'UNLOCK', headers: { ...ALICE, 'Lock-Token': `<${tokenOf(again)}>` } })).status, 204);
    assert.equal((await put('/shared/alice/docs/plan.txt', 'x', BOB, { If: `(<${tokenOf(again)}>)` })).status, 412, 'the lifted token is gone');

    // Alice locks the whole folder: Bob is stopped everywhere inside it and sees the lock at his mount point.
    const aliceLock = await raw(s.url, '/docs/', { method: 'LOCK', body: lockBody(), headers: { ...ALICE, ...XML, Depth: 'infinity', Timeout: 'Second-600' } });
    assert.equal(aliceLock.status, 200, aliceLock.text);
    const aliceToken = tokenOf(aliceLock);
    assert.equal((await put('/shared/alice/docs/new.txt', 'x')).status, 423);
    assert.equal((await put('/shared/alice/docs/plan.txt', 'x', BOB, { If: `(<${aliceToken}>)` })).status, 412);
    assert.equal((await raw(s.url, '/shared/alice/docs/plan.txt', { method: 'LOCK', body: lockBody(), headers: { ...BOB, ...XML } })).status, 423, 'no conflicting lock');
    const bobSees = await raw(s.url, '/shared/alice/docs/plan.txt', { method: 'PROPFIND', body: propfindBody('lockdiscovery'), headers: { ...BOB, ...XML, Depth: '0' } });
    assert.match(bobSees.text, /<D:lockroot><D:href>\/shared\/alice\/docs\/<\/D:href>/);
    assert.ok(!bobSees.text.includes(aliceToken));
    assert.equal((await raw(s.url, '/shared/alice/docs/', { method: 'UNLOCK', headers: { ...BOB, 'Lock-Token': `<${aliceToken}>` } })).status, 403);
    assert.equal((await raw(s.url, '/docs/', { method: 'UNLOCK', headers: { ...ALICE, 'Lock-Token': `<${aliceToken}>` } })).status, 204);
    assert.equal((await put('/shared/alice/docs/new.txt', 'x')).status, 201);
  });

  it('Bob’s calendar client writes into the shared calendar: validated, UID-unique across both users, a commit in Alice’s repository', async () => {
    const home = await raw(s.url, '/calendars/bob/', { method: 'PROPFIND', body: propfindBody('current-user-privilege-set', 'owner'), headers: { ...BOB, ...XML, Depth: '1' } });
    const block = home.text.split('<D:response>').find((b) => b.includes('alice~calendar'))!;
    assert.match(block, /<D:write\/>/, 'clients see they may write');
    assert.match(block, /<D:owner><D:href>\/principals\/alice\/<\/D:href><\/D:owner>/, 'and whose calendar it is');
    const own = home.text.split('<D:response>').find((b) => b.includes('<D:href>/calendars/bob/calendar/</D:href>'))!;
    assert.match(own, /<D:owner><D:href>\/principals\/bob\/<\/D:href><\/D:owner>/);
    const client = new DAVClient({ serverUrl: `${s.url}/`, credentials: { username: 'bob', password: 'bob-secret!' }, authMethod: 'Basic', defaultAccountType: 'caldav' });
    await client.login();
    const shared = (await client.fetchCalendars()).find((c) => c.url.endsWith('/alice~calendar/'))!;
    assert.ok(shared);
    const made = await client.createCalendarObject({ calendar: shared, filename: 'lunch.ics', iCalString: event('lunch-1', 'Lunch with Bob') });
    assert.equal(made.status, 201);
    assert.match((await get('/calendars/alice/calendar/lunch.ics')).text, /Lunch with Bob/);
    // Alice's UID, from Bob's side, and Bob's, from Alice's: 409 no-uid-conflict naming the clash in the writer's paths.
    const clash = await put('/calendars/bob/alice~calendar/dup.ics', event('team-meeting', 'Dup'), BOB, ICS);
    assert.equal(clash.status, 409);
    assert.match(clash.text, /no-uid-conflict/);
    assert.match(clash.text, /\/calendars\/bob\/alice~calendar\/meeting\.ics/);
    const back = await put('/calendars/alice/calendar/dup.ics', event('lunch-1', 'Dup'), ALICE, ICS);
    assert.equal(back.status, 409);
    assert.match(back.text, /\/calendars\/alice\/calendar\/lunch\.ics/);
    assert.equal((await put('/calendars/bob/alice~calendar/bad.ics', 'BEGIN:VCARD\r\nEND:VCARD\r\n', BOB, ICS)).status, 403, 'validated as any calendar write');
    assert.equal((await raw(s.url, '/plan-copy.txt', { method: 'COPY', headers: { ...BOB, Destination: '/calendars/bob/alice~calendar/plan.ics' } })).status, 403, 'COPY into it too');
    assert.equal((await put('/dup.ics', event('team-meeting', 'Dup'), BOB)).status, 201);
    assert.equal((await raw(s.url, '/dup.ics', { method: 'MOVE', headers: { ...BOB, Destination: '/calendars/bob/alice~calendar/dup.ics' } })).status, 409, 'and MOVE, UIDs included');
    assert.equal((await get('/dup.ics', BOB)).status, 200, 'the refused move left Bob’s file where it was');
    const objects = await client.fetchCalendarObjects({ calendar: shared });
    assert.deepEqual(objects.map((o) => o.url.split('/').pop()).sort(), ['lunch.ics', 'meeting.ics']);
    if (backend === 'git') {
      const log = await tool('git', ['--git-dir', `${s.root}/users/alice`, 'log', '-1', '--format=%an|%s', '--', 'calendars/alice/calendar/lunch.ics']);
      assert.equal(log.stdout.trim(), 'bob|Add event "Lunch with Bob"');
    }
  });

  it('Bob’s PROPPATCH of the shared calendar sets his own name and colour; Alice’s stay hers', async () => {
    const patch = '<D:propertyupdate xmlns:D="DAV:" xmlns:A="http://apple.com/ns/ical/"><D:set><D:prop><D:displayname>Alice (team)</D:displayname><A:calendar-color>#FF0000</A:calendar-color></D:prop></D:set></D:propertyupdate>';
    assert.equal((await raw(s.url, '/calendars/bob/alice~calendar/', { method: 'PROPPATCH', body: patch, headers: { ...BOB, ...XML } })).status, 207);
    const ask = propfindBody('displayname');
    const bobs = await raw(s.url, '/calendars/bob/alice~calendar/', { method: 'PROPFIND', body: ask, headers: { ...BOB, ...XML, Depth: '0' } });
    assert.match(bobs.text, /displayname[^>]*>Alice \(team\)</);
    const alices = await raw(s.url, '/calendars/alice/calendar/', { method: 'PROPFIND', body: ask, headers: { ...ALICE, ...XML, Depth: '0' } });
    assert.doesNotMatch(alices.text, /Alice \(team\)/, 'Alice’s calendar keeps its own name');
    const color = '<D:propfind xmlns:D="DAV:"><D:prop><A:calendar-color xmlns:A="http://apple.com/ns/ical/"/></D:prop></D:propfind>';
    assert.doesNotMatch((await raw(s.url, '/calendars/alice/calendar/', { method: 'PROPFIND', body: color, headers: { ...ALICE, ...XML, Depth: '0' } })).text, /#FF0000/);
    assert.match((await raw(s.url, '/calendars/bob/alice~calendar/', { method: 'PROPFIND', body: color, headers: { ...BOB, ...XML, Depth: '0' } })).text, /#FF0000/);
  });

  it('errors name Bob’s paths, never Alice’s', async () => {
    const r = await raw(s.url, '/shared/alice/docs/nodir/x.txt', { method: 'PUT', body: 'x', headers: BOB });
    assert.equal(r.status, 409);
    assert.match(r.text, /\/shared\/alice\/docs\/nodir/);
    assert.doesNotMatch(r.text, /[ >"]\/docs\/nodir/);
  });

  it('an overwriting COPY from Bob’s tree over a folder in the share, with If on the destination’s ETag', async () => {
    assert.equal((await raw(s.url, '/src', { method: 'MKCOL', headers: BOB })).status, 201);
    assert.equal((await put('/src/new.txt', 'new')).status, 201);
    assert.equal((await raw(s.url, '/shared/alice/docs/target', { method: 'MKCOL', headers: BOB })).status, 201);
    assert.equal((await put('/shared/alice/docs/target/precious.txt', 'precious')).status, 201);
    const etag = (await raw(s.url, '/shared/alice/docs/target/', { method: 'PROPFIND', body: propfindBody('getetag'), headers: { ...BOB, ...XML, Depth: '0' } })).text.match(/<D:getetag>([^<]+)</)![1]!;
    const target = `${s.url}/shared/alice/docs/target/`;
    const stale = await raw(s.url, '/src/', { method: 'COPY', headers: { ...BOB, Destination: '/shared/alice/docs/target/', If: `<${target}> (["stale"])` } });
    assert.equal(stale.status, 412);
    assert.equal((await get('/docs/target/precious.txt')).text, 'precious', 'a failed overwrite loses nothing');
    const ok = await raw(s.url, '/src/', { method: 'COPY', headers: { ...BOB, Destination: '/shared/alice/docs/target/', If: `<${target}> ([${etag.replace(/&quot;/g, '"')}])` } });
    assert.equal(ok.status, 204, ok.text);
    assert.equal((await get('/docs/target/new.txt')).text, 'new');
    assert.equal((await get('/docs/target/precious.txt')).status, 404);
    const root = await raw(s.url, '/', { method: 'PROPFIND', body: propfindBody('resourcetype'), headers: { ...ALICE, ...XML, Depth: '1' } });
    assert.doesNotMatch(root.text, /gitdav-copy/, 'no temporary copy left in Alice’s tree');
  });

  it('a depth-infinity LOCK on Bob’s own folder that holds a share is refused (it could not protect Alice’s)', async () => {
    const r = await raw(s.url, '/', { method: 'LOCK', body: lockBody(), headers: { ...BOB, ...XML, Depth: 'infinity' } });
    assert.equal(r.status, 409, r.text);
    assert.match(r.text, /\/shared\/alice\/docs/);
    assert.equal((await raw(s.url, '/shared/', { method: 'LOCK', body: lockBody(), headers: { ...BOB, ...XML, Depth: '0' } })).status, 200, 'Depth 0 is fine');
  });

  it('an upload under way when write access is taken away is refused, and nothing lands', async () => {
    const url = new URL(s.url);
    const sock = connect({ host: url.hostname, port: Number(url.port) });
    await new Promise((r) => sock.once('connect', r));
    let answer = '';
    sock.on('data', (d: Buffer) => (answer += d.toString()));
    sock.write(`PUT /shared/alice/docs/late.txt HTTP/1.1\r\nHost: x\r\nAuthorization: ${BOB.Authorization}\r\nContent-Length: 10\r\n\r\nhalf`);
    await new Promise((r) => setTimeout(r, 200));
    await writeShares(s.root, SHARES.map((x) => ({ ...x, access: 'read' as const })));
    await new Promise((r) => setTimeout(r, 1100));
    await get('/docs/plan.txt'); // any request: the server looks at the shares again
    sock.write('-done!'); // 4 + 6 = the 10 bytes announced
    await new Promise<void>((r) => {
      const check = () => (/\r\n\r\n/.test(answer) ? r() : setTimeout(check, 20));
      check();
    });
    sock.destroy();
    assert.match(answer, /^HTTP\/1\.1 403 /, answer);
    assert.equal((await get('/docs/late.txt')).status, 404);
    await writeShares(s.root, SHARES);
    await new Promise((r) => setTimeout(r, 1100));
  });

  it('a share made read-only again refuses writes and takes Bob’s locks in it along', async () => {
    const locked = await raw(s.url, '/shared/alice/docs/plan.txt', { method: 'LOCK', body: lockBody(), headers: { ...BOB, ...XML, Timeout: 'Second-600' } });
    assert.equal(locked.status, 200);
    await writeShares(s.root, SHARES.map((x) => ({ ...x, access: 'read' as const })));
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await put('/shared/alice/docs/plan.txt', 'x', BOB, { If: `(<${tokenOf(locked)}>)` })).status, 403);
    assert.equal((await put('/docs/plan.txt', 'the plan, v2', ALICE)).status, 204, 'Bob’s lock went with his write access');
    assert.equal((await get('/shared/alice/docs/plan.txt', BOB)).text, 'the plan, v2', 'reading stays');
    await writeShares(s.root, SHARES);
    await new Promise((r) => setTimeout(r, 1100));
  });
});

describe('read-write shares: a grantee’s lock ends with the share, across a restart too', function () {
  this.timeout(30_000);
  for (const backend of ['fs', 'git'] as BackendName[]) {
    it(`${backend} backend`, async () => {
      const root = await mkdtemp(join(tmpdir(), 'gitdav-share-lock-'));
      const users = { alice: 'alice-secret', bob: 'bob-secret!' };
      try {
        let s = await startTestServer({ backend, root, users, shares: SHARES });
        assert.equal((await raw(s.url, '/docs', { method: 'MKCOL', headers: ALICE })).status, 201);
        const locked = await raw(s.url, '/shared/alice/docs/', { method: 'LOCK', body: lockBody(), headers: { ...BOB, ...XML, Depth: 'infinity', Timeout: 'Second-604800' } });
        assert.equal(locked.status, 200);
        assert.equal((await raw(s.url, '/docs/plan.txt', { method: 'PUT', body: 'x', headers: ALICE })).status, 423);
        await s.close();
        // The share goes while the server is down; Bob never comes back.
        s = await startTestServer({ backend, root, users, shares: [] });
        try {
          assert.equal((await raw(s.url, '/docs/plan.txt', { method: 'PUT', body: 'x', headers: ALICE })).status, 201, 'Bob’s lock went with his access');
          assert.equal((await raw(s.url, '/docs/', { method: 'DELETE', headers: ALICE })).status, 204);
        } finally {
          await s.close();
        }
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  }
});

describe('read-write shares nested in the owner’s tree (/a and /a/b shared apart)', function () {
  this.timeout(30_000);
  for (const backend of ['fs', 'git'] as BackendName[]) {
    it(`${backend} backend: no move into itself or over its own ancestor through the other mount`, async () => {
      const shares: Share[] = [
        { owner: 'alice', path: '/a', grantee: 'bob', access: 'write' },
        { owner: 'alice', path: '/a/b', grantee: 'bob', access: 'write' },
      ];
      const s = await startTestServer({ backend, users: { alice: 'alice-secret', bob: 'bob-secret!' }, shares });
      try {
        for (const p of ['/a', '/a/b']) assert.equal((await raw(s.url, p, { method: 'MKCOL', headers: ALICE })).status, 201);
        for (const p of ['/a/b/f.txt', '/a/b/g.txt']) assert.equal((await raw(s.url, p, { method: 'PUT', body: p, headers: ALICE })).status, 201);
        const over = await raw(s.url, '/shared/alice/a~b/f.txt', { method: 'MOVE', headers: { ...BOB, Destination: '/shared/alice/a/b' } });
        assert.equal(over.status, 403, over.text);
        const into = await raw(s.url, '/shared/alice/a/b/', { method: 'MOVE', headers: { ...BOB, Destination: '/shared/alice/a~b/y/' } });
        assert.equal(into.status, 403, into.text);
        const copyInto = await raw(s.url, '/shared/alice/a/', { method: 'COPY', headers: { ...BOB, Destination: '/shared/alice/a~b/copy/' } });
        assert.equal(copyInto.status, 403, copyInto.text);
        for (const p of ['/a/b/f.txt', '/a/b/g.txt']) assert.equal((await raw(s.url, p, { headers: ALICE })).text, p);
      } finally {
        await s.close();
      }
    });
  }
});


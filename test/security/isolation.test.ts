/**
 * Users and isolation: with a users file every request needs a login; each user has a mount of their
 * own, and nothing of Alice's — files, calendars, principals, history, sync tokens, hrefs, lock
 * tokens — is reachable by Bob, on both backends. Each attack checks that nothing stored changed.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { basic, lockBody, propfindBody, raw, startTestServer, XML, type BackendName, type TestServer } from '../helpers/server.js';
import { tool } from '../helpers/tools.js';

const ALICE = basic('alice', 'alice-secret');
const BOB = basic('bob', 'bob-secret!');
const EVENT = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', 'BEGIN:VEVENT', 'UID:alice-private', 'DTSTAMP:20260101T000000Z', 'DTSTART:20261201T100000Z', 'SUMMARY:Alice only', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
const SYNC = (token: string) => `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>${token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`;
const METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'MKCOL', 'COPY', 'MOVE', 'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK', 'REPORT', 'OPTIONS', 'MKCALENDAR'];

/**
 * Sends `head` (and the start of a body, if any) on a fresh connection and never more; resolves with
 * what came back once the server closed the connection, or at once if its answer keeps it open.
 */
function probe(s: TestServer, head: string): Promise<string> {
  const url = new URL(s.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(head));
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n') && !/\r\nconnection: close\r\n/i.test(got)) {
        socket.destroy();
        resolve(got);
      }
    });
    socket.on('close', () => resolve(got));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(got) : reject(err)));
  });
}

for (const backend of ['fs', 'git'] as BackendName[]) describe(`users and isolation (${backend} backend)`, function () {
  this.timeout(30_000);
  let s: TestServer;
  let aliceToken: string;

  before(async () => {
    s = await startTestServer({ backend, users: { alice: 'alice-secret', bob: 'bob-secret!' } });
    assert.equal((await raw(s.url, '/secret.txt', { method: 'PUT', body: 'alice data', headers: ALICE })).status, 201);
    assert.equal((await raw(s.url, '/calendars/alice/calendar/private.ics', { method: 'PUT', body: EVENT, headers: { ...ALICE, 'Content-Type': 'text/calendar' } })).status, 201);
    const r = await raw(s.url, '/calendars/alice/calendar/', { method: 'PROPFIND', body: propfindBody('sync-token'), headers: { ...ALICE, ...XML, Depth: '0' } });
    aliceToken = /<D:sync-token>([^<]+)</.exec(r.text)![1]!;
  });
  after(() => s.close());

  const aliceStill = async () => {
    const r = await raw(s.url, '/secret.txt', { headers: ALICE });
    assert.equal(r.text, 'alice data', 'Alice’s file is unchanged');
    const c = await raw(s.url, '/calendars/alice/calendar/private.ics', { headers: ALICE });
    assert.equal(c.text, EVENT, 'Alice’s event is unchanged');
  };

  it('no credentials or a wrong password: 401 with a Basic challenge, for every method and kind of URL', async function () {
    // ~600 requests, a third of them checking a wrong password (bcrypt): 25 s on a quiet 2-core VM. A
    // hang detector, not a speed check: a loaded CI machine may take several times that.
    this.timeout(180_000);
    const urls = ['/', '/secret.txt', '/calendars/alice/calendar/', '/calendars/alice/calendar/private.ics', '/principals/alice/', ...(backend === 'git' ? ['/.history/', '/.history/branches/main/secret.txt'] : [])];
    for (const url of urls) {
      for (const method of METHODS) {
        for (const headers of [{}, basic('alice', 'wrong'), basic('mallory', 'alice-secret'), { Authorization: 'Bearer abc' }, { Authorization: 'Basic !!!' }]) {
          const r = await raw(s.url, url, { method, headers: { ...headers, Destination: `${s.url}/stolen.txt` }, body: method === 'PUT' ? 'overwritten' : undefined });
          assert.equal(r.status, 401, `${method} ${url} ${JSON.stringify(headers)}`);
          assert.equal(r.headers['www-authenticate'], 'Basic realm="gitdav", charset="UTF-8"');
          assert.doesNotMatch(r.text, /alice data|Alice only/);
        }
      }
    }
    await aliceStill();
  });

  it('/.well-known/caldav and /carddav redirect to the root before any login (RFC 6764 §5), for every method', async () => {
    for (const path of ['/.well-known/caldav', '/.well-known/carddav']) {
      for (const method of METHODS) {
        const r = await raw(s.url, path, { method, body: method === 'PUT' ? 'overwritten' : undefined });
        assert.equal(r.status, 301, `${method} ${path}`);
        assert.equal(r.headers.location, '/');
        assert.equal(r.text, '');
      }
    }
    await aliceStill();
  });

  it('/.well-known/ before a login never reads a body: a request with one is answered with Connection: close, and the connection closed', async () => {
    for (const framing of ['Content-Length: 100000000000', 'Transfer-Encoding: chunked']) {
      const reply = await probe(s, `PUT /.well-known/carddav HTTP/1.1\r\nHost: x\r\n${framing}\r\n\r\n${framing.startsWith('Transfer') ? '3\r\n' : ''}abc`);
      assert.match(reply, /^HTTP\/1\.1 301 /, framing);
      assert.match(reply, /\r\nconnection: close\r\n/i, framing);
    }
    // Without a body the connection may stay open, as for any request.
    const plain = await probe(s, 'PROPFIND /.well-known/caldav HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(plain, /^HTTP\/1\.1 301 /);
    assert.match(plain, /\r\nconnection: keep-alive\r\n/i);
  });

  it('each user sees only their own tree: files, listings, principals, calendar homes', async () => {
    assert.equal((await raw(s.url, '/secret.txt', { headers: BOB })).status, 404);
    const listing = await raw(s.url, '/', { method: 'PROPFIND', body: propfindBody('displayname'), headers: { ...BOB, ...XML, Depth: '1' } });
    assert.equal(listing.status, 207);
    assert.doesNotMatch(listing.text, /secret\.txt/);
    const principal = await raw(s.url, '/', { method: 'PROPFIND', body: propfindBody('current-user-principal'), headers: { ...BOB, ...XML, Depth: '0' } });
    assert.match(principal.text, /<D:href>\/principals\/bob\/<\/D:href>/);
    assert.equal((await raw(s.url, '/calendars/bob/calendar/', { method: 'PROPFIND', body: propfindBody('displayname'), headers: { ...BOB, ...XML, Depth: '0' } })).status, 207, 'Bob got his own default calendar');
    for (const url of ['/calendars/alice/', '/calendars/alice/calendar/', '/calendars/alice/calendar/private.ics', '/principals/alice/']) {
      const r = await raw(s.url, url, { method: 'PROPFIND', body: propfindBody('displayname'), headers: { ...BOB, ...XML, Depth: '1' } });
      assert.equal(r.status, 404, url);
    }
    // Bob writing at the same paths writes into his own tree
    assert.equal((await raw(s.url, '/secret.txt', { method: 'PUT', body: 'bob data', headers: BOB })).status, 201);
    assert.equal((await raw(s.url, '/secret.txt', { headers: BOB })).text, 'bob data');
    await aliceStill();
  });

  it('REPORTs with Alice’s hrefs or sync token give Bob nothing of hers', async () => {
    const multiget = `<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop><D:href>/calendars/alice/calendar/private.ics</D:href><D:href>${s.url}/calendars/alice/calendar/private.ics</D:href></C:calendar-multiget>`;
    const m = await raw(s.url, '/calendars/bob/calendar/', { method: 'REPORT', body: multiget, headers: { ...BOB, ...XML, Depth: '1' } });
    assert.equal(m.status, 207);
    assert.doesNotMatch(m.text, /Alice only/);
    // The path and the absolute URL name one resource: multiget answers each distinct href once (a
    // repeated href must not multiply a big answer). Counted as status lines, not /404/: the port in
    // an echoed href may hold those digits.
    assert.equal((m.text.match(/HTTP\/1\.1 404 /g) ?? []).length, 1);
    const sync = await raw(s.url, '/calendars/bob/calendar/', { method: 'REPORT', body: SYNC(aliceToken), headers: { ...BOB, ...XML } });
    assert.equal(sync.status, 403, sync.text);
    assert.match(sync.text, /valid-sync-token/);
    const own = await raw(s.url, '/calendars/alice/calendar/', { method: 'REPORT', body: SYNC(aliceToken), headers: { ...ALICE, ...XML } });
    assert.equal(own.status, 207, 'the token still works for its owner');
    await aliceStill();
  });

  it('COPY and MOVE with a Destination in Alice’s tree land in Bob’s own tree, or nowhere', async () => {
    for (const method of ['COPY', 'MOVE']) {
      for (const dest of ['/calendars/alice/calendar/private.ics', `${s.url}/calendars/alice/calendar/private.ics`, `${s.url}/secret.txt`]) {
        assert.equal((await raw(s.url, '/bob-note.txt', { method: 'PUT', body: 'bob note', headers: BOB })).status < 300, true);
        const r = await raw(s.url, '/bob-note.txt', { method, headers: { ...BOB, Destination: dest, Overwrite: 'T' } });
        assert.ok([201, 204, 409].includes(r.status), `${method} → ${dest}: ${r.status}`);
      }
    }
    assert.equal((await raw(s.url, '/secret.txt', { headers: BOB })).text, 'bob note', 'the COPY/MOVE went into Bob’s tree');
    await aliceStill();
  });

  it('Alice’s lock tokens mean nothing to Bob, and Bob cannot unlock Alice’s locks', async () => {
    const lock = await raw(s.url, '/secret.txt', { method: 'LOCK', body: lockBody(), headers: { ...ALICE, ...XML, Timeout: 'Second-60' } });
    assert.equal(lock.status, 200);
    const token = lock.headers['lock-token'] as string;
    // Bob's own /secret.txt is not locked by it; the token used as a condition fails there
    const put = await raw(s.url, '/secret.txt', { method: 'PUT', body: 'bob again', headers: { ...BOB, If: `(${token})` } });
    assert.equal(put.status, 412);
    const unlock = await raw(s.url, '/secret.txt', { method: 'UNLOCK', headers: { ...BOB, 'Lock-Token': token } });
    assert.ok([409, 412].includes(unlock.status), String(unlock.status));
    const aliceWrite = await raw(s.url, '/secret.txt', { method: 'PUT', body: 'no token', headers: ALICE });
    assert.equal(aliceWrite.status, 423, 'Alice’s lock still holds');
    assert.equal((await raw(s.url, '/secret.txt', { method: 'UNLOCK', headers: { ...ALICE, 'Lock-Token': token } })).status, 204);
    await aliceStill();
  });

  if (backend === 'git') it('history: one repository per user, so Bob’s history holds none of Alice’s commits', async () => {
    const log = await tool('git', ['--git-dir', `${s.root}/users/alice`, 'log', '--format=%H %an %s']);
    const [commit, author] = log.stdout.split('\n').find((l) => l.includes('Alice only'))!.split(' ');
    assert.equal(author, 'alice', 'the author of a commit is the user who logged in');
    const theirs = await raw(s.url, `/.history/commits/${commit}/secret.txt`, { headers: ALICE });
    assert.equal(theirs.status, 200);
    for (const url of [`/.history/commits/${commit}/`, `/.history/commits/${commit!.slice(0, 8)}/secret.txt`]) {
      assert.equal((await raw(s.url, url, { headers: BOB })).status, 404, url);
    }
    const bobLog = await tool('git', ['--git-dir', `${s.root}/users/bob`, 'log', '--all', '--format=%s']);
    assert.doesNotMatch(bobLog.stdout, /Alice only/);
    assert.equal((await tool('git', ['--git-dir', `${s.root}/users/alice`, 'fsck', '--strict'])).code, 0);
  });

  it('the users file is never served or written, even by a logged-in user', async () => {
    for (const url of ['/.htpasswd', '/../.htpasswd', '/%2e%2e/.htpasswd', '/users/alice/secret.txt']) {
      const r = await raw(s.url, url, { headers: ALICE });
      assert.ok([400, 403, 404].includes(r.status), `${url}: ${r.status}`);
      assert.doesNotMatch(r.text, /\$2y\$/);
    }
  });
});

describe('login back-off', function () {
  this.timeout(30_000);
  it('throttles repeated failures per user and address with 429 and Retry-After; the right password waits too', async () => {
    const s = await startTestServer({ backend: 'fs', users: { carol: 'carol-secret' }, backoff: { free: 3, baseMs: 60_000, maxMs: 60_000, maxKeys: 100 } });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await raw(s.url, '/', { headers: basic('carol', 'nope') })).status, 401);
      assert.equal((await raw(s.url, '/', { headers: basic('carol', 'nope') })).status, 429, 'free: 3 attempts, then waiting');
      const r = await raw(s.url, '/', { headers: basic('carol', 'carol-secret') });
      assert.equal(r.status, 429);
      assert.equal(r.headers['retry-after'], '60');
    } finally {
      await s.close();
    }
  });
});

describe('logins done by a reverse proxy (Remote-User)', function () {
  this.timeout(30_000);
  it('believes the header from a trusted proxy address only, and needs it', async () => {
    const trusted = await startTestServer({ backend: 'git', proxy: { header: 'Remote-User', trusted: ['127.0.0.1'] } });
    const untrusted = await startTestServer({ backend: 'fs', proxy: { header: 'Remote-User', trusted: ['10.9.9.9'] } });
    try {
      assert.equal((await raw(trusted.url, '/sso.txt', { method: 'PUT', body: 'via proxy', headers: { 'Remote-User': 'alice' } })).status, 201);
      assert.equal((await raw(trusted.url, '/sso.txt', { headers: { 'Remote-User': 'alice' } })).text, 'via proxy');
      assert.equal((await raw(trusted.url, '/sso.txt', { headers: { 'Remote-User': 'bob' } })).status, 404, 'a mount per user here too');
      for (const headers of [{}, { 'Remote-User': '../alice' }, { 'Remote-User': '' }] as Record<string, string>[]) {
        assert.equal((await raw(trusted.url, '/sso.txt', { headers })).status, 403, JSON.stringify(headers));
      }
      const r = await raw(untrusted.url, '/sso.txt', { method: 'PUT', body: 'forged', headers: { 'Remote-User': 'alice' } });
      assert.equal(r.status, 403, 'the header from an address that is not the proxy counts for nothing');
    } finally {
      await trusted.close();
      await untrusted.close();
    }
  });
});

describe('anonymous read-only access (--anonymous-read)', function () {
  this.timeout(30_000);
  it('reads the one configured tree without a login, never writes, and reports no principal', async () => {
    const shares = [{ owner: 'bob', path: '/team', grantee: 'alice', access: 'read' as const }];
    const s = await startTestServer({ backend: 'git', users: { alice: 'alice-secret', bob: 'bob-secret!' }, anonymousRead: 'alice', shares });
    try {
      assert.equal((await raw(s.url, '/public.txt', { method: 'PUT', body: 'for everyone', headers: ALICE })).status, 201);
      assert.equal((await raw(s.url, '/private-bob.txt', { method: 'PUT', body: 'bob only', headers: BOB })).status, 201);
      assert.equal((await raw(s.url, '/team', { method: 'MKCOL', headers: BOB })).status, 201);
      assert.equal((await raw(s.url, '/team/notes.txt', { method: 'PUT', body: 'shared with alice only', headers: BOB })).status, 201);
      assert.equal((await raw(s.url, '/shared/bob/team/notes.txt', { headers: ALICE })).status, 200, 'Alice reads what Bob shared with her');
      assert.equal((await raw(s.url, '/shared/bob/team/notes.txt')).status, 404, 'anonymous readers do not');
      const listing = await raw(s.url, '/', { method: 'PROPFIND', body: propfindBody('displayname'), headers: { ...XML, Depth: 'infinity' } });
      assert.doesNotMatch(listing.text, /shared|notes\.txt/);
      assert.equal((await raw(s.url, '/public.txt')).text, 'for everyone');
      assert.equal((await raw(s.url, '/private-bob.txt')).status, 404, 'only the configured user’s tree');
      const props = await raw(s.url, '/', { method: 'PROPFIND', body: propfindBody('current-user-principal', 'current-user-privilege-set'), headers: { ...XML, Depth: '0' } });
      assert.equal(props.status, 207);
      assert.match(props.text, /<D:unauthenticated\/>/);
      assert.doesNotMatch(props.text, /<D:write\/>/);
      for (const method of ['PUT', 'DELETE', 'MKCOL', 'PROPPATCH', 'LOCK', 'COPY', 'MOVE', 'MKCALENDAR']) {
        const r = await raw(s.url, '/public.txt', { method, body: method === 'PUT' ? 'defaced' : undefined, headers: { Destination: `${s.url}/moved.txt` } });
        assert.equal(r.status, 401, method);
        assert.match(r.headers['www-authenticate'] as string, /^Basic /);
      }
      assert.equal((await raw(s.url, '/public.txt')).text, 'for everyone');
      assert.equal((await raw(s.url, '/moved.txt', { headers: ALICE })).status, 404);
      assert.equal((await raw(s.url, '/public.txt', { headers: basic('alice', 'wrong') })).status, 401, 'wrong credentials are not anonymous');
      const logged = await raw(s.url, '/', { method: 'PROPFIND', body: propfindBody('current-user-principal'), headers: { ...ALICE, ...XML, Depth: '0' } });
      assert.match(logged.text, /\/principals\/alice\//);
    } finally {
      await s.close();
    }
  });
});

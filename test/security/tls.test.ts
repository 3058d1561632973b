/**
 * HTTPS with logins: the npm `webdav` client and tsdav log in over TLS with a certificate made for
 * the test; answers carry HSTS; a new certificate is taken up on reload (SIGHUP) without dropping an
 * open connection. (litmus over HTTPS with a login runs in test/clients/litmus.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAVClient } from 'tsdav';
import { createClient } from 'webdav';
import { basic, raw, startTestServer, tlsFiles, type TestServer } from '../helpers/server.js';

describe('HTTPS with logins', function () {
  this.timeout(60_000);
  let s: TestServer;
  let ca: Buffer;

  before(async () => {
    s = await startTestServer({ backend: 'git', users: { alice: 'alice-secret', bob: 'bob-secret!' }, tls: true });
    ca = await readFile((await tlsFiles()).cert);
  });
  after(() => s.close());

  it('answers over TLS only, with HSTS and a Basic challenge', async () => {
    assert.match(s.url, /^https:/);
    const r = await raw(s.url, '/', { method: 'PROPFIND', headers: { Depth: '0' } });
    assert.equal(r.status, 401);
    assert.equal(r.headers['strict-transport-security'], 'max-age=31536000');
    const ok = await raw(s.url, '/', { method: 'OPTIONS', headers: basic('alice', 'alice-secret') });
    assert.equal(ok.status, 200);
    assert.match(ok.headers.dav as string, /calendar-access/);
  });

  it('the npm webdav client writes, lists and reads as alice, and bob sees none of it', async () => {
    const alice = createClient(s.url, { username: 'alice', password: 'alice-secret', httpsAgent: new Agent({ ca }) });
    await alice.createDirectory('/docs');
    await alice.putFileContents('/docs/note.txt', 'over TLS');
    assert.equal(await alice.getFileContents('/docs/note.txt', { format: 'text' }), 'over TLS');
    const names = ((await alice.getDirectoryContents('/docs')) as { basename: string }[]).map((f) => f.basename);
    assert.deepEqual(names, ['note.txt']);
    const bob = createClient(s.url, { username: 'bob', password: 'bob-secret!', httpsAgent: new Agent({ ca }) });
    assert.equal(await bob.exists('/docs/note.txt'), false);
    const wrong = createClient(s.url, { username: 'alice', password: 'nope', httpsAgent: new Agent({ ca }) });
    await assert.rejects(wrong.getDirectoryContents('/'), /401/);
  });

  it('tsdav discovers alice’s principal and calendars from the root URL and syncs an event', async () => {
    const before = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // tsdav's fetch takes no CA option; this test's certificate only
    try {
      const client = new DAVClient({ serverUrl: `${s.url}/`, credentials: { username: 'alice', password: 'alice-secret' }, authMethod: 'Basic', defaultAccountType: 'caldav' });
      await client.login();
      assert.equal(client.account?.principalUrl, `${s.url}/principals/alice/`);
      assert.equal(client.account?.homeUrl, `${s.url}/calendars/alice/`);
      const [calendar] = await client.fetchCalendars();
      assert.ok(calendar);
      const ics = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:x', 'BEGIN:VEVENT', 'UID:tls-1', 'DTSTAMP:20260101T000000Z', 'DTSTART:20261201T100000Z', 'SUMMARY:Over TLS', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
      const created = await client.createCalendarObject({ calendar, filename: 'tls-1.ics', iCalString: ics });
      assert.equal(created.status, 201);
      const objects = await client.fetchCalendarObjects({ calendar });
      assert.deepEqual(objects.map((o) => o.data.includes('Over TLS')), [true]);
    } finally {
      if (before === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = before;
    }
  });

  it('a reload takes a new certificate for new connections without dropping an open one', async () => {
    const files = await tlsFiles();
    const dir = await mkdtemp(join(tmpdir(), 'gitdav-tls2-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=renewed'], { stdio: 'ignore' });
    const fingerprintOf = (agent: Agent) =>
      new Promise<{ fp: string; status: number }>((resolve, reject) => {
        const url = new URL(s.url);
        const r = request({ host: url.hostname, port: url.port, path: '/', method: 'OPTIONS', headers: basic('alice', 'alice-secret'), agent, rejectUnauthorized: false }, (res) => {
          const fp = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
          res.resume();
          res.on('end', () => resolve({ fp, status: res.statusCode ?? 0 }));
        });
        r.on('error', reject);
        r.end();
      });
    const kept = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await fingerprintOf(kept);
    const original = await readFile(files.cert);
    const key = await readFile(files.key);
    try {
      await copyFile(join(dir, 'cert.pem'), files.cert);
      await copyFile(join(dir, 'key.pem'), files.key);
      s.running.reloadTls();
      const fresh = await fingerprintOf(new Agent({ keepAlive: false }));
      assert.equal(fresh.fp, new X509Certificate(await readFile(join(dir, 'cert.pem'))).fingerprint256);
      const again = await fingerprintOf(kept);
      assert.equal(again.status, 200);
      assert.equal(again.fp, first.fp, 'the kept-alive connection stayed up, with its certificate');
    } finally {
      // Later tests use the first certificate again.
      const { writeFile } = await import('node:fs/promises');
      await writeFile(files.cert, original);
      await writeFile(files.key, key);
      s.running.reloadTls();
      kept.destroy();
    }
  });
});

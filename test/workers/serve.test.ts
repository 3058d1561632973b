/**
 * `gitdav serve --workers 2`: a supervisor and two worker processes serve both backends, HTTPS with
 * logins, and CalDAV; the per-address connection limit holds over all workers; the option is checked.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { CLI, runCli } from '../helpers/cli.js';
import { tool } from '../helpers/tools.js';
import { tlsFiles } from '../helpers/server.js';
import { http, serveWorkers, workersThatServed, stopAfterEach, type Served } from './helpers.js';

const fresh = () => mkdtemp(join(tmpdir(), 'gitdav-workers-'));

describe('gitdav serve --workers N (a supervisor and worker processes)', function () {
  this.timeout(120_000);
  let s: Served | undefined;
  stopAfterEach(() => s, () => (s = undefined));

  it('--workers must be a whole number from 1 to 256 (flag, environment, config file)', async () => {
    for (const [args, env] of [[['--workers', '0'], {}], [['--workers', '257'], {}], [['--workers', 'two'], {}], [[], { GITDAV_WORKERS: '1.5' }]] as const) {
      const p = runCli(['serve', '--port', '0', ...args], env);
      assert.equal(await p.exit, 2, p.output());
      assert.match(p.output(), /--workers must be a whole number from 1 to 256/);
    }
    const dir = await fresh();
    await writeFile(join(dir, 'c.json'), JSON.stringify({ workers: 0 }));
    const p = runCli(['serve', '--port', '0', '--config', join(dir, 'c.json')], { GITDAV_WORKERS: '' }); // '': not set
    assert.equal(await p.exit, 2);
    assert.match(p.output(), /--workers must be a whole number from 1 to 256, not "0"/);
  });

  it('the default is one worker per CPU (one process on a one-CPU machine)', async () => {
    const { availableParallelism } = await import('node:os');
    const n = availableParallelism();
    s = await serveWorkers(['--root', join(await fresh(), 'data'), '--no-caldav'], { GITDAV_WORKERS: '' }); // '': not set
    if (n > 1) assert.match(s.output(), new RegExp(`\\(git, ${Math.min(n, 256)} workers\\) at `));
    else assert.match(s.output(), /\(git\) at /);
    assert.equal((await http(s.url, '/', { method: 'OPTIONS' })).status, 200);
  });

  for (const backend of ['git', 'fs'] as const) {
    it(`serves the ${backend} backend from both workers; SIGTERM drains them and prints one summary`, async () => {
      const root = join(await fresh(), 'data');
      s = await serveWorkers(['--root', root, '--backend', backend, '--workers', '2', '--no-caldav']);
      assert.match(s.output(), /serving .* \(.*2 workers\) at http:\/\/127\.0\.0\.1:\d+\/\n/);
      const agent = new Agent({ keepAlive: false }); // a connection each: round-robin reaches both workers
      for (let i = 0; i < 6; i++) assert.equal((await http(s.url, `/f${i}.txt`, { method: 'PUT', body: `file ${i}`, agent })).status, 201);
      for (let i = 0; i < 6; i++) assert.equal((await http(s.url, `/f${i}.txt`, { agent })).body.toString(), `file ${i}`);
      const listing = await http(s.url, '/', { method: 'PROPFIND', headers: { Depth: '1' }, agent });
      assert.equal(listing.status, 207);
      for (let i = 0; i < 6; i++) assert.match(listing.body.toString(), new RegExp(`f${i}\\.txt`));
      assert.deepEqual([...workersThatServed(s.records())].sort(), [1, 2]);
      assert.equal(s.workerPids().length, 2);
      assert.equal(await s.stop('SIGTERM'), 0);
      const stopped = s.records().filter((r) => r.msg === 'stopped');
      assert.equal(stopped.length, 1, s.output());
      assert.equal(stopped[0]!.requests, 13);
      s = undefined;
    });
  }

  it('HTTPS with users: logins and TLS in every worker', async () => {
    const root = await fresh();
    const added = await tool(process.execPath, [CLI, 'user', 'add', 'alice', '--root', root, '--password-stdin'], { input: 'alice-secret\n' });
    assert.equal(added.code, 0, added.stderr);
    const { cert, key } = await tlsFiles();
    s = await serveWorkers(['--root', root, '--workers', '2', '--tls-cert', cert, '--tls-key', key]);
    assert.match(s.url, /^https:/);
    const get = (auth?: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpsRequest(`${s!.url}/`, { method: 'PROPFIND', headers: { Depth: '0', ...(auth ? { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {}) }, ca: readFileSync(cert), agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        req.end();
      });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await get('alice:alice-secret'), await get());
    assert.deepEqual(statuses, [207, 401, 207, 401, 207, 401, 207, 401]);
    assert.deepEqual([...workersThatServed(s.records())].sort(), [1, 2]);
  });

  it('CalDAV: an event PUT through one worker is found by a calendar-query through the other', async () => {
    const root = join(await fresh(), 'data');
    s = await serveWorkers(['--root', root, '--workers', '2']);
    const agent = new Agent({ keepAlive: false });
    const ics = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VEVENT', 'UID:workers-1', 'DTSTAMP:20240101T000000Z', 'DTSTART:20240312T100000Z', 'DTEND:20240312T110000Z', 'SUMMARY:with workers', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    const put = await http(s.url, '/calendars/user/calendar/ev.ics', { method: 'PUT', body: ics, headers: { 'Content-Type': 'text/calendar' }, agent });
    assert.equal(put.status, 201, put.body.toString());
    const C = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"';
    const body = `<?xml version="1.0"?><C:calendar-query ${C}><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240301T000000Z" end="20240401T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`;
    for (let i = 0; i < 2; i++) {
      const r = await http(s.url, '/calendars/user/calendar/', { method: 'REPORT', headers: { Depth: '1', 'Content-Type': 'application/xml' }, body, agent });
      assert.equal(r.status, 207);
      assert.match(r.body.toString(), /ev\.ics/);
    }
    assert.deepEqual([...workersThatServed(s.records())].sort(), [1, 2]);
  });

  it('the per-address connection limit counts the connections of every worker (the supervisor sees them all)', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'c.json'), JSON.stringify({ limits: { maxConnectionsPerAddress: 3 } }));
    s = await serveWorkers(['--root', join(dir, 'data'), '--workers', '2', '--no-caldav', '--config', join(dir, 'c.json')]);
    const port = Number(new URL(s.url).port);
    const open = async () => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined); // the one over the limit is reset
      await new Promise((r) => socket.once('connect', r));
      return socket;
    };
    const held: Socket[] = [];
    for (let i = 0; i < 3; i++) held.push(await open());
    // Each idle connection reached a worker (one answers a request) before the fourth is tried.
    const answer = (socket: Socket) =>
      new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (d) => {
          text += d;
          if (text.includes('\r\n\r\n')) resolve(text);
        });
        socket.write('OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n');
      });
    for (const socket of held) assert.match(await answer(socket), /^HTTP\/1\.1 200/);
    const fourth = await open();
    await new Promise((r) => fourth.once('close', r)); // closed by the supervisor at once
    for (const socket of held) socket.destroy();
    // Closed connections are counted off: new ones are served again.
    let served = 0;
    for (let tries = 0; tries < 200 && served === 0; tries++) {
      const socket = await open();
      const result = await Promise.race([answer(socket), new Promise<string>((r) => socket.once('close', () => r('closed')))]);
      if (result.startsWith('HTTP/1.1 200')) served++;
      socket.destroy();
      if (!served) await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(served, 1);
  });
  it('connections reset by the client before a worker took them are counted off too (no address is locked out)', async () => {
    const dir = await fresh();
    await writeFile(join(dir, 'c.json'), JSON.stringify({ limits: { maxConnectionsPerAddress: 4 } }));
    s = await serveWorkers(['--root', join(dir, 'data'), '--workers', '2', '--no-caldav', '--config', join(dir, 'c.json'), '--log-level', 'warn']);
    const port = Number(new URL(s.url).port);
    // The worker reads remoteAddress ('' once reset) after the supervisor counted the address.
    for (let i = 0; i < 400; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          const go = () => {
            socket.resetAndDestroy();
            resolve();
          };
          if (i % 4 === 0) go();
          else setTimeout(go, (i % 4) - 1);
        });
        socket.on('error', () => resolve());
      });
    }
    let served = 0;
    for (let tries = 0; tries < 400 && served < 3; tries++) {
      const ok = await http(s.url, '/', { agent: new Agent({ keepAlive: false }) }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) served++;
      else await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(served, 3);
  });
});

/**
 * What one process kept in memory holds across the workers of a real `gitdav serve --workers 2`:
 * a lock taken through one worker binds a PUT through the other, one UID is accepted once however
 * the PUTs are spread, guesses at a password spread over both workers are counted together, and
 * the metrics listener adds up what every worker counted. Connections are new for each request, so
 * the supervisor's round-robin spreads them over both workers; each test checks that both served.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { CLI } from '../helpers/cli.js';
import { tool } from '../helpers/tools.js';
import { http, serveWorkers, workersThatServed, stopAfterEach, type Served } from './helpers.js';

const fresh = () => mkdtemp(join(tmpdir(), 'gitdav-shared-'));
const oneEach = new Agent({ keepAlive: false });

const LOCK_BODY = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>test</D:owner></D:lockinfo>';

function event(uid: string, n: number): string {
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20240101T000000Z', `DTSTART:202403${String(10 + (n % 18)).padStart(2, '0')}T100000Z`, 'DURATION:PT1H', `SUMMARY:event ${n}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}

describe('gitdav serve --workers 2: state shared by the workers', function () {
  this.timeout(180_000);
  let s: Served | undefined;
  stopAfterEach(() => s, () => (s = undefined));

  // git with the default 2 s bursts too: the workers read an overlay with uncommitted records.
  for (const [backend, bursts] of [['git', false], ['git', true], ['fs', false]] as const) {
    const window = bursts ? ['--burst-window-ms', '2000'] : [];
    const label = bursts ? `${backend}, 2 s bursts` : backend;
    it(`a lock taken through one worker binds PUTs through every worker (${label})`, async () => {
      s = await serveWorkers(['--root', join(await fresh(), 'data'), '--backend', backend, ...window, '--workers', '2', '--no-caldav']);
      assert.equal((await http(s.url, '/a.txt', { method: 'PUT', body: 'one', agent: oneEach })).status, 201);
      const locked = await http(s.url, '/a.txt', { method: 'LOCK', body: LOCK_BODY, headers: { 'Content-Type': 'application/xml', Timeout: 'Second-600' }, agent: oneEach });
      assert.equal(locked.status, 200, locked.body.toString());
      const token = String(locked.headers['lock-token']);
      for (let i = 0; i < 6; i++) {
        const r = await http(s.url, '/a.txt', { method: 'PUT', body: `not yours ${i}`, agent: oneEach });
        assert.equal(r.status, 423, `PUT ${i} without the token: ${r.status}`);
      }
      assert.equal((await http(s.url, '/a.txt', { agent: oneEach })).body.toString(), 'one');
      assert.equal((await http(s.url, '/a.txt', { method: 'PUT', body: 'two', headers: { If: `(${token})` }, agent: oneEach })).status, 204);
      assert.equal((await http(s.url, '/a.txt', { method: 'UNLOCK', headers: { 'Lock-Token': token }, agent: oneEach })).status, 204);
      for (let i = 0; i < 2; i++) assert.equal((await http(s.url, '/a.txt', { method: 'PUT', body: `free ${i}`, agent: oneEach })).status, 204);
      assert.deepEqual([...workersThatServed(s.records())].sort(), [1, 2]);
    });

    it(`one UID is accepted once when PUTs of it race through both workers (${label})`, async () => {
      s = await serveWorkers(['--root', join(await fresh(), 'data'), '--backend', backend, ...window, '--workers', '2']);
      const cal = '/calendars/user/calendar/';
      const put = (name: string, uid: string, n: number) => http(s!.url, cal + name, { method: 'PUT', body: event(uid, n), headers: { 'Content-Type': 'text/calendar; charset=utf-8' }, agent: oneEach });
      const rounds = 36;
      for (let round = 0; round < rounds; round++) {
        // Another UID's PUT in flight at the same time: the index is not rebuilt from scratch each round,
        // and (git, bursts) a worker's own write that caught up the other worker's record races its UID
        // check: the journal's hand-off (test/git-journal-handoff.test.ts).
        const [a, b] = await Promise.all([put(`r${round}-a.ics`, `uid-${round}`, round), put(`r${round}-b.ics`, `uid-${round}`, round), put(`other-${round}.ics`, `other-${round}`, round)]);
        const statuses = [a.status, b.status].sort();
        assert.deepEqual(statuses, [201, 409], `round ${round}: ${a.status} ${b.status}`);
        assert.match((a.status === 409 ? a : b).body.toString(), /no-uid-conflict/);
      }
      const listing = await http(s.url, cal, { method: 'PROPFIND', headers: { Depth: '1' }, agent: oneEach });
      const members = [...listing.body.toString().matchAll(/<D:href>[^<]*\/(r\d+-[ab]\.ics)<\/D:href>/g)].map((m) => m[1]);
      assert.equal(members.length, rounds, `one member per UID: ${members.join(' ')}`);
      assert.deepEqual([...workersThatServed(s.records())].sort(), [1, 2]);
    });
  }

  it('guesses at a password spread over both workers are counted together', async () => {
    const root = await fresh();
    const added = await tool(process.execPath, [CLI, 'user', 'add', 'alice', '--root', root, '--password-stdin'], { input: 'alice-secret\n' });
    assert.equal(added.code, 0, added.stderr);
    await writeFile(join(root, 'config.json'), JSON.stringify({ limits: { loginFreeFailures: 3, loginMaxBackoffMs: 60_000 } }));
    s = await serveWorkers(['--root', root, '--workers', '2', '--config', join(root, 'config.json'), '--no-caldav']);
    const guess = async (password: string) => (await http(s!.url, '/', { method: 'PROPFIND', headers: { Depth: '0', Authorization: `Basic ${Buffer.from(`alice:${password}`).toString('base64')}` }, agent: oneEach })).status;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push(await guess(`wrong-${i}`));
    // One process would allow three failures, then make the pair wait: so must two.
    assert.deepEqual(statuses, [401, 401, 401, 429, 429, 429]);
    // Even the right password waits now (a guesser learns nothing from a late right guess).
    assert.equal(await guess('alice-secret'), 429);
    const served = new Set(s.records().filter((r) => r.msg === 'login failed' || r.msg === 'login throttled' || r.msg === 'request').map((r) => r.worker));
    assert.ok(served.has(1) && served.has(2), `both workers saw guesses: ${[...served].join(',')}`);
  });

  it('the metrics listener adds up every worker (requests, per-worker rows)', async () => {
    s = await serveWorkers(['--root', join(await fresh(), 'data'), '--workers', '2', '--no-caldav', '--metrics-port', '0']);
    // Printed just after the serving line, maybe in a later chunk of output.
    let metricsUrl: string | undefined;
    while (!(metricsUrl = /metrics at (http:\/\/\S+)\n/.exec(s.output())?.[1])) await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 10; i++) assert.equal((await http(s.url, '/', { method: 'OPTIONS', agent: oneEach })).status, 200);
    assert.deepEqual([...workersThatServed(s.records())].sort(), [1, 2]);
    const text = (await http(metricsUrl.replace(/\/metrics$/, ''), '/metrics', { agent: oneEach })).body.toString();
    const options = [...text.matchAll(/^gitdav_http_requests_total\{[^}]*method="OPTIONS"[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    assert.equal(options, 10, text.split('\n').filter((l) => l.startsWith('gitdav_http_requests_total')).join('\n'));
    assert.match(text, /^gitdav_workers 2$/m);
    for (const w of ['1', '2']) assert.match(text, new RegExp(`^gitdav_worker_\\w+\\{[^}]*worker="${w}"`, 'm'));
  });
});

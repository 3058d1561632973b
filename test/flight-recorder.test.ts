/**
 * The flight recorder and the log lines, against the real server (`gitdav serve` in a child
 * process): dumps on `gitdav dump`/SIGUSR2 and on a real crash, the ring's bounds, request ids,
 * client addresses and bytes in the request lines, failed logins, and the summary at shutdown.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import bcrypt from 'bcryptjs';
import { basic, raw, type RawRequest } from './helpers/server.js';
import { killCliProcesses, runCli, type CliProcess } from './helpers/cli.js';
import { writeUsers } from '../lib/auth/users-file.js';

type Rec = Record<string, unknown> & { msg: string; level: string };

const recordsIn = (text: string): Rec[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Rec);

/** Polls until `f` gives something; a generous limit catches a hang (it is no speed check). */
async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, limitMs = 20_000): Promise<T> {
  for (let waited = 0; waited < limitMs; waited += 25) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('flight recorder and request logs (gitdav serve)', function () {
  // Several real server processes per test: a hang detector, not a speed check.
  this.timeout(120_000);
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'gitdav-flight-'))));
  afterEach(async () => {
    killCliProcesses();
    await rm(dir, { recursive: true, force: true });
  });

  const serve = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(['serve', '--root', dir, '--port', '0', ...args], env);
  /** The log record of a request, once its response is over. */
  const requestLine = (p: CliProcess, id: string) => until(`the request line of ${id}`, () => recordsIn(p.output()).find((r) => r.msg === 'request' && r.requestId === id));
  const dumpRecords = (file: string) => recordsIn(readFileSync(file, 'utf8'));

  for (const backend of ['fs', 'git'] as const) {
    it(`${backend}: gitdav dump and SIGUSR2 write the recent records, debug ones included, at log level warn`, async () => {
      const p = serve(['--backend', backend, '--log-level', 'warn']);
      const url = await p.url;
      const first = (await raw(url, '/missing')).headers['x-request-id'] as string;
      const second = (await raw(url, '/', { method: 'PROPFIND', headers: { Depth: '0' } })).headers['x-request-id'] as string;
      const flightDir = backend === 'fs' ? join(dir, '.gitdav', 'flight') : join(dir, 'gitdav', 'flight');
      assert.ok(existsSync(join(flightDir, `${p.child.pid}.pid`)), 'the process registered itself');

      const d = runCli(['dump', '--root', dir]);
      assert.equal(await d.exit, 0, d.output());
      const file = d.output().trim();
      assert.equal(resolve(file, '..'), resolve(flightDir), file);
      assert.match(file, new RegExp(`-${p.child.pid}-signal\\.jsonl$`));
      const records = dumpRecords(file);
      assert.equal(records[0]!.msg, 'flight recorder dump');
      assert.equal(records[0]!.reason, 'signal');
      assert.equal(records[0]!.records, records.length - 1);
      assert.ok(records.some((r) => r.msg === 'request start' && r.level === 'debug' && r.requestId === second), 'a debug record');
      const line = records.find((r) => r.msg === 'request' && r.requestId === first);
      assert.equal(line?.status, 404);
      assert.equal(line?.url, '/missing');
      assert.ok(!p.output().includes('"msg":"request'), 'nothing under warn is printed');

      // SIGUSR2 sent by anyone does the same; the record of the first dump is in the second.
      const before = new Set(await readdir(flightDir));
      p.child.kill('SIGUSR2');
      const next = await until('a second dump', async () => (await readdir(flightDir)).find((n) => !before.has(n) && n.endsWith('-signal.jsonl')));
      assert.ok(dumpRecords(join(flightDir, next)).some((r) => r.msg === 'flight recorder written' && r.file === file));

      p.child.kill('SIGTERM');
      assert.equal(await p.exit, 0);
      assert.ok(!existsSync(join(flightDir, `${p.child.pid}.pid`)), 'the registration goes at exit');
    });
  }

  it('a crash (an uncaught exception) writes a dump, and the process exits 1', async () => {
    // The crash is real: an exception thrown on the server's event loop by a module Node itself
    // preloads (test/helpers/crash-hook.ts); nothing in gitdav or its configuration can load it.
    const hook = pathToFileURL(resolve('dist/test/helpers/crash-hook.js')).href;
    const p = serve(['--backend', 'fs', '--log-level', 'warn'], { NODE_OPTIONS: `--import=${hook}` });
    const url = await p.url;
    const id = (await raw(url, '/before-the-crash')).headers['x-request-id'] as string;
    await raw(url, '/'); // by its end, the first request's line is written
    p.child.kill('SIGWINCH');
    assert.equal(await p.exit, 1);
    const flightDir = join(dir, '.gitdav', 'flight');
    const crash = (await readdir(flightDir)).filter((n) => n.endsWith('-crash.jsonl'));
    assert.equal(crash.length, 1, String(await readdir(flightDir)));
    const records = dumpRecords(join(flightDir, crash[0]!));
    assert.equal(records[0]!.reason, 'crash');
    const fatal = records.find((r) => r.msg === 'uncaught exception: the server stops');
    assert.match(String((fatal?.err as { message?: string })?.message), /a crash the test asked for/);
    assert.ok(records.some((r) => r.msg === 'request' && r.requestId === id && r.url === '/before-the-crash'));
    assert.match(p.output(), /uncaught exception: the server stops/, 'the error is in the log too');
    assert.ok(!existsSync(join(flightDir, `${p.child.pid}.pid`)));
  });

  it('the ring is bounded by records, by bytes, and each record by its own cap', async () => {
    const configs = [
      { flightRecords: 10, flightBytes: 1_000_000, flightRecordBytes: 1024 },
      { flightRecords: 5000, flightBytes: 4096, flightRecordBytes: 1024 },
    ];
    for (const limits of configs) {
      const config = join(dir, 'gitdav.json');
      await writeFile(config, JSON.stringify({ limits }));
      const root = await mkdtemp(join(dir, 'root-'));
      const p = runCli(['serve', '--root', root, '--backend', 'fs', '--port', '0', '--log-level', 'silent', '--config', config]);
      const url = await p.url;
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) ids.push((await raw(url, `/file-${i}`)).headers['x-request-id'] as string);
      const long = '/' + 'x'.repeat(3000);
      const longId = (await raw(url, long)).headers['x-request-id'] as string;
      await raw(url, '/last');
      // `gitdav status --dump` is the same command under the name the operator reaches for.
      const d = runCli(['status', '--dump', '--root', root]);
      assert.equal(await d.exit, 0, d.output());
      const text = readFileSync(d.output().trim(), 'utf8');
      const [header, ...lines] = text.trimEnd().split('\n');
      const stats = JSON.parse(header!) as { records: number; bytes: number; dropped: number; cut: number };
      assert.equal(stats.records, lines.length);
      assert.ok(lines.length <= limits.flightRecords, `${lines.length} records`);
      const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l), 0);
      assert.equal(stats.bytes, bytes);
      assert.ok(bytes <= limits.flightBytes, `${bytes} bytes`);
      assert.ok(lines.every((l) => Buffer.byteLength(l) <= limits.flightRecordBytes));
      assert.ok(stats.dropped > 0 && stats.cut >= 1, JSON.stringify(stats));
      const records = lines.map((l) => JSON.parse(l) as Rec);
      assert.ok(!records.some((r) => r.requestId === ids[0]), 'the oldest went');
      const cut = records.find((r) => r.msg === 'request' && r.requestId === longId);
      assert.match(String(cut?.url), /… \(3001 characters\)$/, 'the long URL was cut, the record kept');
      p.child.kill('SIGTERM');
      assert.equal(await p.exit, 0);
    }
  });

  it('every response carries X-Request-Id, and the request line has it with the address and the bytes', async () => {
    const p = serve(['--backend', 'fs', '--log-level', 'info']);
    const url = await p.url;
    const body = 'y'.repeat(1000);
    const asks: [string, RawRequest, number][] = [
      ['/', { method: 'OPTIONS' }, 200],
      ['/a.txt', { method: 'PUT', body }, 201],
      ['/a.txt', {}, 200],
      ['/', { method: 'PROPFIND', headers: { Depth: '0' } }, 207],
      ['/missing', {}, 404],
      ['/missing', { headers: { 'X-Request-Id': 'from-the-client' } }, 404],
    ];
    const ids: string[] = [];
    for (const [path, req, status] of asks) {
      const r = await raw(url, path, req);
      assert.equal(r.status, status, `${req.method ?? 'GET'} ${path}`);
      assert.match(String(r.headers['x-request-id']), UUID, 'a client that is no trusted proxy does not choose its id');
      ids.push(r.headers['x-request-id'] as string);
    }
    assert.equal(new Set(ids).size, ids.length);
    const put = await requestLine(p, ids[1]!);
    assert.equal(put.bytesIn, 1000);
    assert.equal(put.address, '127.0.0.1');
    const get = await requestLine(p, ids[2]!);
    assert.equal(get.bytesOut, 1000);
    assert.equal(get.bytesIn, 0);
    for (const id of ids) assert.equal(typeof (await requestLine(p, id)).ms, 'number');
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
  });

  it('a trusted proxy names the client and may hand its own request id, if it is a sane one', async () => {
    const p = serve(['--backend', 'fs', '--log-level', 'info', '--trusted-proxies', '127.0.0.1']);
    const url = await p.url;
    const forwarded = { 'X-Forwarded-For': '203.0.113.7' };
    const kept = await raw(url, '/', { headers: { ...forwarded, 'X-Request-Id': 'proxy-1234:abc' } });
    assert.equal(kept.headers['x-request-id'], 'proxy-1234:abc');
    assert.equal((await requestLine(p, 'proxy-1234:abc')).address, '203.0.113.7');
    for (const bad of ['has space', 'x'.repeat(200), 'quote"d']) {
      const r = await raw(url, '/', { headers: { 'X-Request-Id': bad } });
      assert.match(String(r.headers['x-request-id']), UUID, bad);
    }
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
  });

  it('a failed login names the user tried, cut short and safe to print, with the request id', async () => {
    await writeUsers(dir, new Map([['alice', (await bcrypt.hash('alice-pw', 4)).replace(/^\$2b\$/, '$2y$')]]));
    const p = serve(['--backend', 'fs', '--log-level', 'info']);
    const url = await p.url;
    const tricky = 'mallory\u009b[31m\u202e';
    const r = await raw(url, '/', { headers: basic(tricky, 'guess') });
    assert.equal(r.status, 401);
    const id = r.headers['x-request-id'] as string;
    assert.match(id, UUID);
    const failed = await until('the failed login', () => recordsIn(p.output()).find((l) => l.msg === 'login failed' && l.requestId === id));
    assert.equal(failed.user, 'mallory\\u009b[31m\\u202e');
    assert.equal(failed.address, '127.0.0.1');
    const printed = p.output().split('\n').find((l) => l.includes(id) && l.includes('login failed'))!;
    assert.ok(!/[\u0080-\u009f\u202e]/.test(printed), 'no raw control character reaches the log');
    const long = await raw(url, '/', { headers: basic('n'.repeat(200), 'guess') });
    const cut = await until('the long name', () => recordsIn(p.output()).find((l) => l.msg === 'login failed' && l.requestId === long.headers['x-request-id']));
    assert.equal(cut.user, 'n'.repeat(64) + '…');
    const ok = await raw(url, '/', { method: 'PROPFIND', headers: { Depth: '0', ...basic('alice', 'alice-pw') } });
    assert.equal(ok.status, 207);
    assert.equal((await requestLine(p, ok.headers['x-request-id'] as string)).user, 'alice');
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
  });

  it('says what it served in one line at shutdown', async () => {
    const p = serve(['--backend', 'fs', '--log-level', 'info']);
    const url = await p.url;
    assert.equal((await raw(url, '/s.txt', { method: 'PUT', body: 'hello' })).status, 201);
    assert.equal((await raw(url, '/s.txt')).text, 'hello');
    assert.equal((await raw(url, '/missing')).status, 404);
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
    const records = recordsIn(p.output());
    const down = records.findIndex((r) => r.msg === 'shutting down');
    const summaries = records.filter((r) => r.msg === 'stopped');
    assert.equal(summaries.length, 1);
    const summary = summaries[0]!;
    assert.ok(records.indexOf(summary) > down && down >= 0);
    assert.equal(summary.signal, 'SIGTERM');
    assert.equal(summary.requests, 3);
    assert.equal(summary.errors, 0);
    assert.equal(summary.bytesIn, 5);
    assert.ok((summary.bytesOut as number) >= 5);
    assert.equal(typeof summary.uptimeS, 'number');
  });

  it('gitdav dump (and status --dump) without a running server says so and exits 1', async () => {
    for (const args of [['dump', '--root', dir], ['status', '--dump', '--root', dir]]) {
      const d = runCli(args);
      assert.equal(await d.exit, 1, args.join(' '));
      assert.match(d.output(), /no running gitdav server found/);
    }
  });
});

/**
 * Statistics against the real server, run as `gitdav serve --metrics-port 0` (the built CLI): the
 * counters move with PUT, GET, PROPFIND, a 404 and a failed login; the latency histogram has the
 * method; locks and uploads in flight show; the metrics port answers only GET /metrics and refuses
 * to start when taken; `gitdav status` prints its summary. Values are compared before and after,
 * never against the clock.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { basic, lockBody, propfindBody, raw, XML } from './helpers/server.js';
import { tool } from './helpers/tools.js';
import { CLI, killCliProcesses, runCli, type CliProcess } from './helpers/cli.js';
import { writeUsers } from '../lib/auth/users-file.js';
import { parseMetrics, type Sample } from '../lib/metrics/text-format.js';

interface Served {
  p: CliProcess;
  url: string;
  metrics: string;
}

/** `gitdav serve … --metrics-port 0`, once it says where both listeners are. */
async function serve(args: string[]): Promise<Served> {
  const p = runCli(['serve', '--port', '0', '--metrics-port', '0', '--log-level', 'silent', ...args]);
  const url = await p.url;
  // Printed right after the serving line; wait for it a bounded number of turns.
  for (let i = 0; i < 200 && !/metrics at \S+\n/.test(p.output()); i++) await new Promise((r) => setTimeout(r, 10));
  const m = /gitdav: metrics at (\S+)\n/.exec(p.output());
  assert.ok(m, `no metrics line:\n${p.output()}`);
  return { p, url, metrics: m[1]! };
}

async function scrape(metricsUrl: string): Promise<Sample[]> {
  const res = await raw(metricsUrl, '/metrics');
  assert.equal(res.status, 200, res.text);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseMetrics(res.text);
}

/** The sum of a metric's samples whose labels include `labels`. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}

/**
 * Scrapes until `ok` holds, a bounded number of times: a request is counted when its answer has
 * gone out, which the client may see a moment before the server has finished with it.
 */
async function scrapeUntil(metricsUrl: string, ok: (s: Sample[]) => boolean): Promise<Sample[]> {
  let s = await scrape(metricsUrl);
  for (let i = 0; i < 50 && !ok(s); i++) {
    await new Promise((r) => setTimeout(r, 20));
    s = await scrape(metricsUrl);
  }
  return s;
}

describe('metrics (gitdav serve --metrics-port, gitdav status)', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'gitdav-metrics-'))));
  afterEach(async () => {
    killCliProcesses();
    await rm(dir, { recursive: true, force: true });
  });

  for (const backend of ['git', 'fs'] as const) {
    it(`counts PUT, GET, PROPFIND and a 404 by method and status, with latency and bytes (${backend})`, async () => {
      const s = await serve(['--root', join(dir, 'data'), '--backend', backend, '--no-caldav']);
      // A dead property, so that reading properties has something stored to read (and cache).
      assert.equal((await raw(s.url, '/setup.txt', { method: 'PUT', body: 'x' })).status, 201);
      const proppatch = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:note>n</Z:note></D:prop></D:set></D:propertyupdate>';
      assert.equal((await raw(s.url, '/setup.txt', { method: 'PROPPATCH', headers: XML, body: proppatch })).status, 207);
      const before = await scrapeUntil(s.metrics, (x) => value(x, 'gitdav_http_requests_total') >= 2);
      assert.equal((await raw(s.url, '/a.txt', { method: 'PUT', body: 'hello metrics' })).status, 201);
      assert.equal((await raw(s.url, '/a.txt')).text, 'hello metrics');
      assert.equal((await raw(s.url, '/', { method: 'PROPFIND', headers: { ...XML, Depth: '1' }, body: propfindBody('getetag', 'displayname') })).status, 207);
      assert.equal((await raw(s.url, '/missing.txt')).status, 404);
      const after = await scrapeUntil(s.metrics, (x) => value(x, 'gitdav_http_requests_total') - value(before, 'gitdav_http_requests_total') >= 4);
      const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);

      assert.equal(delta('gitdav_http_requests_total', { method: 'PUT', class: '2xx', code: '201' }), 1);
      assert.equal(delta('gitdav_http_requests_total', { method: 'GET', class: '2xx', code: '200' }), 1);
      assert.equal(delta('gitdav_http_requests_total', { method: 'PROPFIND', code: '207' }), 1);
      assert.equal(delta('gitdav_http_requests_total', { method: 'GET', class: '4xx', code: '404' }), 1);
      for (const method of ['PUT', 'GET', 'PROPFIND']) {
        assert.ok(delta('gitdav_http_request_duration_seconds_count', { method }) >= 1, `no latency for ${method}`);
        assert.ok(after.some((x) => x.name === 'gitdav_http_request_duration_seconds_bucket' && x.labels.method === method && x.labels.le === '+Inf'));
      }
      assert.ok(delta('gitdav_http_received_bytes_total') >= Buffer.byteLength('hello metrics'), 'bytes in');
      assert.ok(delta('gitdav_http_sent_bytes_total') >= Buffer.byteLength('hello metrics'), 'bytes out');
      assert.equal(value(after, 'gitdav_http_requests_in_flight'), 0);
      assert.equal(value(after, 'gitdav_http_active_uploads'), 0);
      const lookups = (cache: string) => value(after, 'gitdav_cache_hits_total', { cache }) + value(after, 'gitdav_cache_misses_total', { cache });
      if (backend === 'git') {
        assert.ok(delta('gitdav_git_commits_total') >= 1, 'the PUT made a commit');
        assert.ok(delta('gitdav_git_commit_operations_count') >= 1);
        assert.ok(lookups('git_commits') > 0, 'the commit cache was used');
      } else {
        assert.ok(lookups('fs_props') > 0, 'the properties file cache was used');
      }
      // Process statistics come with them.
      assert.ok(value(after, 'process_resident_memory_bytes') > 0);
      assert.ok(value(after, 'process_start_time_seconds') > 0);
      assert.equal(after.filter((x) => x.name === 'gitdav_eventloop_delay_seconds').length, 3);
    });
  }

  it('counts a failed login by reason, never by the name tried', async () => {
    await writeUsers(dir, new Map([['alice', (await bcrypt.hash('alice-secret', 4)).replace(/^\$2b\$/, '$2y$')]]));
    const s = await serve(['--root', dir]);
    assert.equal((await raw(s.url, '/', { method: 'PROPFIND', headers: { ...basic('mallory-guess', 'wrong'), Depth: '0' } })).status, 401);
    assert.equal((await raw(s.url, '/', { method: 'PROPFIND', headers: { Depth: '0' } })).status, 401, 'no credentials: a challenge');
    assert.equal((await raw(s.url, '/', { method: 'PROPFIND', headers: { ...basic('alice', 'alice-secret'), Depth: '0' } })).status, 207);
    const after = await scrapeUntil(s.metrics, (x) => value(x, 'gitdav_http_requests_total') >= 3);
    assert.equal(value(after, 'gitdav_login_failures_total', { reason: 'bad' }), 1);
    assert.equal(value(after, 'gitdav_login_failures_total'), 1, 'a missing login is a challenge, not a failure');
    assert.equal(value(after, 'gitdav_http_requests_total', { method: 'PROPFIND', code: '401' }), 2);
    const text = (await raw(s.metrics, '/metrics')).text;
    assert.doesNotMatch(text, /mallory|alice/, 'no user names in the statistics');
  });

  it('shows locks held and an upload in flight', async () => {
    const s = await serve(['--root', join(dir, 'data'), '--no-caldav']);
    const lock = await raw(s.url, '/locked.txt', { method: 'LOCK', headers: XML, body: lockBody() });
    assert.equal(lock.status, 201);
    assert.equal(value(await scrape(s.metrics), 'gitdav_locks_held'), 1);
    assert.equal((await raw(s.url, '/locked.txt', { method: 'UNLOCK', headers: { 'Lock-Token': String(lock.headers['lock-token']) } })).status, 204);
    assert.equal(value(await scrape(s.metrics), 'gitdav_locks_held'), 0);

    // A PUT whose body is half sent: one upload, one connection, until the rest arrives.
    const { port } = new URL(s.url);
    const socket = connect(Number(port), '127.0.0.1');
    const answered = new Promise<string>((resolve) => {
      let got = '';
      socket.on('data', (d) => (got += d));
      socket.on('close', () => resolve(got));
    });
    socket.write('PUT /big.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n01234');
    const during = await scrapeUntil(s.metrics, (x) => value(x, 'gitdav_http_active_uploads') === 1);
    assert.equal(value(during, 'gitdav_http_active_uploads'), 1);
    assert.ok(value(during, 'gitdav_http_open_connections') >= 1);
    assert.ok(value(during, 'gitdav_http_requests_in_flight') >= 1);
    socket.write('56789');
    assert.match(await answered, /^HTTP\/1\.1 201 /);
    const done = await scrapeUntil(s.metrics, (x) => value(x, 'gitdav_http_active_uploads') === 0 && value(x, 'gitdav_http_open_connections') === 0);
    assert.equal(value(done, 'gitdav_http_active_uploads'), 0);
    assert.equal(value(done, 'gitdav_http_open_connections'), 0);
  });

  it('the metrics port answers GET /metrics and nothing else; the DAV port serves no metrics', async () => {
    const s = await serve(['--root', join(dir, 'data'), '--no-caldav']);
    const base = s.metrics.replace(/\/metrics$/, '');
    assert.equal((await raw(base, '/metrics', { method: 'HEAD' })).status, 200);
    for (const [method, path] of [['GET', '/'], ['GET', '/metrics/x'], ['GET', '/a.txt'], ['POST', '/metrics'], ['PUT', '/metrics'], ['PROPFIND', '/metrics']] as const) {
      assert.equal((await raw(base, path, { method })).status, 404, `${method} ${path}`);
    }
    assert.equal((await raw(s.url, '/metrics')).status, 404, 'the DAV port has no /metrics');
  });

  it('no metrics port unless asked for', async () => {
    const p = runCli(['serve', '--port', '0', '--log-level', 'silent', '--root', join(dir, 'data')]);
    await p.url;
    assert.doesNotMatch(p.output(), /metrics at/);
  });

  describe('refused at start', () => {
    let busy: Server;
    beforeEach(async () => {
      busy = createServer();
      await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    });
    afterEach(() => new Promise<void>((r) => busy.close(() => r())));

    it('a metrics port in use: one line, non-zero, nothing created', async () => {
      const port = (busy.address() as { port: number }).port;
      const root = join(dir, 'new-root');
      const p = runCli(['serve', '--port', '0', '--log-level', 'silent', '--root', root, '--metrics-port', String(port)]);
      assert.equal(await p.exit, 1);
      const out = p.output();
      assert.match(out, new RegExp(`^gitdav: metrics port ${port} on 127\\.0\\.0\\.1 is in use \\(EADDRINUSE\\)`));
      assert.equal(out.trim().split('\n').length, 1, `more than one line:\n${out}`);
      assert.equal(existsSync(root), false, 'the root was created although the metrics port was taken');
    });

    it('a metrics host off the loopback without --insecure; a bad or shared port', async () => {
      const open = runCli(['serve', '--port', '0', '--root', join(dir, 'data'), '--metrics-port', '0', '--metrics-host', '0.0.0.0']);
      assert.equal(await open.exit, 2);
      assert.match(open.output(), /refusing to serve metrics on 0\.0\.0\.0: the metrics listener has no login and no TLS; pass --insecure/);
      const bad = runCli(['serve', '--port', '0', '--root', join(dir, 'data'), '--metrics-port', 'nine']);
      assert.equal(await bad.exit, 2);
      assert.match(bad.output(), /invalid metrics port "nine"/);
      const same = runCli(['serve', '--port', '8123', '--root', join(dir, 'data'), '--metrics-port', '8123']);
      assert.equal(await same.exit, 2);
      assert.match(same.output(), /--metrics-port must differ from --port/);
      assert.equal(existsSync(join(dir, 'data')), false);
    });
  });

  it('gitdav status prints a one-screen summary of a running server', async () => {
    const s = await serve(['--root', join(dir, 'data')]);
    for (let i = 0; i < 3; i++) assert.equal((await raw(s.url, `/f${i}.txt`, { method: 'PUT', body: 'x' })).status, 201);
    assert.equal((await raw(s.url, '/nope')).status, 404);
    await scrapeUntil(s.metrics, (x) => value(x, 'gitdav_http_requests_total') >= 4);
    const status = await tool(process.execPath, [CLI, 'status', '--metrics-url', s.metrics]);
    assert.equal(status.code, 0, status.stderr);
    const out = status.stdout;
    for (const line of [/^gitdav status: http:\/\/127\.0\.0\.1:\d+\/metrics at /m, /^uptime +\d\d:\d\d:\d\d \(since /m, /^requests +4 in all; [\d.]+\/s now, [\d.]+\/s since start$/m,
      /^ +by status +2xx 3 +4xx 1$/m, /^latency +p50 [\d.]+ m?s, p99 [\d.]+ m?s since start$/m, /^connections +\d+ open$/m, /^commits +\d+ in all; /m,
      /^locks held +0$/m, /^login failures +none$/m, /^memory +RSS [\d.]+ MiB/m, /^event loop +delay p50 /m, /^cache hits +\w+ \d+% of \d+/m]) {
      assert.match(out, line);
    }
    assert.ok(out.split('\n').length <= 24, `more than a screen:\n${out}`);

    const port = new URL(s.metrics).port;
    const once = await tool(process.execPath, [CLI, 'status', '--port', port, '--once']);
    assert.equal(once.code, 0, once.stderr);
    assert.match(once.stdout, /^requests +\d+ in all; [\d.]+\/s since start$/m);
  });

  it('gitdav status: --help, unknown options named, a server that is not there', async () => {
    const help = await tool(process.execPath, [CLI, 'status', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: gitdav status \[--metrics-url URL \| --port N/);
    const unknown = await tool(process.execPath, [CLI, 'status', '--prot', '9']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option --prot \(did you mean --port\?\)/);
    const none = await tool(process.execPath, [CLI, 'status'], { env: { ...process.env, GITDAV_METRICS_PORT: '', GITDAV_CONFIG: '' } });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /which server\? give --port N/);
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    await new Promise<void>((r) => busy.close(() => r())); // a port nobody listens on now
    const gone = await tool(process.execPath, [CLI, 'status', '--port', String(port), '--once']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^gitdav status: cannot read http:\/\/127\.0\.0\.1:\d+\/metrics \(ECONNREFUSED\): is the server running with --metrics-port\?\n$/);
  });
});

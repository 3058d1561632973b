/**
 * Metrics added up over worker processes, with real processes: test/helpers/metrics-cluster.ts is a
 * cluster primary (standing in for the supervisor) serving createSupervisorMetrics() and 2 workers
 * counting their HTTP requests. Sums, per-worker labels, a killed worker (counted as crashed, its
 * counts kept: the sum does not go backwards), a stuck worker (the scrape answers without it, its
 * last counts kept), reloads. Scrapes are retried a bounded number of times where a count may land
 * a moment after the client saw its answer; no clock assertions.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { runStatus } from '../lib/cli-status.js';
import { parseMetrics, type Sample } from '../lib/metrics/text-format.js';

interface Cluster {
  child: ChildProcess;
  /** The next stdout line matching `re` (after those already taken by an earlier match). */
  next(re: RegExp): Promise<RegExpExecArray>;
  send(line: string): void;
}

function startCluster(): Cluster {
  const child = spawn(process.execPath, [resolve('dist/test/helpers/metrics-cluster.js')], {
    env: { ...process.env, METRICS_ANSWER_MS: '1000' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let buf = '';
  let wake: (() => void) | undefined;
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    wake?.();
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
    wake?.();
  });
  return {
    child,
    async next(re) {
      for (;;) {
        const at = lines.findIndex((l) => re.test(l));
        if (at >= 0) return re.exec(lines.splice(at, 1)[0]!)!;
        if (exited) throw new Error(`the cluster exited before printing ${re}; left: ${lines.join(' | ')}`);
        await new Promise<void>((r) => (wake = r));
      }
    },
    send: (line) => child.stdin!.write(`${line}\n`),
  };
}

function httpGet(url: string): Promise<{ status: number; text: string }> {
  return new Promise((ok, fail) => {
    get(url, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => ok({ status: res.statusCode!, text }));
    }).on('error', fail);
  });
}

async function scrape(url: string): Promise<Sample[]> {
  const res = await httpGet(url);
  assert.equal(res.status, 200, res.text);
  return parseMetrics(res.text);
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}

async function scrapeUntil(url: string, ok: (s: Sample[]) => boolean, tries = 50): Promise<Sample[]> {
  let s = await scrape(url);
  for (let i = 0; i < tries && !ok(s); i++) {
    await new Promise((r) => setTimeout(r, 20));
    s = await scrape(url);
  }
  return s;
}

const workerIds = (s: Sample[]) => s.filter((x) => x.name === 'gitdav_worker_scraped').map((x) => x.labels.worker).sort();

describe('metrics over worker processes (a cluster primary and 2 workers)', function () {
  this.timeout(120_000);
  let c: Cluster;
  let metrics: string;
  const workers = new Map<string, { pid: number; port: number }>();
  const pids = new Set<number>();
  let held: Socket | undefined;

  const nextWorker = async () => {
    const m = await c.next(/^worker (\d+) (\d+) (\d+)$/);
    workers.set(m[1]!, { pid: Number(m[2]), port: Number(m[3]) });
    pids.add(Number(m[2]));
    return m[1]!;
  };
  const hit = async (id: string, n: number) => {
    for (let i = 0; i < n; i++) assert.equal((await httpGet(`http://127.0.0.1:${workers.get(id)!.port}/x`)).status, 200);
  };

  before(async () => {
    c = startCluster();
    metrics = (await c.next(/^metrics (\S+)$/))[1]!;
    await nextWorker();
    await nextWorker();
  });

  after(async () => {
    held?.destroy();
    // The stuck worker does not leave by itself; the others go with the primary.
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
    if (c.child.exitCode === null) c.child.kill('SIGKILL');
  });

  let first: string;
  let second: string;

  it('adds the workers\' counters up and gives connections, RSS and event-loop delay per worker', async () => {
    [first, second] = [...workers.keys()].sort((a, b) => Number(a) - Number(b)) as [string, string];
    await hit(first, 5);
    await hit(second, 3);
    // A keep-alive connection left open in the second worker.
    held = connect(workers.get(second)!.port, '127.0.0.1');
    await new Promise<void>((r) => held!.once('connect', () => r()));
    const s = await scrapeUntil(metrics, (x) => value(x, 'gitdav_http_requests_total') === 8 && value(x, 'gitdav_workers_scraped') === 2 && value(x, 'gitdav_worker_open_connections', { worker: second }) === 1);
    assert.equal(value(s, 'gitdav_http_requests_total', { method: 'GET', code: '200' }), 8);
    assert.equal(value(s, 'gitdav_http_request_duration_seconds_count'), 8);
    assert.equal(value(s, 'gitdav_workers'), 2);
    assert.equal(value(s, 'gitdav_workers_scraped'), 2);
    assert.deepEqual(workerIds(s), [first, second].sort());
    assert.equal(value(s, 'gitdav_worker_open_connections', { worker: first }), 0);
    assert.equal(value(s, 'gitdav_worker_open_connections', { worker: second }), 1);
    assert.equal(value(s, 'gitdav_http_open_connections'), 1, 'the sum over the workers');
    const rss1 = value(s, 'gitdav_worker_resident_memory_bytes', { worker: first });
    const rss2 = value(s, 'gitdav_worker_resident_memory_bytes', { worker: second });
    assert.ok(rss1 > 0 && rss2 > 0, 'RSS per worker');
    // The whole service: both workers and the supervisor, whose own RSS is given apart.
    const sup = value(s, 'gitdav_supervisor_resident_memory_bytes');
    assert.ok(sup > 0);
    assert.ok(value(s, 'process_resident_memory_bytes') > rss1 && value(s, 'process_resident_memory_bytes') > rss2);
    assert.ok(s.some((x) => x.name === 'gitdav_worker_eventloop_delay_seconds' && x.labels.worker === first && x.labels.quantile === '0.99'));
    // One event-loop figure for the service: the worst worker's.
    assert.equal(s.filter((x) => x.name === 'gitdav_eventloop_delay_seconds').length, 3);
    assert.equal(s.filter((x) => x.name === 'process_start_time_seconds').length, 1, 'the supervisor\'s start: the service\'s uptime');
    assert.equal(value(s, 'gitdav_worker_exits_total'), 0);
    // The other messages on the channel (a `gitdav` field, null, text) went through both ways.
    const backs = [(await c.next(/^hello-back (\d+)$/))[1], (await c.next(/^hello-back (\d+)$/))[1]];
    assert.deepEqual(backs.sort(), [first, second].sort());
  });

  it('gitdav status shows the workers, each with its connections and RSS', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let text = '';
    stdout.on('data', (d: Buffer) => (text += d.toString()));
    assert.equal(await runStatus(['--metrics-url', metrics, '--once'], { stdout, stderr }), 0);
    assert.match(text, /^workers +2 running; ended: none; reloads: none$/m);
    assert.match(text, new RegExp(`^  worker ${first} +up \\S+, 0 connections, 0 in flight, RSS \\S+ MiB, loop p99 `, 'm'));
    assert.match(text, new RegExp(`^  worker ${second} +up \\S+, 1 connection, `, 'm'));
    assert.match(text, /^ {2}supervisor +RSS /m);
    assert.match(text, /^requests +8 in all/m);
  });

  it('counts reloads by result', async () => {
    c.send('reload ok');
    c.send('reload ok');
    c.send('reload failed');
    const s = await scrapeUntil(metrics, (x) => value(x, 'gitdav_reloads_total') === 3);
    assert.equal(value(s, 'gitdav_reloads_total', { result: 'ok' }), 2);
    assert.equal(value(s, 'gitdav_reloads_total', { result: 'failed' }), 1);
  });

  it('a killed worker is counted as crashed and its counts are kept: the sums do not go backwards', async () => {
    process.kill(workers.get(first)!.pid, 'SIGKILL');
    const exit = await c.next(/^exit (\d+) (\w+)$/);
    assert.deepEqual([exit[1], exit[2]], [first, 'crashed']);
    const third = await nextWorker();
    const s = await scrapeUntil(metrics, (x) => value(x, 'gitdav_workers_scraped') === 2);
    assert.equal(value(s, 'gitdav_worker_exits_total', { how: 'crashed' }), 1);
    assert.equal(value(s, 'gitdav_workers'), 2);
    assert.deepEqual(workerIds(s), [second, third].sort());
    assert.equal(value(s, 'gitdav_http_requests_total'), 8, 'the ended worker\'s 5 are kept');
    assert.equal(value(s, 'gitdav_http_request_duration_seconds_count'), 8);
    await hit(third, 2);
    const after = await scrapeUntil(metrics, (x) => value(x, 'gitdav_http_requests_total') === 10 && value(x, 'gitdav_workers_scraped') === 2);
    assert.equal(value(after, 'gitdav_http_requests_total'), 10);
  });

  let third: string;

  it('a drained worker is counted as drained and its counts are kept', async () => {
    held!.destroy(); // else its worker waits for it (as a real drain waits for its clients)
    c.send(`drain ${second}`);
    assert.equal((await c.next(/^draining (\d+)$/))[1], second);
    const exit = await c.next(/^exit (\d+) (\w+)$/);
    assert.deepEqual([exit[1], exit[2]], [second, 'drained']);
    const fourth = await nextWorker();
    third = [...workers.keys()].find((id) => id !== first && id !== second && id !== fourth)!;
    const s = await scrapeUntil(metrics, (x) => value(x, 'gitdav_workers_scraped') === 2);
    assert.deepEqual(workerIds(s), [third, fourth].sort());
    assert.equal(value(s, 'gitdav_worker_exits_total', { how: 'drained' }), 1);
    assert.equal(value(s, 'gitdav_worker_exits_total', { how: 'crashed' }), 1);
    assert.equal(value(s, 'gitdav_http_requests_total'), 10, 'the drained worker\'s 3 are kept');
    second = fourth;
  });

  it('a draining worker is still asked while it serves, and its final counts are kept when it exits', async () => {
    const slow = httpGet(`http://127.0.0.1:${workers.get(second)!.port}/slow`);
    let s = await scrapeUntil(metrics, (x) => value(x, 'gitdav_worker_requests_in_flight', { worker: second }) === 1);
    assert.equal(value(s, 'gitdav_worker_requests_in_flight', { worker: second }), 1);
    c.send(`drain ${second}`);
    assert.equal((await c.next(/^draining (\d+)$/))[1], second);
    // Draining, its request in flight: still a worker of the service, still asked.
    s = await scrape(metrics);
    assert.equal(value(s, 'gitdav_worker_scraped', { worker: second }), 1);
    assert.equal(value(s, 'gitdav_worker_requests_in_flight', { worker: second }), 1);
    assert.equal(value(s, 'gitdav_http_requests_total'), 10);
    c.send(`release ${second}`);
    assert.equal((await slow).text, 'ok');
    // The request ends after the last scrape that reached the worker: only its final push counts it.
    const exit = await c.next(/^exit (\d+) (\w+)$/);
    assert.deepEqual([exit[1], exit[2]], [second, 'drained']);
    const fifth = await nextWorker();
    s = await scrapeUntil(metrics, (x) => value(x, 'gitdav_workers_scraped') === 2 && value(x, 'gitdav_http_requests_total') === 11);
    assert.deepEqual(workerIds(s), [third, fifth].sort());
    assert.equal(value(s, 'gitdav_worker_exits_total', { how: 'drained' }), 2);
    assert.equal(value(s, 'gitdav_http_requests_total'), 11, 'the request that finished during the drain');
    second = fifth;
  });

  it('a stuck worker does not hold the scrape up: answered without it, its last counts kept', async () => {
    assert.equal((await httpGet(`http://127.0.0.1:${workers.get(third)!.port}/stick`)).text, 'stuck');
    // Its loop blocks right after that answer; each scrape waits for it at most METRICS_ANSWER_MS.
    const s = await scrapeUntil(metrics, (x) => value(x, 'gitdav_workers_scraped') === 1, 20);
    assert.equal(value(s, 'gitdav_workers_scraped'), 1);
    assert.equal(value(s, 'gitdav_workers'), 2, 'still running');
    assert.equal(value(s, 'gitdav_worker_scraped', { worker: third }), 0);
    assert.equal(value(s, 'gitdav_worker_scraped', { worker: second }), 1);
    assert.ok(!s.some((x) => x.name === 'gitdav_worker_resident_memory_bytes' && x.labels.worker === third), 'no stale gauges');
    // 11 seen before (its /stick is counted in the stuck worker, where no one can read it yet).
    assert.equal(value(s, 'gitdav_http_requests_total'), 11);
    await hit(second, 1);
    const later = await scrapeUntil(metrics, (x) => value(x, 'gitdav_http_requests_total') === 12, 20);
    assert.equal(value(later, 'gitdav_http_requests_total'), 12);
  });
});

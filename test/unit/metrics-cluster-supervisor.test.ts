/**
 * The supervisor's side of metrics over workers (lib/metrics/cluster.ts) with stand-in workers: the
 * cluster events are emitted by the test, so a worker can be connected yet absent from
 * cluster.workers (as after worker.disconnect()), exit before its channel closes, push its final
 * counts, answer late or with malformed metrics. No processes are forked.
 */
import assert from 'node:assert/strict';
import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { createSupervisorMetrics, type SupervisorMetrics } from '../../lib/metrics/cluster.js';
import { isMetricsAnswer, isMetricsFinal, isMetricsRequest } from '../../lib/metrics/cluster-worker.js';
import { parseMetrics, type Sample } from '../../lib/metrics/text-format.js';

class FakeWorker extends EventEmitter {
  connected = true;
  dead = false;
  readonly requests: number[] = [];
  /** Set: answers each request at once with this many requests counted; unset: the test answers. */
  count: number | undefined = 0;
  readonly process: { pid: number };
  constructor(readonly id: number) {
    super();
    this.process = { pid: 100_000 + id };
  }
  isConnected(): boolean {
    return this.connected;
  }
  isDead(): boolean {
    return this.dead;
  }
  send(message: unknown, _handle?: unknown, cb?: (err: Error | null) => void): boolean {
    if (isMetricsRequest(message)) {
      this.requests.push(message.id);
      if (this.count !== undefined) {
        const n = this.count;
        setImmediate(() => this.say({ gitdavMetrics: 'answer', id: message.id, worker: this.id, metrics: requests(n) }));
      }
    }
    cb?.(null);
    return true;
  }
  say(message: unknown): void {
    cluster.emit('message', this as unknown as Worker, message, undefined);
  }
}

const requests = (n: number) => [
  { name: 'gitdav_http_requests_total', help: 'h', type: 'counter', aggregator: 'sum', values: [{ labels: { method: 'GET', code: '200' }, value: n }] },
];

const value = (s: Sample[], name: string, labels: Record<string, string> = {}) =>
  s.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((n, x) => n + x.value, 0);

describe('metrics over workers: the supervisor\'s side, with stand-in workers', () => {
  let sup: SupervisorMetrics | undefined;
  afterEach(() => sup?.close());
  const scrape = async () => parseMetrics(await sup!.source.text());

  it('asks a worker absent from cluster.workers while it is connected; retires it at exit once its channel closed, with its final counts', async () => {
    sup = createSupervisorMetrics({ answerWithinMs: 60_000 });
    const w = new FakeWorker(9001);
    assert.equal(cluster.workers?.[w.id], undefined, 'as Node leaves a worker the primary disconnect()ed');
    w.say({ gitdavMetrics: 'ready', worker: w.id });
    w.count = 5;
    let s = await scrape();
    assert.equal(value(s, 'gitdav_worker_scraped', { worker: '9001' }), 1);
    assert.equal(value(s, 'gitdav_http_requests_total'), 5);
    // It counts 2 more after its last scrape, exits, and its channel is still open.
    w.count = 7;
    w.dead = true;
    cluster.emit('exit', w as unknown as Worker, 0, null);
    sup.workerExited(w.id, 'drained');
    const asked = w.requests.length;
    s = await scrape();
    assert.equal(w.requests.length, asked, 'an exited worker is not asked');
    assert.equal(value(s, 'gitdav_workers'), 0);
    assert.equal(value(s, 'gitdav_http_requests_total'), 5, 'its last answer');
    // Its final push, read before the channel closes, replaces the last answer.
    w.say({ gitdavMetrics: 'final', worker: w.id, metrics: requests(7) });
    assert.equal(value(await scrape(), 'gitdav_http_requests_total'), 7);
    w.connected = false;
    w.emit('disconnect');
    s = await scrape();
    assert.equal(value(s, 'gitdav_http_requests_total'), 7, 'kept once retired');
    assert.equal(value(s, 'gitdav_worker_exits_total', { how: 'drained' }), 1);
    // Told twice, or a late message: counted once.
    cluster.emit('exit', w as unknown as Worker, 0, null);
    w.say({ gitdavMetrics: 'final', worker: w.id, metrics: requests(9) });
    assert.equal(value(await scrape(), 'gitdav_http_requests_total'), 7);
  });

  it('scrapes that arrive together share one round to the workers', async () => {
    sup = createSupervisorMetrics({ answerWithinMs: 60_000 });
    const w = new FakeWorker(9002);
    w.count = undefined;
    w.say({ gitdavMetrics: 'ready', worker: w.id });
    const first = sup.source.text();
    const second = sup.source.text();
    await new Promise((r) => setImmediate(r));
    assert.equal(w.requests.length, 1);
    w.say({ gitdavMetrics: 'answer', id: w.requests[0], worker: w.id, metrics: requests(3) });
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a, b);
    assert.equal(value(parseMetrics(a), 'gitdav_http_requests_total'), 3);
    // The round is over: the next scrape asks again.
    const third = sup.source.text();
    await new Promise((r) => setImmediate(r));
    assert.equal(w.requests.length, 2);
    w.say({ gitdavMetrics: 'answer', id: w.requests[1], worker: w.id, metrics: requests(4) });
    assert.equal(value(parseMetrics(await third), 'gitdav_http_requests_total'), 4);
  });

  it('a malformed answer is not one: later scrapes and the worker\'s exit go on with its last good answer', async () => {
    const bad: unknown[] = [
      [null],
      ['x'],
      [{ name: 'x', help: 'h', type: 'counter', aggregator: 'bogus', values: [] }],
      [{ name: 'x y', help: 'h', type: 'counter', aggregator: 'sum', values: [] }],
      [{ name: 'x', type: 'counter', aggregator: 'sum', values: [] }],
      [{ name: 'x', help: 'h', type: 'counter', aggregator: 'sum', values: [null] }],
      [{ name: 'x', help: 'h', type: 'counter', aggregator: 'sum', values: [{ value: '1', labels: {} }] }],
      [{ name: 'x', help: 'h', type: 'counter', aggregator: 'sum', values: [{ value: 1 }] }],
      [{ name: 'x', help: 'h', type: 'counter', aggregator: 'sum', values: [{ value: 1, labels: { a: {} } }] }],
    ];
    for (const metrics of bad) {
      assert.ok(!isMetricsAnswer({ gitdavMetrics: 'answer', id: 1, worker: 1, metrics }), JSON.stringify(metrics));
      assert.ok(!isMetricsFinal({ gitdavMetrics: 'final', worker: 1, metrics }), JSON.stringify(metrics));
    }
    // NaN crosses the channel's JSON as null (a gauge with no samples yet).
    assert.ok(isMetricsAnswer({ gitdavMetrics: 'answer', id: 1, worker: 1, metrics: [{ name: 'g', help: '', type: 'gauge', aggregator: 'average', values: [{ value: null, labels: {} }] }] }));

    sup = createSupervisorMetrics({ answerWithinMs: 60_000 });
    const w = new FakeWorker(9003);
    w.say({ gitdavMetrics: 'ready', worker: w.id });
    w.count = 2;
    assert.equal(value(await scrape(), 'gitdav_http_requests_total'), 2);
    w.count = undefined;
    for (const metrics of bad) {
      const text = sup.source.text();
      await new Promise((r) => setImmediate(r));
      w.say({ gitdavMetrics: 'answer', id: w.requests.at(-1), worker: w.id, metrics });
      w.say({ gitdavMetrics: 'final', worker: w.id, metrics });
      // The scrape still waits for it: the bad ones were no answer.
      w.say({ gitdavMetrics: 'answer', id: w.requests.at(-1), worker: w.id, metrics: requests(2) });
      assert.equal(value(parseMetrics(await text), 'gitdav_http_requests_total'), 2);
    }
    w.dead = true;
    w.connected = false;
    assert.doesNotThrow(() => cluster.emit('exit', w as unknown as Worker, 1, null));
    assert.doesNotThrow(() => sup!.workerExited(w.id, 'crashed'));
    assert.equal(value(await scrape(), 'gitdav_http_requests_total'), 2);
  });
});

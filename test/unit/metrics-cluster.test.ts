/**
 * The pure parts of metrics over workers: kept totals of ended workers (addUp, cumulative), the
 * per-worker figures read from a worker's answer, the IPC messages told apart from others, and the
 * status screen's worker rows.
 */
import assert from 'node:assert/strict';
import { addUp, cumulative, workerFigures, type MetricJSON } from '../../lib/metrics/cluster-totals.js';
import { isMetricsAnswer, isMetricsReady, isMetricsRequest } from '../../lib/metrics/cluster-worker.js';
import { renderStatus } from '../../lib/metrics/summary.js';
import { parseMetrics } from '../../lib/metrics/text-format.js';

const counter = (name: string, values: Array<[Record<string, string>, number]>): MetricJSON => ({
  name,
  help: 'h',
  type: 'counter',
  aggregator: 'sum',
  values: values.map(([labels, value]) => ({ labels, value })),
});

describe('metrics over workers: the pure parts', () => {
  it('adds ended workers\' counters and histograms up by series; gauges are not kept', () => {
    const histogram: MetricJSON = {
      name: 'd',
      help: 'h',
      type: 'histogram',
      aggregator: 'sum',
      values: [
        { metricName: 'd_bucket', labels: { le: 1, method: 'GET' }, value: 2 },
        { metricName: 'd_bucket', labels: { le: '+Inf', method: 'GET' }, value: 3 },
        { metricName: 'd_count', labels: { method: 'GET' }, value: 3 },
      ],
    };
    const gauge: MetricJSON = { name: 'g', help: 'h', type: 'gauge', aggregator: 'sum', values: [{ labels: {}, value: 7 }] };
    const a = cumulative([counter('r', [[{ code: '200' }, 5]]), histogram, gauge]);
    assert.deepEqual(a.map((m) => m.name), ['r', 'd']);
    const b = cumulative([counter('r', [[{ code: '200' }, 1], [{ code: '404' }, 2]]), histogram]);
    const sum = addUp(a, b);
    const r = sum.find((m) => m.name === 'r')!;
    assert.deepEqual(r.values.map((v) => [v.labels.code, v.value]), [['200', 6], ['404', 2]]);
    const d = sum.find((m) => m.name === 'd')!;
    assert.deepEqual(d.values.map((v) => [v.metricName, v.labels.le, v.value]), [['d_bucket', 1, 4], ['d_bucket', '+Inf', 6], ['d_count', undefined, 6]]);
    assert.equal(d.type, 'histogram');
    // Label order does not make a new series.
    assert.equal(addUp([counter('x', [[{ a: '1', b: '2' }, 1]])], [counter('x', [[{ b: '2', a: '1' }, 1]])])[0]!.values.length, 1);
    assert.deepEqual(addUp([], []), []);
  });

  it('reads a worker\'s figures from its answer', () => {
    const f = workerFigures([
      { name: 'gitdav_http_open_connections', help: '', type: 'gauge', aggregator: 'sum', values: [{ labels: {}, value: 3 }] },
      { name: 'process_resident_memory_bytes', help: '', type: 'gauge', aggregator: 'sum', values: [{ labels: {}, value: 1000 }] },
      { name: 'gitdav_eventloop_delay_seconds', help: '', type: 'gauge', aggregator: 'max', values: [{ labels: { quantile: '0.99' }, value: 0.002 }] },
    ]);
    assert.deepEqual(f, { connections: 3, inFlight: undefined, rss: 1000, started: undefined, delay: [['0.99', 0.002]] });
  });

  it('tells its IPC messages from anything else on the channel', () => {
    assert.ok(isMetricsRequest({ gitdavMetrics: 'request', id: 1 }));
    assert.ok(isMetricsAnswer({ gitdavMetrics: 'answer', id: 1, worker: 2, metrics: [] }));
    assert.ok(isMetricsReady({ gitdavMetrics: 'ready', worker: 2 }));
    assert.ok(!isMetricsAnswer({ gitdavMetrics: 'answer', id: 1, worker: 2, metrics: 'x' }));
    for (const other of [null, undefined, 'text', 3, { gitdav: 'drain' }, { type: 'prom-client:getMetricsReq', requestId: 1 }, { gitdavMetrics: 'request' }, { gitdavMetrics: 'answer', id: '1' }]) {
      assert.ok(!isMetricsRequest(other) && !isMetricsAnswer(other) && !isMetricsReady(other), JSON.stringify(other));
    }
  });

  it('the status screen: workers, how they ended, reloads, a row per worker', () => {
    const at = 2_000_000;
    const samples = parseMetrics(
      [
        'process_start_time_seconds 1000',
        'process_resident_memory_bytes 314572800',
        'gitdav_workers 2',
        'gitdav_workers_scraped 1',
        'gitdav_worker_exits_total{how="crashed"} 1',
        'gitdav_worker_exits_total{how="drained"} 4',
        'gitdav_worker_exits_total{how="stopped"} 0',
        'gitdav_reloads_total{result="ok"} 2',
        'gitdav_reloads_total{result="failed"} 0',
        'gitdav_worker_scraped{worker="10"} 0',
        'gitdav_worker_scraped{worker="9"} 1',
        'gitdav_worker_start_time_seconds{worker="9"} 1940',
        'gitdav_worker_start_time_seconds{worker="10"} 1990',
        'gitdav_worker_open_connections{worker="9"} 5',
        'gitdav_worker_requests_in_flight{worker="9"} 2',
        'gitdav_worker_resident_memory_bytes{worker="9"} 104857600',
        'gitdav_worker_eventloop_delay_seconds{worker="9",quantile="0.99"} 0.0012',
        'gitdav_supervisor_resident_memory_bytes 52428800',
        'gitdav_http_open_connections 5',
      ].join('\n'),
    );
    const out = renderStatus('http://h/metrics', { at, samples }, { at, samples });
    assert.match(out, /^workers +2 running, 1 answered; ended: crashed 1, drained 4; reloads: ok 2$/m);
    assert.match(out, /^ {2}worker 9 +up 00:01:00, 5 connections, 2 in flight, RSS 100\.0 MiB, loop p99 1\.2 ms$/m);
    assert.match(out, /^ {2}worker 10 +up 00:00:10, not answering \(starting, stuck or leaving/m);
    assert.ok(out.indexOf('worker 9') < out.indexOf('worker 10'), 'by number');
    assert.match(out, /^ {2}supervisor +RSS 50\.0 MiB$/m);
    assert.match(out, /^memory +RSS 300\.0 MiB, .*\(supervisor and workers\)$/m);
    // One process: no worker lines.
    assert.doesNotMatch(renderStatus('u', { at, samples: [] }, { at, samples: [] }), /workers/);
  });
});

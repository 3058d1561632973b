/** The pure parts of statistics: reading the text format back, quantiles from buckets, cache counts, the status screen. */
import assert from 'node:assert/strict';
import { parseMetrics } from '../../lib/metrics/text-format.js';
import { formatBytes, formatSeconds, quantile, renderStatus } from '../../lib/metrics/summary.js';
import { Lru } from '../../backends/util/lru.js';
import { cacheCounts, StatsEvent } from '../../backends/util/stats.js';

describe('metrics text format and status summary', () => {
  it('parses samples with labels, escapes, special values and timestamps; skips comments', () => {
    const samples = parseMetrics(
      [
        '# HELP x_total Things.',
        '# TYPE x_total counter',
        'x_total{method="GET",code="200"} 3',
        '',
        'y{path="a\\"b\\\\c\\nd"} 1.5e3 1700000000000',
        'z_bucket{le="+Inf"} +Inf',
        'plain NaN',
        'prom_client_style Nan',
      ].join('\n'),
    );
    assert.deepEqual(samples.slice(0, 3), [
      { name: 'x_total', labels: { method: 'GET', code: '200' }, value: 3 },
      { name: 'y', labels: { path: 'a"b\\c\nd' }, value: 1500 },
      { name: 'z_bucket', labels: { le: '+Inf' }, value: Infinity },
    ]);
    assert.ok(Number.isNaN(samples[3]!.value));
    assert.ok(Number.isNaN(samples[4]!.value));
    assert.throws(() => parseMetrics('not a sample line at all'), /not a metrics line/);
    assert.throws(() => parseMetrics('x{a=b} 1'), /labels that do not parse/);
  });

  const cases: Array<[string, number, Array<[number, number]>, number | undefined]> = [
    ['no observations', 0.5, [[0.1, 0], [Infinity, 0]], undefined],
    ['all in the first bucket: interpolated from 0', 0.5, [[0.1, 10], [1, 10], [Infinity, 10]], 0.05],
    ['the median within the second bucket', 0.5, [[0.1, 0], [1, 10], [Infinity, 10]], 0.55],
    ['p99 at the top of a bucket', 0.99, [[0.1, 99], [1, 100], [Infinity, 100]], 0.1],
    ['beyond the last bound: the bound', 0.99, [[0.1, 0], [1, 0], [Infinity, 5]], 1],
  ];
  for (const [name, q, buckets, expected] of cases) {
    it(`quantile: ${name}`, () => {
      const got = quantile(q, buckets);
      if (expected === undefined) assert.equal(got, undefined);
      else assert.ok(Math.abs(got! - expected) < 1e-9, `${got} ≠ ${expected}`);
    });
  }

  it('formats seconds and bytes for people', () => {
    assert.equal(formatSeconds(undefined), '–');
    assert.equal(formatSeconds(0.0004), '0.4 ms');
    assert.equal(formatSeconds(0.25), '250 ms');
    assert.equal(formatSeconds(2.5), '2.50 s');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(3 * 1024 * 1024), '3.0 MiB');
  });

  it('the status screen: rates over the interval, latency from the histogram', () => {
    const scrape = (at: number, requests: number, fast: number) => ({
      at,
      samples: parseMetrics(
        [
          'process_start_time_seconds 1000',
          `gitdav_http_requests_total{method="GET",class="2xx",code="200"} ${requests}`,
          `gitdav_http_request_duration_seconds_bucket{le="0.01",method="GET"} ${fast}`,
          `gitdav_http_request_duration_seconds_bucket{le="1",method="GET"} ${requests}`,
          `gitdav_http_request_duration_seconds_bucket{le="+Inf",method="GET"} ${requests}`,
          'gitdav_git_commits_total 4',
          'gitdav_git_commit_operations_sum 10',
          'gitdav_login_failures_total{reason="bad"} 2',
          'gitdav_cache_hits_total{cache="git_trees"} 3',
          'gitdav_cache_misses_total{cache="git_trees"} 1',
        ].join('\n'),
      ),
    });
    const out = renderStatus('http://h/metrics', scrape(1_100_000, 100, 100), scrape(1_102_000, 120, 100));
    assert.match(out, /^uptime +00:01:42 \(since 1970-01-01T00:16:40Z\)$/m);
    assert.match(out, /^requests +120 in all; 10\.0\/s now, 1\.2\/s since start$/m);
    assert.match(out, /^latency +p50 6\.0 ms, p99 941 ms since start$/m);
    assert.match(out, /^ +p50 505 ms, p99 990 ms in the last 2\.0 s$/m);
    assert.match(out, /^commits +4 in all; 0\.0\/s now, 0\.0\/s since start; 2\.5 changes a commit$/m);
    assert.match(out, /^login failures +bad 2$/m);
    assert.match(out, /^cache hits +git_trees 75% of 4$/m);
  });

  it('an Lru counts hits and misses into its named counts; peek counts nothing', () => {
    const counts = cacheCounts('test_lru');
    const start = { ...counts };
    const lru = new Lru<number>(10, undefined, counts);
    assert.equal(lru.get('a'), undefined);
    lru.set('a', 1);
    assert.equal(lru.get('a'), 1);
    assert.equal(lru.peek('a'), 1);
    assert.equal(lru.peek('b'), undefined);
    assert.deepEqual({ hits: counts.hits - start.hits, misses: counts.misses - start.misses }, { hits: 1, misses: 1 });
    assert.equal(cacheCounts('test_lru'), counts, 'one counts object per name');
  });

  it('a stats event reaches its listeners until they stop', () => {
    const event = new StatsEvent<number>();
    const got: number[] = [];
    const stop = event.listen((v) => got.push(v));
    event.emit(1);
    stop();
    event.emit(2);
    assert.deepEqual(got, [1]);
  });
});

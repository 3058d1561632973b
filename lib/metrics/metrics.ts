/**
 * The server's statistics in Prometheus' terms (prom-client): one Registry per process, built only
 * when a metrics port is configured. Every metric is named and explained in docs/operations.md
 * ("Metrics"); labels take few values by construction (methods from a fixed list, status codes,
 * cache names from the code, login failure reasons), never a path or a user name.
 *
 * Counts that live in the storage layers (caches, commits) are read from backends/util/stats.ts,
 * which knows nothing of Prometheus. With workers, each worker's registry answers the supervisor's
 * scrape (cluster.ts) and each metric's `aggregator` says how the workers' values combine (counters
 * and histograms add up; in-flight, uploads, connections too; locks held and event-loop delay: the
 * largest).
 */
import type * as Prom from 'prom-client';
import { requireCjs } from '../../backends/util/require-cjs.js';
import { allCacheCounts, commitLanded } from '../../backends/util/stats.js';
import type { MirrorLag } from '../../backends/git/mirrors/mirrors.js';
import { EventLoopWindow } from './event-loop.js';

/** Not `import`: a CommonJS package (backends/util/require-cjs.ts). */
const { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } = requireCjs('prom-client') as typeof import('prom-client');

/** Seconds: from a PROPFIND of one file (~1 ms) to a large upload (minutes). */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Operations per commit: 1 without concurrency, up to the committer's cap of 1,000. */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000];

export interface Metrics {
  readonly registry: Prom.Registry;
  readonly requests: Prom.Counter<'method' | 'class' | 'code'>;
  readonly duration: Prom.Histogram<'method'>;
  readonly inFlight: Prom.Gauge;
  readonly uploads: Prom.Gauge;
  readonly connections: Prom.Gauge;
  readonly received: Prom.Counter;
  readonly sent: Prom.Counter;
  readonly loginFailures: Prom.Counter<'reason'>;
  /** Where the number of locks held is read from at each scrape (the app, once it is open). */
  locksHeld: () => number;
  /** Called at each scrape before the byte counters are read: brings them up to date. */
  beforeScrape: Set<() => void>;
  /** The registry's text, for GET /metrics. */
  text(): Promise<string>;
  /** Stops listening for commits and watching the event loop. */
  close(): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  const beforeScrape = new Set<() => void>();
  const flush = () => {
    for (const f of beforeScrape) f();
  };
  const metrics: Metrics = {
    registry,
    requests: new Counter({ name: 'gitdav_http_requests_total', help: 'HTTP requests answered, by method, status class and status code (499: the client left before the answer).', labelNames: ['method', 'class', 'code'] as const, registers }),
    duration: new Histogram({ name: 'gitdav_http_request_duration_seconds', help: 'Time from a request\'s arrival to the end of its answer, by method.', labelNames: ['method'] as const, buckets: LATENCY_BUCKETS, registers }),
    inFlight: new Gauge({ name: 'gitdav_http_requests_in_flight', help: 'Requests being answered now.', aggregator: 'sum', registers }),
    uploads: new Gauge({ name: 'gitdav_http_active_uploads', help: 'PUT requests whose body is still coming in.', aggregator: 'sum', registers }),
    connections: new Gauge({ name: 'gitdav_http_open_connections', help: 'Client connections open now (TCP; idle keep-alive ones included).', aggregator: 'sum', registers }),
    received: new Counter({ name: 'gitdav_http_received_bytes_total', help: 'Bytes received on client connections (heads and bodies; TLS records on an HTTPS port).', registers, collect: flush }),
    sent: new Counter({ name: 'gitdav_http_sent_bytes_total', help: 'Bytes sent on client connections (heads and bodies; TLS records on an HTTPS port).', registers, collect: flush }),
    loginFailures: new Counter({ name: 'gitdav_login_failures_total', help: 'Logins refused, by reason: bad (wrong user or password), throttled (backing off), busy (no password check free).', labelNames: ['reason'] as const, registers }),
    locksHeld: () => 0,
    beforeScrape,
    text: () => registry.metrics(),
    close() {
      stopCommits();
      loop.close();
    },
  };
  // Locks: every open tree's table is shared by all workers once locks cross processes, so the
  // workers' values are the same table seen N times: the largest, not the sum.
  new Gauge({
    name: 'gitdav_locks_held',
    help: 'WebDAV locks held now, in every open tree (expired ones not counted).',
    aggregator: 'max',
    registers,
    collect() {
      this.set(metrics.locksHeld());
    },
  });

  const commits = new Counter({ name: 'gitdav_git_commits_total', help: 'Commits made by the git backend (one per group-commit batch that changed something).', registers });
  const batches = new Histogram({ name: 'gitdav_git_commit_operations', help: 'Requests\' changes per commit (group commit batch size).', buckets: BATCH_BUCKETS, registers });
  const stopCommits = commitLanded.listen(({ operations }) => {
    commits.inc();
    batches.observe(operations);
  });

  // Mirrors' lag (backends/git/mirrors/): one rev-list per mirror per scrape, shared by the two gauges.
  let lags: { at: number; value: Promise<MirrorLag[]> } | null = null;
  const lagsNow = () => (lags && Date.now() - lags.at < 1_000 ? lags : (lags = { at: Date.now(), value: import('../../backends/git/mirrors/mirrors.js').then((m) => m.mirrorLags()) })).value;
  const mirrorGauge = (name: string, help: string, field: 'commits' | 'seconds') =>
    new Gauge({
      name,
      help,
      labelNames: ['repository', 'mirror'] as const,
      aggregator: 'max',
      registers,
      async collect() {
        this.reset();
        for (const lag of await lagsNow()) this.set({ repository: lag.repository, mirror: lag.mirror }, lag[field]);
      },
    });
  mirrorGauge('gitdav_mirror_lag_commits', 'Commits a git mirror lacks (pushed..tip), by repository and mirror.', 'commits');
  mirrorGauge('gitdav_mirror_lag_seconds', 'Seconds since the oldest commit a git mirror lacks was made (0: none), by repository and mirror.', 'seconds');

  const cacheCounter = (name: string, help: string, field: 'hits' | 'misses') =>
    new Counter({
      name,
      help,
      labelNames: ['cache'] as const,
      registers,
      collect() {
        this.reset();
        for (const [cache, counts] of allCacheCounts()) this.inc({ cache }, counts[field]);
      },
    });
  cacheCounter('gitdav_cache_hits_total', 'Cache lookups that found their entry, by cache.', 'hits');
  cacheCounter('gitdav_cache_misses_total', 'Cache lookups that did not, by cache.', 'misses');

  const loop = new EventLoopWindow();
  new Gauge({
    name: 'gitdav_eventloop_delay_seconds',
    help: 'Event-loop delay over the last full 10 s window (the first window while it runs), by quantile (1: the maximum).',
    labelNames: ['quantile'] as const,
    aggregator: 'max',
    registers,
    collect() {
      const w = loop.read();
      this.set({ quantile: '0.5' }, w.p50);
      this.set({ quantile: '0.99' }, w.p99);
      this.set({ quantile: '1' }, w.max);
    },
  });
  return metrics;
}

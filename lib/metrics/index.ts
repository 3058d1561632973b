/**
 * Statistics (`--metrics-port`): what lib/server.ts and lib/cli-serve.ts need of them. The server
 * hands its listening socket to `watch`, puts `middleware` outermost, and `attach`es its app; the
 * listener (listener.ts) serves `source`. Nothing is measured when no metrics port is configured.
 */
import type { Middleware } from 'koa';
import type { Server } from 'node:net';
import { createMetrics, type Metrics } from './metrics.js';
import { requestMetrics, watchConnections } from './http.js';
import type { MetricsSource } from './listener.js';

export interface ServerMetrics {
  readonly metrics: Metrics;
  /** Outermost Koa middleware: counts every request with its final status. */
  readonly middleware: Middleware;
  /** Counts a listening server's connections and their bytes. */
  watch(server: Server): void;
  /** What the open app holds now (locks), read at each scrape. */
  attach(app: { locksHeld(): number }): void;
  /** For the metrics listener: this process's metrics in Prometheus' text format. */
  readonly source: MetricsSource;
  close(): void;
}

export function createServerMetrics(): ServerMetrics {
  const metrics = createMetrics();
  return {
    metrics,
    middleware: requestMetrics(metrics),
    watch: (server) => watchConnections(server, metrics),
    attach(app) {
      metrics.locksHeld = () => app.locksHeld();
    },
    source: { contentType: metrics.registry.contentType, text: () => metrics.text() },
    close: () => metrics.close(),
  };
}

export { describeMetricsListenError, listenMetrics, type MetricsListener, type MetricsSource } from './listener.js';
export { createSupervisorMetrics, sendFinalMetrics, shareWorkerMetrics, type SupervisorMetrics, type SupervisorMetricsOptions, type WorkerEnd } from './cluster.js';

/**
 * A worker's side of the supervisor's scrape (lib/metrics/cluster.ts), and the two messages both
 * sides exchange on the cluster's IPC channel. They carry a `gitdavMetrics` field of their own: the
 * supervisor's other messages (a `gitdav` field) and ours pass each other untouched, each side
 * ignoring what is not its own (anything, null included). prom-client's own cluster messages are
 * not used (see cluster.ts for why), so its listeners are never installed.
 */
import type { Registry } from 'prom-client';
import type { MetricJSON } from './cluster-totals.js';

/** A worker's first word: it answers scrapes from now on (before, a request would be lost on it). */
export interface MetricsReady {
  gitdavMetrics: 'ready';
  worker: number;
}

export interface MetricsRequest {
  gitdavMetrics: 'request';
  id: number;
}

export interface MetricsAnswer {
  gitdavMetrics: 'answer';
  id: number;
  worker: number;
  metrics?: MetricJSON[];
  error?: string;
}

export function isMetricsReady(m: unknown): m is MetricsReady {
  return typeof m === 'object' && m !== null && (m as MetricsReady).gitdavMetrics === 'ready';
}

export function isMetricsRequest(m: unknown): m is MetricsRequest {
  return typeof m === 'object' && m !== null && (m as MetricsRequest).gitdavMetrics === 'request' && typeof (m as MetricsRequest).id === 'number';
}

export function isMetricsAnswer(m: unknown): m is MetricsAnswer {
  if (typeof m !== 'object' || m === null) return false;
  const a = m as MetricsAnswer;
  return a.gitdavMetrics === 'answer' && typeof a.id === 'number' && (a.metrics === undefined || Array.isArray(a.metrics));
}

let shared: { registry: Registry; worker: number } | undefined;

/**
 * In a worker: answers the supervisor's scrapes with this process's metrics (`createServerMetrics()`'s
 * registry). Workers open no metrics listener of their own. Called again, the newest registry answers.
 */
export function shareWorkerMetrics(server: { readonly metrics: { readonly registry: Registry } }, workerId: number): void {
  const first = shared === undefined;
  shared = { registry: server.metrics.registry, worker: workerId };
  if (!first) return;
  process.on('message', (message: unknown) => {
    if (!isMetricsRequest(message) || !shared) return;
    const { registry, worker } = shared;
    registry.getMetricsAsJSON().then(
      (metrics) => reply({ gitdavMetrics: 'answer', id: message.id, worker, metrics: metrics as unknown as MetricJSON[] }),
      (err: unknown) => reply({ gitdavMetrics: 'answer', id: message.id, worker, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  reply({ gitdavMetrics: 'ready', worker: workerId });
}

function reply(answer: MetricsAnswer | MetricsReady): void {
  // A worker the supervisor has disconnected (draining) or that outlived it has no one to answer.
  if (!process.send || !process.connected) return;
  process.send(answer, undefined, {}, () => {
    // An error here is a channel that closed meanwhile: the supervisor stops waiting on its own.
  });
}

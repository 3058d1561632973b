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

/** A worker's last word before it exits (sendFinalMetrics): its counts up to the end. */
export interface MetricsFinal {
  gitdavMetrics: 'final';
  worker: number;
  metrics: MetricJSON[];
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
  return a.gitdavMetrics === 'answer' && typeof a.id === 'number' && (a.metrics === undefined || isMetricList(a.metrics));
}

export function isMetricsFinal(m: unknown): m is MetricsFinal {
  return typeof m === 'object' && m !== null && (m as MetricsFinal).gitdavMetrics === 'final' && isMetricList((m as MetricsFinal).metrics);
}

const AGGREGATORS = new Set(['sum', 'first', 'min', 'max', 'average', 'omit']);
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Whether `x` is a registry as getMetricsAsJSON() gives it, down to each value: a malformed answer
 * stored would make every later scrape's aggregate (and the kept totals) throw in the supervisor.
 * A value may be null: NaN as the JSON of the IPC channel carries it (a gauge with no samples yet).
 */
export function isMetricList(x: unknown): x is MetricJSON[] {
  return Array.isArray(x) && x.every((m) =>
    isObject(m) && typeof m.name === 'string' && NAME.test(m.name) && typeof m.help === 'string' && typeof m.type === 'string' &&
    typeof m.aggregator === 'string' && AGGREGATORS.has(m.aggregator) && Array.isArray(m.values) &&
    m.values.every((v: unknown) =>
      isObject(v) && (typeof v.value === 'number' || v.value === null) && isObject(v.labels) &&
      Object.values(v.labels).every((l) => typeof l === 'string' || typeof l === 'number') &&
      (v.metricName === undefined || (typeof v.metricName === 'string' && NAME.test(v.metricName)))));
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

/**
 * In a worker, once it has finished serving (drained or stopped) and just before it exits: sends
 * the supervisor its counts up to the end, which replace its last answered scrape (else what it
 * counted after that scrape would be lost). Resolves once the message is written to the channel
 * (or at once when there is nothing to send or no one to send it to); never rejects.
 */
export async function sendFinalMetrics(): Promise<void> {
  if (!shared || !process.send || !process.connected) return;
  const { registry, worker } = shared;
  let metrics: MetricJSON[];
  try {
    metrics = (await registry.getMetricsAsJSON()) as unknown as MetricJSON[];
  } catch {
    return; // the supervisor keeps its last answer
  }
  const final: MetricsFinal = { gitdavMetrics: 'final', worker, metrics };
  await new Promise<void>((done) => {
    if (!process.send || !process.connected) return done();
    try {
      process.send(final, undefined, {}, () => done());
    } catch {
      done();
    }
  });
}

function reply(answer: MetricsAnswer | MetricsReady): void {
  // A worker the supervisor has disconnected (draining) or that outlived it has no one to answer.
  if (!process.send || !process.connected) return;
  process.send(answer, undefined, {}, () => {
    // An error here is a channel that closed meanwhile: the supervisor stops waiting on its own.
  });
}

/**
 * The pure parts of adding workers' metrics up (lib/metrics/cluster.ts): what a worker's scrape is
 * as prom-client's JSON, which of it only grows (counters, histograms), how the totals of workers
 * that ended are kept, and the per-worker figures read out of one worker's scrape.
 */
import type { Aggregator } from 'prom-client';

/** One metric as `Registry.getMetricsAsJSON()` gives it (and `AggregatorRegistry.aggregate` takes). */
export interface MetricJSON {
  name: string;
  help: string;
  type: string;
  aggregator: Aggregator;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

/** Metrics whose values only grow while a process lives: a worker's last ones stay in the totals after it ends. */
export function cumulative(metrics: readonly MetricJSON[]): MetricJSON[] {
  return metrics.filter((m) => m.type === 'counter' || m.type === 'histogram');
}

const key = (v: MetricJSON['values'][number]) =>
  `${v.metricName ?? ''}\u0000${Object.keys(v.labels).sort().map((k) => `${k}=${String(v.labels[k])}`).join('\u0000')}`;

/**
 * `a` and `b` added up, series by series (name, sample name, labels): the kept totals of ended
 * workers grow by one more worker's last values. Bounded by the number of series, not of workers.
 */
export function addUp(a: readonly MetricJSON[], b: readonly MetricJSON[]): MetricJSON[] {
  const byName = new Map<string, { meta: MetricJSON; values: Map<string, MetricJSON['values'][number]> }>();
  for (const m of [...a, ...b]) {
    let entry = byName.get(m.name);
    if (!entry) byName.set(m.name, (entry = { meta: m, values: new Map() }));
    for (const v of m.values) {
      const k = key(v);
      const had = entry.values.get(k);
      entry.values.set(k, { ...v, value: (had?.value ?? 0) + v.value });
    }
  }
  return [...byName.values()].map(({ meta, values }) => ({
    name: meta.name,
    help: meta.help,
    type: meta.type,
    aggregator: meta.aggregator,
    values: [...values.values()],
  }));
}

/** One worker's figures for the per-worker gauges, read from its scrape (undefined: it does not have that metric). */
export interface WorkerFigures {
  connections?: number;
  inFlight?: number;
  rss?: number;
  started?: number;
  /** Event-loop delay by quantile ('0.5', '0.99', '1'). */
  delay: Array<[string, number]>;
}

export function workerFigures(metrics: readonly MetricJSON[]): WorkerFigures {
  const one = (name: string) => metrics.find((m) => m.name === name)?.values[0]?.value;
  const delay = metrics.find((m) => m.name === 'gitdav_eventloop_delay_seconds')?.values ?? [];
  return {
    connections: one('gitdav_http_open_connections'),
    inFlight: one('gitdav_http_requests_in_flight'),
    rss: one('process_resident_memory_bytes'),
    started: one('process_start_time_seconds'),
    delay: delay.map((v) => [String(v.labels.quantile), v.value]),
  };
}

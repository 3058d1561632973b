/**
 * Statistics of a supervisor and its workers (`gitdav serve --workers N`): the supervisor serves,
 * through its metrics listener, every worker's metrics added up, per-worker figures, and its own.
 *
 * At each scrape the supervisor asks every connected worker that said it shares its metrics for its
 * registry as JSON (messages in cluster-worker.ts) and waits a bounded time (2 s): a worker that does not answer (stuck, draining,
 * just died) leaves the scrape answered without it, and `gitdav_workers_scraped` says how many did.
 * The answers are added up by prom-client's `AggregatorRegistry.aggregate`, following each metric's
 * `aggregator` (counters and histograms sum; see metrics.ts for the gauges). prom-client's
 * `clusterMetrics()` is not used: it fails the whole scrape when one worker is late (a fixed 5 s
 * timeout, and the late request stays in its table), and it hands back only the sum, while the
 * per-worker figures and the kept totals below need each worker's answer.
 *
 * Counters never go backwards: the supervisor keeps each worker's last answer; a worker that does
 * not answer counts with its last counters and histograms, and when a worker ends, its last ones
 * are added to totals kept for the ended workers (bounded by the number of series). A worker that
 * finished serving pushes its final counts (sendFinalMetrics) before it exits, which replace its
 * last answer. Gauges come only from the workers that answered.
 *
 * Which workers live is this module's own record (the Worker objects seen at workerStarted, at their
 * ready message, or in cluster.workers when it was made), not cluster.workers: Node removes a worker
 * from there as soon as the primary calls worker.disconnect(), while it still serves. A worker is
 * asked while its channel is connected and retired only at its 'exit' (once its channel has closed,
 * so a final push still on its way is read first).
 *
 * Scrapes that arrive while one is asking the workers share its answer (one round to the workers,
 * not one per scrape); no answer is reused after its round ended.
 */
import cluster, { type Worker } from 'node:cluster';
import type * as Prom from 'prom-client';
import { requireCjs } from '../../backends/util/require-cjs.js';
import { addUp, cumulative, workerFigures, type MetricJSON } from './cluster-totals.js';
import { isMetricsAnswer, isMetricsFinal, isMetricsReady, type MetricsRequest } from './cluster-worker.js';
import type { MetricsSource } from './listener.js';

export { sendFinalMetrics, shareWorkerMetrics } from './cluster-worker.js';

/** Not `import`: a CommonJS package (backends/util/require-cjs.ts). */
const { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Registry } = requireCjs('prom-client') as typeof import('prom-client');

export type WorkerEnd = 'crashed' | 'drained' | 'stopped';

export interface SupervisorMetrics {
  /** For listenMetrics(): every worker's metrics aggregated, plus the supervisor's own. */
  readonly source: MetricsSource;
  /** A worker forked (cluster.worker.id); a connected worker not announced is asked all the same. */
  workerStarted(id: number, pid: number): void;
  /**
   * A worker ended: call at cluster's 'exit', not at drain start (a draining worker still serves and
   * is still asked). Counted in gitdav_worker_exits_total; its last counts are kept once it has exited.
   */
  workerExited(id: number, how: WorkerEnd): void;
  /** A reload (SIGHUP, gitdav reload) succeeded, or failed and the old workers kept serving. */
  reloaded(ok: boolean): void;
  /** Stops listening on the cluster; scrapes under way answer with what came in. */
  close(): void;
}

export interface SupervisorMetricsOptions {
  /** How long a scrape waits for the workers' answers, ms (default 2,000). */
  answerWithinMs?: number;
}

interface WorkerState {
  pid?: number;
  /** Its cluster Worker (liveness: isConnected/isDead); unknown until workerStarted or its ready message. */
  worker?: Worker;
  /** It exited; retired once its channel has closed (a final push may still be on its way). */
  exited?: boolean;
  /** It pushed its final counts: it serves no more and is not asked again. */
  final?: boolean;
  /** Unix seconds, as the supervisor saw the start. */
  started: number;
  /** It said it answers scrapes (shareWorkerMetrics); a worker still starting is not asked. */
  sharing?: boolean;
  /** Its newest answer, and the scrape that asked for it (answers may arrive late, out of order). */
  last?: { scrape: number; metrics: MetricJSON[] };
}

interface PendingScrape {
  waiting: Set<number>;
  answers: Map<number, MetricJSON[]>;
  finish(): void;
}

const ENDS: WorkerEnd[] = ['crashed', 'drained', 'stopped'];

export function createSupervisorMetrics(options: SupervisorMetricsOptions = {}): SupervisorMetrics {
  const answerWithinMs = options.answerWithinMs ?? 2_000;
  // The supervisor's process metrics join the workers' in the sums (process_* is then the whole
  // service: RSS, CPU, file descriptors); its own figures are also given apart, below.
  const processRegistry = new Registry();
  collectDefaultMetrics({ register: processRegistry });
  const own = new Registry();
  const registers = [own];
  const exits = new Counter({ name: 'gitdav_worker_exits_total', help: 'Workers that ended, by how: crashed (the supervisor replaces it), drained (replaced at a reload, after its requests), stopped (at shutdown).', labelNames: ['how'] as const, registers });
  for (const how of ENDS) exits.inc({ how }, 0);
  const reloads = new Counter({ name: 'gitdav_reloads_total', help: 'Reloads (SIGHUP, gitdav reload), by result: ok, or failed (the old workers kept serving).', labelNames: ['result'] as const, registers });
  reloads.inc({ result: 'ok' }, 0);
  reloads.inc({ result: 'failed' }, 0);
  const startedAt = Date.now() / 1000 - process.uptime();
  new Gauge({ name: 'process_start_time_seconds', help: 'When the supervisor started (Unix time): the service\'s uptime. Workers\' own start times are gitdav_worker_start_time_seconds.', registers, collect() { this.set(Math.round(startedAt)); } });
  new Gauge({ name: 'gitdav_supervisor_resident_memory_bytes', help: 'The supervisor\'s own RSS (process_resident_memory_bytes is the supervisor\'s and every worker\'s together).', registers, collect() { this.set(process.memoryUsage.rss()); } });

  const workers = new Map<number, WorkerState>();
  // Cluster ids are never reused: one told ended is never asked or counted again, even if it is
  // still in cluster.workers for a moment (its counts are in `retired` already).
  const ended = new Set<number>();
  let retired: MetricJSON[] = [];
  const pending = new Map<number, PendingScrape>();
  let scrapes = 0;

  const stopWaiting = (id: number) => {
    for (const p of pending.values()) {
      if (p.waiting.delete(id) && p.waiting.size === 0) p.finish();
    }
  };
  /** A worker that ended: its last counters join the kept totals, and no scrape waits for it. */
  const retire = (id: number) => {
    if (ended.has(id)) return;
    ended.add(id);
    if (ended.size > 10_000) ended.delete(ended.values().next().value!);
    const s = workers.get(id);
    try {
      if (s?.last) retired = addUp(retired, cumulative(s.last.metrics));
    } catch {
      // An answer that passed the checks and still does not add up: dropped, the kept totals stay whole.
    }
    workers.delete(id);
    stopWaiting(id);
  };
  /** The worker exited: retired now, or once its channel closes (messages still in it are read first). */
  const exited = (worker: Worker) => {
    const s = workers.get(worker.id);
    stopWaiting(worker.id);
    if (!s || s.exited || ended.has(worker.id)) return;
    s.exited = true;
    if (worker.isConnected()) worker.once('disconnect', () => retire(worker.id));
    else retire(worker.id);
  };
  const known = (worker: Worker): WorkerState | undefined => {
    if (ended.has(worker.id)) return undefined;
    let s = workers.get(worker.id);
    if (!s) workers.set(worker.id, (s = { pid: worker.process.pid, started: Date.now() / 1000 }));
    s.worker ??= worker;
    return s;
  };
  const onMessage = (worker: Worker, message: unknown) => {
    if (isMetricsReady(message)) {
      const s = known(worker);
      if (s) s.sharing = true;
      return;
    }
    if (isMetricsFinal(message)) {
      const s = workers.get(worker.id);
      if (!s) return;
      s.final = true;
      s.last = { scrape: Infinity, metrics: message.metrics };
      stopWaiting(worker.id);
      return;
    }
    if (!isMetricsAnswer(message)) return;
    const s = workers.get(worker.id);
    if (!s) return; // ended meanwhile: its totals are kept from its last answer
    if (message.metrics && (!s.last || s.last.scrape < message.id)) s.last = { scrape: message.id, metrics: message.metrics };
    const p = pending.get(message.id);
    if (!p || !p.waiting.delete(worker.id)) return;
    if (message.metrics) p.answers.set(worker.id, message.metrics);
    if (p.waiting.size === 0) p.finish();
  };
  // Every exit is seen here, with or without workerExited.
  const onExit = (worker: Worker) => exited(worker);
  cluster.on('message', onMessage);
  cluster.on('exit', onExit);
  // Made after workers were forked (meant to be before): their "ready" may be past, so ask them.
  for (const w of Object.values(cluster.workers ?? {})) if (w) known(w)!.sharing = true;

  const ask = (id: number): Promise<Map<number, MetricJSON[]>> =>
    new Promise((resolve) => {
      const p: PendingScrape = { waiting: new Set(), answers: new Map(), finish: () => {} };
      const timer = setTimeout(() => p.finish(), answerWithinMs);
      p.finish = () => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(p.answers);
      };
      pending.set(id, p);
      const request: MetricsRequest = { gitdavMetrics: 'request', id };
      for (const s of workers.values()) {
        const w = s.worker;
        // Still loading its modules (not sharing): a request now would be lost and hold the scrape up.
        if (!w || !s.sharing || s.exited || s.final || !w.isConnected()) continue;
        p.waiting.add(w.id);
        try {
          w.send(request, undefined, (err) => {
            if (err) stopWaiting(w.id);
          });
        } catch {
          p.waiting.delete(w.id); // its channel closed between the check and the send
        }
      }
      if (p.waiting.size === 0) p.finish();
    });

  const round = async (): Promise<string> => {
    const id = ++scrapes;
    const answers = await ask(id);
    const inputs: MetricJSON[][] = [(await processRegistry.getMetricsAsJSON()) as unknown as MetricJSON[], retired];
    for (const [wid, s] of workers) {
      const fresh = answers.get(wid);
      if (fresh) inputs.push(fresh);
      else if (s.last) inputs.push(cumulative(s.last.metrics));
    }
    const summed = AggregatorRegistry.aggregate<Prom.PrometheusContentType>(inputs);
    return Registry.merge([own, perWorker(workers, answers), summed]).metrics();
  };
  // Scrapes arriving while a round is under way share it: the workers serialise their registries once.
  let inFlight: Promise<string> | undefined;
  const text = (): Promise<string> => (inFlight ??= round().finally(() => (inFlight = undefined)));

  return {
    source: { contentType: own.contentType, text },
    workerStarted(id, pid) {
      if (ended.has(id)) return;
      const w = cluster.workers?.[id];
      const s = w ? known(w)! : workers.get(id) ?? { started: Date.now() / 1000 };
      s.pid = pid;
      workers.set(id, s);
    },
    workerExited(id, how) {
      exits.inc({ how });
      const w = workers.get(id)?.worker;
      // Told before the process has exited: it may still serve; our 'exit' listener retires it.
      if (w) {
        if (w.isDead()) exited(w);
      } else retire(id);
    },
    reloaded(ok) {
      reloads.inc({ result: ok ? 'ok' : 'failed' });
    },
    close() {
      cluster.off('message', onMessage);
      cluster.off('exit', onExit);
      for (const p of [...pending.values()]) p.finish();
    },
  };
}

/** This scrape's worker gauges, in a registry of its own (two scrapes at once do not share them). */
function perWorker(workers: Map<number, WorkerState>, answers: Map<number, MetricJSON[]>): Prom.Registry {
  const r = new Registry();
  const registers = [r];
  const gauge = (name: string, help: string, labelNames: string[] = ['worker']) => new Gauge({ name, help, labelNames, registers });
  const running = [...workers].filter(([, s]) => !s.exited);
  gauge('gitdav_workers', 'Workers running now (started and not ended).', []).set(running.length);
  gauge('gitdav_workers_scraped', 'Workers that answered this scrape in time (the others count with their last counters; their gauges are missing).', []).set(answers.size);
  const scraped = gauge('gitdav_worker_scraped', 'Whether this worker answered this scrape in time (1) or not (0: still starting, stuck, or leaving).');
  const started = gauge('gitdav_worker_start_time_seconds', 'When this worker started (Unix time).');
  const connections = gauge('gitdav_worker_open_connections', 'Client connections open now in this worker.');
  const inFlight = gauge('gitdav_worker_requests_in_flight', 'Requests this worker is answering now.');
  const rss = gauge('gitdav_worker_resident_memory_bytes', 'This worker\'s RSS.');
  const delay = gauge('gitdav_worker_eventloop_delay_seconds', 'This worker\'s event-loop delay over its last full 10 s window, by quantile (1: the maximum).', ['worker', 'quantile']);
  for (const [id, s] of running) {
    const worker = String(id);
    const answer = answers.get(id);
    scraped.set({ worker }, answer ? 1 : 0);
    const f = answer ? workerFigures(answer) : undefined;
    started.set({ worker }, Math.round(f?.started ?? s.started));
    if (!f) continue;
    if (f.connections !== undefined) connections.set({ worker }, f.connections);
    if (f.inFlight !== undefined) inFlight.set({ worker }, f.inFlight);
    if (f.rss !== undefined) rss.set({ worker }, f.rss);
    for (const [quantile, v] of f.delay) delay.set({ worker, quantile }, v);
  }
  return r;
}

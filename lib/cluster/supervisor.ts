/**
 * `gitdav serve --workers N` (N > 1): the supervisor. It loads the configuration once, holds the
 * listening socket for its whole life (distribute.ts) and the folder's server.pid, forks N workers
 * (worker.ts) with that configuration, hands them connections, replaces one that dies (with
 * back-off, restart-backoff.ts), reloads gracefully on SIGHUP (reload.ts: a new generation of
 * workers, then the old one drains) and, on SIGTERM or SIGINT, has every worker drain and exits 0.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { realpath } from 'node:fs/promises';
import { MAX_TIMER_MS, type ServerConfig } from '../config.js';
import { createLogger, withFields, type Logger } from '../../backends/util/log.js';
import { holdFolder, type FolderHold } from '../../backends/fs/folder-lock.js';
import { isMultiUser } from '../auth/users-file.js';
import type { MetricsListener, SupervisorMetrics } from '../metrics/index.js';
import { describeStartError } from '../start-errors.js';
import { Distributor, limitsOf } from './distribute.js';
import { isFromWorker, StartFailure, WORKER_CONFIG_ENV, type FromWorker } from './messages.js';
import { RestartBackoff } from './restart-backoff.js';
import { checkReload, checkTls } from './reload.js';
import { RegistrationFile, type SupervisorRegistration } from './registration.js';
import { cmdlineOf } from '../flight/registration.js';
import { workerExecArgv, workerNodeOptions } from '../process-limits.js';
import { LoginGuardHost } from '../auth/shared-login-guard.js';

/** A new worker must be ready within this long (it opens the root; a big repository takes a while). */
const READY_LIMIT_MS = 120_000;

interface WorkerInfo {
  worker: Worker;
  generation: number;
  state: 'starting' | 'ready' | 'draining';
  readyAt?: number;
  failure?: string;
  ready: Promise<void>;
  settle(err?: Error): void;
}

export async function runSupervisor(config: ServerConfig, args: string[]): Promise<number> {
  const logger = withFields(createLogger(config.logLevel), { supervisor: process.pid });
  // Until the workers are ready a SIGHUP has nothing to reload (and must not end the supervisor).
  const early = () => logger.warn('SIGHUP before the workers are ready: nothing to reload yet');
  process.on('SIGHUP', early);
  const fail = (err: unknown) => {
    process.stderr.write(`gitdav: ${err instanceof StartFailure ? err.message : describeStartError(err, config)}\n`);
    if (config.logLevel === 'debug') process.stderr.write(`${(err instanceof StartFailure ? err.stack2 : (err as Error)?.stack) ?? String(err)}\n`);
    return 1;
  };
  const tlsProblem = checkTls(config); // as a worker would fail on it, before anything is bound
  if (tlsProblem) {
    process.stderr.write(`gitdav: ${tlsProblem}\n`);
    return 1;
  }
  // The folder backend's server.pid: the supervisor holds it for its workers, as openApp does for one process.
  let hold: FolderHold | undefined;
  if (config.backend === 'fs') {
    const root = await realpath(config.root).catch(() => resolve(config.root));
    try {
      hold = await holdFolder(join(root, '.gitdav'), root);
    } catch (err) {
      return fail(err);
    }
  }
  const distributor = new Distributor(limitsOf(config), logger);
  let port: number;
  let url: string;
  try {
    const bound = await distributor.listen(config.host, config.port);
    port = bound.port;
    url = `${config.tlsCert ? 'https' : 'http'}://${bound.host}:${bound.port}`;
  } catch (err) {
    await hold?.release();
    return fail(err);
  }
  const metricsCode = config.metricsPort !== undefined ? await import('../metrics/index.js') : undefined; // prom-client only if asked for
  const supMetrics = metricsCode?.createSupervisorMetrics();
  let metricsListener: MetricsListener | undefined;
  if (metricsCode && supMetrics) {
    try {
      metricsListener = await metricsCode.listenMetrics(config.metricsHost, config.metricsPort!, supMetrics.source);
    } catch (err) {
      supMetrics.close();
      await distributor.close();
      await hold?.release();
      process.stderr.write(`gitdav: ${metricsCode.describeMetricsListenError(err, config.metricsHost, config.metricsPort!)}\n`);
      return 1;
    }
  }
  const guard = isMultiUser(config.root) && !config.proxyUserHeader ? new LoginGuardHost(config, logger) : undefined;
  const sup = new Supervisor(config, args, port, logger, distributor, supMetrics, guard);
  const cleanup = async () => {
    await distributor.close();
    await metricsListener?.close();
    supMetrics?.close();
    await guard?.close();
    await hold?.release();
  };
  try {
    await sup.start();
  } catch (err) {
    await sup.stopAll(0);
    await cleanup();
    return fail(err);
  }
  await sup.register();
  process.off('SIGHUP', early);
  process.on('SIGHUP', () => sup.reload().catch((err: unknown) => logger.error('reload failed', { err })));
  process.on('unhandledRejection', (err) => logger.error('unhandled rejection', { err }));
  const stop = (signal: string) => {
    sup.shutdown(signal, cleanup).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  // Kept (not once): a second Ctrl-C must not end the supervisor by the default action mid-shutdown.
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => (sup.stopping ? logger.warn('already shutting down', { signal }) : stop(signal)));
  const how = [config.backend, isMultiUser(config.root) || config.proxyUserHeader ? 'a repository per user, login required' : '', config.readOnly ? 'read-only' : '', `${config.workers} workers`].filter(Boolean).join(', ');
  logger.info('listening', { url: url + '/', root: resolve(config.root), backend: config.backend, workers: config.workers });
  process.stdout.write(`gitdav: serving ${resolve(config.root)} (${how}) at ${url}/\n`);
  if (metricsListener) process.stdout.write(`gitdav: metrics at ${metricsListener.url}\n`);
  return -1;
}

class Supervisor {
  private readonly infos = new Map<number, WorkerInfo>();
  private generation = 0;
  private started = false;
  /** Shutting down (read by the signal handlers: a repeated signal is ignored). */
  stopping = false;
  private readonly backoff = new RestartBackoff();
  private pendingReplacements = 0;
  private restarts = 0;
  private reloads = 0;
  private reloadChain: Promise<unknown> = Promise.resolve();
  private stateDir?: string;
  private registration?: SupervisorRegistration;
  private file?: RegistrationFile;
  private signals = 0; // SIGHUPs received
  private answering = 0; // the SIGHUPs received before the reload under way read the configuration
  private readonly totals: Record<string, number> = {};
  private allGone?: () => void;

  constructor(
    private config: ServerConfig,
    private readonly args: string[],
    private readonly port: number,
    private readonly logger: Logger,
    private readonly distributor: Distributor,
    private readonly metrics: SupervisorMetrics | undefined,
    private readonly guard: LoginGuardHost | undefined,
  ) {
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
  }

  /** The first generation: one worker first (it may create the repository), then the others. */
  async start(): Promise<void> {
    const first = this.fork(this.config, 0);
    await first.ready;
    await Promise.all(Array.from({ length: this.config.workers - 1 }, () => this.fork(this.config, 0).ready));
    this.stateDir = first.stateDir;
    this.started = true;
    this.updateTargets();
  }

  async register(): Promise<void> {
    if (!this.stateDir) return;
    this.registration = { pid: process.pid, cmdline: await cmdlineOf('self'), started: new Date().toISOString(), reloads: 0 };
    this.file = new RegistrationFile(this.stateDir, (err) => this.logger.warn('supervisor registration not written: gitdav reload may not find this server', { err }));
    await this.persist();
  }

  private persist(): Promise<void> {
    return this.registration && this.file ? this.file.write({ ...this.registration, signals: this.signals }) : Promise.resolve();
  }

  private fork(config: ServerConfig, generation: number): WorkerInfo & { stateDir?: string } {
    cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker-main.js', import.meta.url)), args: [], execArgv: workerExecArgv(config.limits, process.execArgv) }); // this config's heap limits
    const worker = cluster.fork({ [WORKER_CONFIG_ENV]: JSON.stringify({ ...config, port: this.port, supervised: true }), ...workerNodeOptions(process.env.NODE_OPTIONS) }); // without the supervisor's heap flags
    let settle!: (err?: Error) => void;
    const ready = new Promise<void>((resolveReady, reject) => (settle = (err) => (err ? reject(err) : resolveReady())));
    const info: WorkerInfo & { stateDir?: string } = { worker, generation, state: 'starting', ready, settle };
    ready.catch(() => undefined); // each caller that waits handles it
    const limit = setTimeout(() => {
      if (info.state !== 'starting') return;
      info.failure = `worker ${worker.id} was not ready within ${READY_LIMIT_MS / 1000} s`;
      worker.process.kill('SIGKILL');
    }, READY_LIMIT_MS);
    void ready.finally(() => clearTimeout(limit)).catch(() => undefined);
    this.infos.set(worker.id, info);
    // A fork that could not spawn (EMFILE, EAGAIN, ENOENT) emits only 'error', never 'exit': it is
    // handled as a worker that exited before it was ready (back-off included). Others are logged.
    worker.on('error', (err: Error) => {
      if (worker.process.pid !== undefined) return this.logger.warn('worker channel error', { worker: worker.id, err });
      info.failure = `worker ${worker.id} could not be started: ${err.message}`;
      this.onExit(worker, null, null);
    });
    this.guard?.attach(worker);
    worker.on('message', (msg: unknown) => {
      if (isFromWorker(msg)) this.onMessage(info, msg);
    });
    worker.on('online', () => this.metrics?.workerStarted(worker.id, worker.process.pid ?? 0));
    this.logger.debug('worker started', { worker: worker.id, pid: worker.process.pid, generation });
    return info;
  }

  private onMessage(info: WorkerInfo & { stateDir?: string }, msg: FromWorker): void {
    switch (msg.gitdav) {
      case 'ready':
        if (info.state === 'draining') break; // retired while it started: it is being ended
        info.state = 'ready';
        info.readyAt = Date.now();
        info.stateDir = msg.stateDir;
        this.logger.info('worker ready', { worker: info.worker.id, pid: info.worker.process.pid, generation: info.generation });
        info.settle();
        this.updateTargets();
        break;
      case 'failed':
        info.failure = msg.reason;
        (info as { stack?: string }).stack = msg.stack;
        break;
      case 'took':
        this.distributor.took(msg.id);
        break;
      case 'closed':
        this.distributor.closed(info.worker.id, msg.id);
        break;
      case 'draining':
        if (info.state !== 'draining') {
          if (info.state === 'starting') info.settle(new StartFailure(`worker ${info.worker.id} began draining before it was ready`));
          info.state = 'draining';
          this.updateTargets();
          this.ensureWorkers();
        }
        if (info.worker.isConnected()) info.worker.send({ gitdav: 'released' });
        break;
      case 'stopped':
        for (const [k, v] of Object.entries(msg.summary)) this.totals[k] = (this.totals[k] ?? 0) + v;
        break;
    }
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const info = this.infos.get(worker.id);
    if (!info) return;
    this.infos.delete(worker.id);
    this.distributor.workerGone(worker.id);
    const how = this.stopping ? 'stopped' : info.state === 'draining' ? 'drained' : 'crashed';
    this.metrics?.workerExited(worker.id, how);
    if (info.state === 'starting') {
      const reason = info.failure ?? `worker ${worker.id} exited (${signal ?? `code ${code}`}) before it was ready`;
      info.settle(new StartFailure(reason, (info as { stack?: string }).stack));
    }
    let restartInMs: number | undefined;
    if (how === 'crashed' && this.started && info.generation === this.generation) {
      restartInMs = this.backoff.next(info.readyAt === undefined ? undefined : Date.now() - info.readyAt);
      this.pendingReplacements++;
      setTimeout(() => {
        this.pendingReplacements--;
        this.ensureWorkers();
      }, restartInMs).unref();
    }
    const fields = { worker: worker.id, pid: worker.process.pid, code, signal, how, generation: info.generation, restartInMs, reason: info.failure };
    // At the first start the supervisor prints the reason as gitdav serve does, in one line.
    if (!this.started && !this.stopping) this.logger.debug('worker exited', fields);
    else if (how === 'crashed') this.logger.error('worker exited', fields);
    else this.logger.info('worker exited', fields);
    this.updateTargets();
    if (this.infos.size === 0) this.allGone?.();
  }

  /** Starts workers of the current generation until it has as many as configured (replacements). */
  private ensureWorkers(): void {
    if (this.stopping || !this.started) return;
    const alive = [...this.infos.values()].filter((i) => i.generation === this.generation && i.state !== 'draining').length;
    for (let n = alive + this.pendingReplacements; n < this.config.workers; n++) {
      this.restarts++;
      try {
        this.fork(this.config, this.generation);
      } catch (err) {
        // fork threw (the system refused a process): try again after the back-off.
        const restartInMs = this.backoff.next(undefined);
        this.logger.error('worker could not be started', { err, restartInMs });
        this.pendingReplacements++;
        setTimeout(() => {
          this.pendingReplacements--;
          this.ensureWorkers();
        }, restartInMs).unref();
        return;
      }
    }
  }

  private updateTargets(): void {
    if (!this.started || this.stopping) return;
    this.distributor.setTargets([...this.infos.values()].filter((i) => i.generation === this.generation && i.state === 'ready').map((i) => i.worker));
  }

  /** SIGHUP: reloads run one after another; each is done or refused before the next is read. */
  reload(): Promise<void> {
    this.signals++;
    void this.persist();
    const next = this.reloadChain.then(() => this.reloadOnce());
    this.reloadChain = next.catch(() => undefined);
    return next;
  }

  private async reloadOnce(): Promise<void> {
    if (this.stopping) return;
    this.logger.info('reloading');
    // The count on disk first: a `gitdav reload` that read an older count did so before this reload
    // reads the configuration, so it may take this outcome as its own.
    await this.persist();
    this.answering = this.signals;
    const checked = await checkReload(this.args, process.env, this.config);
    if (this.stopping) return; // shut down meanwhile: nothing to start, nothing to record
    if ('reason' in checked) return this.reloaded(false, checked.reason);
    const config = checked.config;
    const generation = this.generation + 1;
    const fresh: WorkerInfo[] = [];
    try {
      for (let i = 0; i < config.workers; i++) fresh.push(this.fork(config, generation));
    } catch (err) {
      for (const info of fresh) this.retire(info, 'stop');
      return this.reloaded(false, `a new worker could not be started: ${(err as Error).message}`);
    }
    const outcomes = await Promise.allSettled(fresh.map((i) => i.ready));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    // A new worker that was ready but died before the others were is not replaced (not yet the
    // current generation): the reload is refused rather than leave the server short of workers.
    const died = fresh.find((i) => this.infos.get(i.worker.id) !== i);
    if (failed || died || this.stopping) {
      for (const info of fresh) if (this.infos.get(info.worker.id) === info) this.retire(info, 'stop');
      const reason = failed ? `a new worker failed to start: ${(failed.reason as Error).message}` : died ? `new worker ${died.worker.id} exited before the others were ready` : 'the server is stopping';
      return this.reloaded(false, reason);
    }
    const old = [...this.infos.values()].filter((i) => i.generation < generation);
    this.generation = generation;
    this.config = config;
    this.distributor.setLimits(limitsOf(config));
    this.guard?.reconfigure(config);
    this.updateTargets(); // the new generation only, from now on
    for (const info of old) this.retire(info, 'drain');
    this.ensureWorkers(); // one that died meanwhile is replaced as any other
    return this.reloaded(true);
  }

  /** Tells a worker to drain (or stop); one still starting is ended. */
  private retire(info: WorkerInfo, how: 'drain' | 'stop', graceMs = this.config.shutdownGraceMs): void {
    const starting = info.state === 'starting';
    info.state = 'draining';
    if (starting) info.settle(new StartFailure(`worker ${info.worker.id} was retired before it was ready`));
    if (starting) info.worker.process.kill('SIGTERM');
    else if (info.worker.isConnected()) info.worker.send(how === 'drain' ? { gitdav: 'drain' } : { gitdav: 'stop', graceMs });
  }

  private async reloaded(ok: boolean, reason?: string): Promise<void> {
    this.reloads++;
    this.metrics?.reloaded(ok);
    const fields = { generation: this.generation, workers: this.config.workers, reloads: this.reloads };
    if (ok) this.logger.info('reloaded', fields);
    else this.logger.error('reload refused: the running workers keep serving', { reason, ...fields });
    if (this.registration) {
      this.registration.reloads = this.reloads;
      this.registration.last = { ok, reason, generation: this.generation, workers: this.config.workers, at: new Date().toISOString(), answers: this.answering };
      await this.persist();
    }
  }

  /** Every worker stops (draining what is in flight within graceMs); resolves when all have exited. */
  async stopAll(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.infos.size === 0) return;
    const gone = new Promise<void>((r) => (this.allGone = r));
    for (const info of this.infos.values()) this.retire(info, 'stop', graceMs);
    const kill = setTimeout(() => {
      for (const info of this.infos.values()) info.worker.process.kill('SIGKILL');
    }, Math.min(graceMs + 15_000, MAX_TIMER_MS));
    await gone;
    clearTimeout(kill);
  }

  async shutdown(signal: string, cleanup: () => Promise<void>): Promise<void> {
    this.logger.info('shutting down', { signal, workers: this.infos.size });
    this.stopping = true;
    // The port is given back now; the promise settles only once the workers have closed every
    // connection they were handed (Node asks them), so it is awaited after they stopped.
    const closed = this.distributor.close();
    await this.stopAll(this.config.shutdownGraceMs);
    await closed;
    await cleanup();
    await this.reloadChain; // a reload under way records its outcome before the registration goes
    await this.file?.remove(); // after the last write; none after it (a late SIGHUP)
    const uptimeS = Math.round(process.uptime() * 1000) / 1000;
    this.logger.info('stopped', { signal, workers: this.config.workers, restarts: this.restarts, reloads: this.reloads, ...this.totals, uptimeS });
  }
}

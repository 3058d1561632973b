/**
 * A worker of the supervisor (lib/cluster/supervisor.ts): opens the app from the configuration the
 * supervisor sent, never listens, serves the sockets it is handed, and, told to drain (a reload) or
 * stop, finishes what is in flight before it closes its app and exits 0.
 *
 * Draining: every response from then on carries `Connection: close`; an idle keep-alive connection
 * is not closed under the client (it could be sending on it: a reset) but left to the keep-alive
 * timer, whose `Keep-Alive: timeout=N` hint well-behaved clients honour; in-flight requests, long
 * uploads included, finish within drainTimeoutMs. Stopping (the server shuts down) closes idle
 * connections at once and gives in-flight requests shutdownGraceMs, as the one-process server does.
 */
import cluster from 'node:cluster';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { MAX_TIMER_MS, type ServerConfig } from '../config.js';
import { createLogger, withFields, type Logger } from '../../backends/util/log.js';
import { DEFAULT_FLIGHT_LIMITS, FlightRecorder } from '../../backends/util/flight-recorder.js';
import { startServer, type RunningServer } from '../server.js';
import type { ServerMetrics } from '../metrics/index.js';
import { installFlight, type Flight } from '../flight/process.js';
import { describeStartError } from '../start-errors.js';
import { isToWorker, WORKER_CONFIG_ENV, type FromWorker } from './messages.js';

function send(msg: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

export async function runWorker(): Promise<void> {
  const config = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? '{}') as ServerConfig;
  const id = cluster.worker?.id ?? 0;
  const recorder = (config.limits.flightRecords ?? DEFAULT_FLIGHT_LIMITS.flightRecords) > 0 ? new FlightRecorder(config.limits) : undefined;
  const logger = withFields(createLogger(config.logLevel, undefined, recorder), { worker: id });
  // Ctrl-C and a closed terminal reach the whole process group: the supervisor decides what happens.
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  let metrics: ServerMetrics | undefined;
  // prom-client only with a metrics port (docs/operations.md, "Memory").
  const metricsCode = config.metricsPort !== undefined ? await import('../metrics/index.js') : undefined;
  if (metricsCode) {
    const { createServerMetrics, shareWorkerMetrics } = metricsCode;
    metrics = createServerMetrics();
    shareWorkerMetrics(metrics, id);
  }
  let running: RunningServer;
  try {
    running = await startServer(config, logger, metrics, false);
  } catch (err) {
    await send({ gitdav: 'failed', reason: describeStartError(err, config), stack: (err as Error)?.stack });
    process.exit(1);
  }
  let flight: Flight | undefined;
  if (recorder && running.app.stateDir) flight = await installFlight(recorder, running.app.stateDir, logger);
  else process.on('unhandledRejection', (err) => logger.error('unhandled rejection', { err }));
  const connections = serveHanded(running, logger);
  process.on('message', (msg: unknown, handle: unknown) => {
    if (!isToWorker(msg)) return;
    if (msg.gitdav === 'connection') {
      if (!handle) return;
      // Said before the first byte is read: a worker that dies before this never touched the socket.
      void send({ gitdav: 'took', id: msg.id });
      connections.add(handle as Socket, msg.id);
    }
    else if (msg.gitdav === 'drain') void finish('drain', config.drainTimeoutMs);
    else if (msg.gitdav === 'released') finish('drain', config.shutdownGraceMs);
    else finish('stop', msg.graceMs);
  });
  // SIGTERM to this worker alone (systemd's KillMode=control-group, an administrator): it drains as
  // after a reload, and the supervisor starts another in its place. It starts draining on the
  // supervisor's `released` answer: a connection handed to it before arrives first (IPC keeps order).
  process.on('SIGTERM', () => {
    if (!process.connected) return finish('drain', config.shutdownGraceMs);
    void send({ gitdav: 'draining' });
  });
  // The supervisor gone (kill -9): nobody hands connections any more; finish and go.
  process.on('disconnect', () => finish('stop', config.shutdownGraceMs));

  let finishing: Promise<void> | undefined;
  function finish(how: 'drain' | 'stop', limitMs: number): void {
    connections.drain(how === 'stop', limitMs);
    if (finishing) return;
    logger.debug(how === 'drain' ? 'draining' : 'stopping', { connections: connections.size });
    finishing = connections
      .settled()
      .then(() => running.close(0))
      .then(
        async () => {
          await metricsCode?.sendFinalMetrics(); // what was counted since the last scrape, kept by the supervisor
          await send({ gitdav: 'stopped', summary: running.app.traffic.summary() });
          await flight?.close();
          process.exit(0);
        },
        async (err: unknown) => {
          logger.error('shutdown failed', { err });
          await flight?.dump('shutdown-failed');
          process.exit(1);
        },
      );
  }
  await send({ gitdav: 'ready', stateDir: running.app.stateDir });
}

export interface Handed {
  readonly size: number;
  add(socket: Socket, id: number): void;
  /**
   * From now on no keep-alive; `closeIdle`: idle connections are closed too (and as they fall
   * idle); what is still open after `limitMs` (or an earlier limit given before) is cut.
   */
  drain(closeIdle: boolean, limitMs: number): void;
  /** Resolves once every connection has closed (or was cut at the limit). */
  settled(): Promise<void>;
}

/** The sockets handed to this worker's server, and the requests under way on them. */
export function serveHanded(running: Pick<RunningServer, 'server'>, logger: Logger): Handed {
  const server = running.server;
  // Node starts its header and request timers (and closeIdleConnections' table) on 'listening':
  // this server never listens, so it is told it does.
  server.emit('listening');
  const sockets = new Set<Socket>();
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  let sweep: NodeJS.Timeout | undefined;
  let limit: { at: number; timer: NodeJS.Timeout } | undefined;
  let resolveSettled: (() => void) | undefined;
  const settled = new Promise<void>((resolve) => (resolveSettled = resolve));
  const checkSettled = () => {
    if (!draining || sockets.size > 0) return;
    if (limit) clearTimeout(limit.timer);
    if (sweep) clearInterval(sweep);
    resolveSettled?.();
  };
  const onRequest = (_req: IncomingMessage, res: ServerResponse) => {
    if (draining) res.shouldKeepAlive = false;
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  };
  server.prependListener('request', onRequest);
  server.prependListener('checkContinue', onRequest);
  return {
    get size() {
      return sockets.size;
    },
    add(socket, id) {
      sockets.add(socket);
      socket.once('close', () => {
        sockets.delete(socket);
        void send({ gitdav: 'closed', id });
        checkSettled();
      });
      // Node's http server sets TCP_NODELAY in its own accept path, which a handed socket skips (and
      // the supervisor's net server leaves Nagle on): without it a response written in two pieces
      // waits for the client's delayed ACK, ~40 ms on Linux, on every small REPORT.
      socket.setNoDelay(true);
      server.emit('connection', socket);
      socket.resume();
    },
    drain(closeIdle, limitMs) {
      limitMs = Math.min(Math.max(0, limitMs), MAX_TIMER_MS); // a longer one would fire at once
      draining = true;
      for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
      if (closeIdle && !sweep) {
        server.closeIdleConnections();
        sweep = setInterval(() => server.closeIdleConnections(), 50);
      }
      const at = Date.now() + limitMs;
      if (!limit || at < limit.at) {
        if (limit) clearTimeout(limit.timer);
        const timer = setTimeout(() => {
          logger.warn('connections still open at the end of the grace period: closed', { connections: sockets.size });
          server.closeAllConnections();
          for (const socket of sockets) socket.destroy();
        }, limitMs);
        limit = { at, timer };
      }
      checkSettled();
    },
    settled: () => settled,
  };
}

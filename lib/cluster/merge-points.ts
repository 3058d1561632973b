/**
 * Where the supervisor and its workers meet the parts of issue 12 that other branches build:
 * the metrics added up over the workers (lib/metrics/cluster.ts) and the login back-off shared
 * through the supervisor (lib/auth/shared-login-guard.ts). The interfaces are the agreed ones;
 * until those modules are merged, the stand-ins below keep this branch building and running.
 *
 * TODO(merge): replace each stand-in by the import named above it and delete it.
 */
import type { Worker } from 'node:cluster';
import type { ServerConfig } from '../config.js';
import type { Logger } from '../../backends/util/log.js';
import type { MetricsSource, ServerMetrics } from '../metrics/index.js';

export interface SupervisorMetrics {
  source: MetricsSource;
  workerStarted(id: number, pid: number): void;
  workerExited(id: number, how: 'crashed' | 'drained' | 'stopped'): void;
  reloaded(ok: boolean): void;
  close(): void;
}

// TODO(merge): import { createSupervisorMetrics } from '../metrics/cluster.js';
export function createSupervisorMetrics(): SupervisorMetrics {
  const ignore = () => undefined;
  return { source: { contentType: 'text/plain; version=0.0.4; charset=utf-8', text: async () => '' }, workerStarted: ignore, workerExited: ignore, reloaded: ignore, close: ignore };
}

// TODO(merge): import { shareWorkerMetrics } from '../metrics/cluster.js';
export function shareWorkerMetrics(_metrics: ServerMetrics, _workerId: number): void {}

export interface LoginGuardHostLike {
  attach(worker: Worker): void;
  reconfigure(config: ServerConfig): void;
  close(): Promise<void>;
}

// TODO(merge): import { LoginGuardHost } from '../auth/shared-login-guard.js';
// and return `new LoginGuardHost(config, logger)` here.
export function createLoginGuardHost(_config: ServerConfig, _logger: Logger): LoginGuardHostLike | undefined {
  return undefined;
}

/**
 * The supervisor's and workers' IPC messages: each an object whose `gitdav` field names its kind.
 * Other modules (prom-client's AggregatorRegistry, the shared login back-off) send their own
 * messages on the same channel: anything without a known `gitdav` kind is ignored by both sides.
 */

/** Supervisor → worker. */
export type ToWorker =
  /** Sent with an accepted socket as the handle: serve it (and answer `took` with the id). */
  | { gitdav: 'connection'; id: number }
  /** After a reload: finish what is in flight (`Connection: close` from now on), then exit 0. */
  | { gitdav: 'drain' }
  /** The server stops: as drain, but idle keep-alive connections are closed at once, within graceMs. */
  | { gitdav: 'stop'; graceMs: number }
  /** Answers `draining`: the worker is handed nothing more (any connection sent before came first). */
  | { gitdav: 'released' };

/** Worker → supervisor. */
export type FromWorker =
  /** The app is open: the worker may be handed connections. */
  | { gitdav: 'ready'; stateDir?: string }
  /** The worker could not start (one line, as `gitdav serve` prints it) and exits 1. */
  | { gitdav: 'failed'; reason: string; stack?: string }
  /** The worker has the socket `id` (the supervisor closes its own copy of it). */
  | { gitdav: 'took'; id: number }
  /** The socket `id` this worker was handed has closed (the supervisor counts connections per address). */
  | { gitdav: 'closed'; id: number }
  /** The worker drains on its own (it got SIGTERM): hand it nothing more, start another. */
  | { gitdav: 'draining' }
  /** Its last words before exit 0: what it served (the summary line at shutdown). */
  | { gitdav: 'stopped'; summary: Record<string, number> };

const TO_WORKER = new Set(['connection', 'drain', 'stop', 'released']);
const FROM_WORKER = new Set(['ready', 'failed', 'took', 'closed', 'draining', 'stopped']);

export function isToWorker(msg: unknown): msg is ToWorker {
  return typeof msg === 'object' && msg !== null && TO_WORKER.has((msg as { gitdav?: unknown }).gitdav as string);
}

export function isFromWorker(msg: unknown): msg is FromWorker {
  return typeof msg === 'object' && msg !== null && FROM_WORKER.has((msg as { gitdav?: unknown }).gitdav as string);
}

/** The environment variable a worker finds its configuration (JSON) in. */
export const WORKER_CONFIG_ENV = 'GITDAV_WORKER_CONFIG';

/** A worker that did not become ready: `message` is its one-line reason (`failed`), `stack2` its stack. */
export class StartFailure extends Error {
  constructor(
    message: string,
    readonly stack2?: string,
  ) {
    super(message);
  }
}

/**
 * Password checks off the event loop: a small pool of worker threads (piscina) with a bounded
 * queue. A check that finds every thread busy and the queue full is not queued: it answers `busy`
 * at once (the login then gets 503 with Retry-After), so a burst of guesses costs a bounded amount
 * of waiting and no request of anyone else waits behind bcrypt on the event loop.
 */
import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import type { HashTask } from './hash-worker.js';
import { requireCjs } from '../../backends/util/require-cjs.js';

export interface CheckerOptions {
  /** Worker threads (at least 1). */
  threads: number;
  /** Checks that may wait for a thread. */
  queue: number;
}

export const DEFAULT_CHECKER: CheckerOptions = { threads: 2, queue: 64 };

/** The worker beside this file: dist/lib/auth/hash-worker.js once built. */
const WORKER = fileURLToPath(new URL('./hash-worker.js', import.meta.url));

export class PasswordChecker {
  private pool: Piscina<HashTask, boolean> | undefined;
  private running = 0;
  private closed = false;

  /** @param loadPiscina imports piscina (tests pass one that fails, as a damaged install would) */
  constructor(
    private readonly options: CheckerOptions = DEFAULT_CHECKER,
    private readonly loadPiscina: () => Promise<{ Piscina: typeof Piscina }> = async () => requireCjs('piscina') as typeof import('piscina'), // not `import`: backends/util/require-cjs.ts
  ) {}

  /** Checks in flight (running or queued). */
  get pending(): number {
    return this.running;
  }

  /** Whether the password matches the hash, or `busy` when no thread and no queue place is free. */
  async verify(password: string, hash: string): Promise<boolean | 'busy'> {
    if (this.closed) throw new Error('password checker closed');
    const threads = Math.max(1, this.options.threads);
    if (this.running >= threads + this.options.queue) return 'busy';
    this.running++;
    try {
      // Started on first use, piscina's code included: a server nobody logs in to loads none of it and
      // runs no threads. Idle threads do not keep the process alive (piscina unrefs them) and exit after a minute.
      if (!this.pool) {
        const { Piscina } = await this.loadPiscina().catch((err: unknown) => {
          throw new Error(`password checks need the piscina package, which could not be loaded (${(err as Error)?.message}): reinstall gitdav's dependencies (npm ci)`, { cause: err });
        });
        if (this.closed) throw new Error('password checker closed');
        this.pool ??= new Piscina<HashTask, boolean>({
          filename: WORKER,
          minThreads: 0,
          maxThreads: threads,
          maxQueue: threads + this.options.queue, // a backstop: the count above is the bound
          idleTimeout: 60_000,
        });
      }
      return await this.pool.run({ password, hash });
    } finally {
      this.running--;
    }
  }

  /** Ends the threads (checks still running are abandoned). */
  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }
}

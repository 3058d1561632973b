/**
 * The calendar pool: worker threads (piscina) that parse stored calendar objects and compute their
 * bounds for the object index (bounds-worker.ts), so the first time-range query over a big calendar
 * (every object unknown to the index: 10,000 parses) costs the event loop only the objects whose bounds
 * can match. Only plain data crosses: text in, bounds out; the parsed object a query evaluates is
 * parsed again on the event loop, which for a month of a 10,000-event calendar is ~650 objects.
 *
 * One pool per process, whatever the number of mounts, sized by `limits.calendarThreads` (0: no
 * pool, everything on the event loop). Threads start on first use and end when idle for a while;
 * the pool closes when the last CalDAV mount closes (server shutdown). A task the pool cannot run — the
 * queue is full, a thread threw or died, the pool is closing — answers `unavailable`, and the caller
 * does the work on the event loop as it would without a pool: never a failed request.
 */
import { fileURLToPath } from 'node:url';
import type { Piscina } from 'piscina';
import type { BoundsResult, BoundsTask } from './bounds-worker.js';
import { requireCjs } from '../../backends/util/require-cjs.js';

export const DEFAULT_CALENDAR_THREADS = 1;
/** Tasks that may wait per thread; a query keeps at most 8 in flight (cancelled when it ends), so this is many queries. */
const QUEUE_PER_THREAD = 64;
const IDLE_MS = 30_000;

const WORKER = fileURLToPath(new URL('./bounds-worker.js', import.meta.url));

export class CalendarPool {
  private pool: Piscina<BoundsTask, BoundsResult> | undefined;
  private closed = false;
  private answered = 0;

  /**
   * @param filename the worker module (tests pass one that throws or dies)
   * @param loadPiscina imports piscina (tests pass one that fails, as a damaged install would)
   */
  constructor(
    readonly threads: number,
    private readonly filename = WORKER,
    private readonly loadPiscina: () => Promise<{ Piscina: typeof Piscina }> = async () => requireCjs('piscina') as typeof import('piscina'), // not `import`: backends/util/require-cjs.ts
  ) {}

  /**
   * The object's bounds computed in a thread, or `unavailable` (then compute them yourself). `signal`
   * cancels the task: queued, it is dropped; running, piscina ends its thread.
   */
  async bounds(task: BoundsTask, signal?: AbortSignal): Promise<BoundsResult | { kind: 'unavailable' }> {
    if (this.closed || this.threads < 1 || signal?.aborted) return { kind: 'unavailable' };
    // Started on first use: idle threads do not keep the process alive (piscina unrefs them).
    if (!this.pool) {
      // On first use: a server without calendar queries never loads it. An install without it (damaged,
      // half upgraded) gets the event loop, as with no pool; the next task tries again.
      const loaded = await this.loadPiscina().catch(() => undefined);
      if (!loaded || this.closed) return { kind: 'unavailable' };
      const { Piscina } = loaded;
      // Another first task may have made it while this one waited for the import.
      this.pool ??= new Piscina<BoundsTask, BoundsResult>({
        filename: this.filename,
        minThreads: 0,
        maxThreads: this.threads,
        maxQueue: this.threads * QUEUE_PER_THREAD,
        idleTimeout: IDLE_MS,
      });
      // A thread that fails with no task of ours running is reported here; unheard, it would end the process.
      this.pool.on('error', () => undefined);
    }
    const pool = this.pool;
    // piscina checks maxQueue only for tasks without a signal (one with a signal waits in a queue of
    // its own): the bound is kept here, so a full pool sends the work back to the event loop.
    if (pool.queueSize >= this.threads * QUEUE_PER_THREAD) return { kind: 'unavailable' };
    try {
      const r = await pool.run(task, signal ? { signal } : {});
      this.answered++;
      return r;
    } catch (err) {
      // A thread that threw or died, or one piscina ended for a cancelled task: piscina (minThreads 0)
      // may then leave queued tasks waiting for a thread it never starts, so this pool goes (its queued
      // tasks fail over to the event loop) and the next task starts a fresh one. A full queue is only
      // busy; a cancelled task that left threads to run the queue is only cancelled.
      const name = (err as Error)?.name;
      const busy = /queue is at limit/i.test(String((err as Error)?.message));
      const stranded = name === 'AbortError' ? pool.queueSize > 0 && pool.threads.length === 0 : !busy;
      if (pool === this.pool && stranded) {
        this.pool = undefined;
        void pool.destroy().catch(() => undefined);
      }
      return { kind: 'unavailable' };
    }
  }

  /** Tasks a thread answered (not `unavailable`). */
  get completed(): number {
    return this.answered;
  }

  /** Ends the threads; tasks still running answer `unavailable`. */
  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }
}

// The process's pool, shared by every CalDAV mount; counted so the last mount to close ends it.
let shared: CalendarPool | undefined;
let users = 0;

/** The process's pool (made with `threads` by the first caller); pair with releaseCalendarPool. */
export function acquireCalendarPool(threads: number): CalendarPool {
  users++;
  shared ??= new CalendarPool(threads);
  return shared;
}

export async function releaseCalendarPool(): Promise<void> {
  if (users > 0) users--;
  if (users > 0 || !shared) return;
  const pool = shared;
  shared = undefined;
  await pool.close();
}

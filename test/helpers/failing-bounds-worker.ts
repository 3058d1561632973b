/**
 * A calendar pool worker that fails (test/caldav/pool.test.ts): throws, or ends its thread, per task;
 * or, given a SharedArrayBuffer `hold`, says it runs (hold[1] = 1) and waits until hold[0] is set.
 */
import type { BoundsTask } from '../../lib/caldav/bounds-worker.js';

export default function failing(task: BoundsTask & { hold?: SharedArrayBuffer }): never | { kind: 'unparsed'; steps: number } {
  if (task.hold) {
    const cells = new Int32Array(task.hold);
    Atomics.store(cells, 1, 1);
    Atomics.wait(cells, 0, 0);
    return { kind: 'unparsed', steps: 0 };
  }
  if (task.text.includes('EXIT-THREAD')) process.exit(3); // in a worker thread: ends the thread only
  throw new Error('bounds worker failed on purpose');
}

/** A calendar pool worker that fails (test/caldav/pool.test.ts): throws, or ends its thread, per task. */
import type { BoundsTask } from '../../lib/caldav/bounds-worker.js';

export default function failing(task: BoundsTask): never {
  if (task.text.includes('EXIT-THREAD')) process.exit(3); // in a worker thread: ends the thread only
  throw new Error('bounds worker failed on purpose');
}

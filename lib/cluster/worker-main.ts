/** The program cluster.fork() runs for each worker of `gitdav serve --workers N` (lib/cluster/worker.ts). */
import { runWorker } from './worker.js';

runWorker().catch((err: unknown) => {
  process.stderr.write(`gitdav: worker: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});

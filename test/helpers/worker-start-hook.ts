/**
 * A worker that fails on start, for test/workers/: loaded into every process of a server by Node
 * itself (`NODE_OPTIONS=--import=…/worker-start-hook.js`), never by anything in lib/ or a config.
 * While the file named by GITDAV_TEST_WORKER_FAILS_IF exists, each worker process exits 3 at once,
 * as a worker that cannot start would; the supervisor (not a cluster worker) is left alone.
 */
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';

const marker = process.env.GITDAV_TEST_WORKER_FAILS_IF;
if (cluster.isWorker && marker && existsSync(marker)) {
  process.stderr.write('worker-start-hook: this worker fails on start, as the test asked\n');
  process.exit(3);
}

export {};

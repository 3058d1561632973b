/**
 * A small cluster for test/metrics-cluster.test.ts, standing in for the supervisor (which lives
 * elsewhere): the primary serves createSupervisorMetrics() through listenMetrics() and forks 2
 * workers; each worker answers HTTP with createServerMetrics()'s middleware and shares its metrics.
 * A worker that dies is replaced (crashed); one asked for /stick blocks its event loop for a long
 * while. Both sides also send messages of their own on the IPC channel (a `gitdav` field, null,
 * text), as the real supervisor does, which the metrics must pass by.
 *
 * Primary's stdout, a line each: `metrics URL`, `worker ID PID PORT`, `hello-back ID`, `draining ID`
 * (from the worker), `exit ID HOW`.
 * stdin: `reload ok|failed`, `drain ID` (as the real supervisor: `{gitdav:'drain'}` to that worker,
 * which finishes its requests, pushes its final metrics and exits; counted as drained and replaced),
 * `release ID` (that worker answers its held /slow requests), `quit` (workers disconnected, counted
 * as stopped, then exit). A worker holds a request for /slow until released.
 * Env: METRICS_ANSWER_MS (how long a scrape waits for the workers).
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import Koa from 'koa';
import { createServerMetrics, createSupervisorMetrics, listenMetrics, sendFinalMetrics, shareWorkerMetrics } from '../../lib/metrics/index.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

if (cluster.isPrimary) {
  const sup = createSupervisorMetrics({ answerWithinMs: Number(process.env.METRICS_ANSWER_MS ?? 2000) });
  const listener = await listenMetrics('127.0.0.1', 0, sup.source);
  out(`metrics ${listener.url}`);
  let quitting = false;
  const draining = new Set<number>();
  cluster.on('message', (worker, message: unknown) => {
    const m = message as { gitdav?: string; port?: number } | null;
    if (m && typeof m === 'object' && m.gitdav === 'ready') {
      sup.workerStarted(worker.id, worker.process.pid!);
      out(`worker ${worker.id} ${worker.process.pid} ${m.port}`);
      worker.send({ gitdav: 'hello' });
      worker.send(null as unknown as string); // the type says no; Node sends it
      worker.send('text');
    }
    if (m && typeof m === 'object' && m.gitdav === 'hello-back') out(`hello-back ${worker.id}`);
  });
  cluster.on('exit', (worker) => {
    const how = draining.has(worker.id) ? 'drained' : quitting || worker.exitedAfterDisconnect ? 'stopped' : 'crashed';
    sup.workerExited(worker.id, how);
    out(`exit ${worker.id} ${how}`);
    if (how === 'crashed' || how === 'drained') cluster.fork();
    else if (quitting && Object.keys(cluster.workers ?? {}).length === 0) {
      sup.close();
      void listener.close().then(() => process.exit(0));
    }
  });
  cluster.fork();
  cluster.fork();
  let buf = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const [cmd, arg] = buf.slice(0, i).split(' ');
      buf = buf.slice(i + 1);
      if (cmd === 'reload') sup.reloaded(arg === 'ok');
      if (cmd === 'drain') {
        draining.add(Number(arg));
        cluster.workers?.[Number(arg)]?.send({ gitdav: 'drain' });
      }
      if (cmd === 'release') cluster.workers?.[Number(arg)]?.send({ gitdav: 'release' });
      if (cmd === 'quit') {
        quitting = true;
        for (const w of Object.values(cluster.workers ?? {})) w?.disconnect();
      }
    }
  });
} else {
  const m = createServerMetrics();
  const app = new Koa();
  app.use(m.middleware);
  const held: Array<() => void> = [];
  app.use(async (ctx) => {
    if (ctx.path === '/slow') await new Promise<void>((r) => held.push(r));
    ctx.body = ctx.path === '/stick' ? 'stuck' : 'ok';
    // A worker stuck on one long task: nothing else runs, IPC messages included.
    if (ctx.path === '/stick') ctx.res.once('finish', () => setImmediate(() => { const end = Date.now() + 120_000; while (Date.now() < end); }));
  });
  const server = createServer(app.callback());
  m.watch(server);
  m.attach({ locksHeld: () => 0 });
  shareWorkerMetrics(m, cluster.worker!.id);
  process.on('message', (message: unknown) => {
    const msg = message as { gitdav?: string } | null;
    if (msg && typeof msg === 'object' && msg.gitdav === 'hello') process.send!({ gitdav: 'hello-back' });
    if (msg && typeof msg === 'object' && msg.gitdav === 'release') for (const r of held.splice(0)) r();
    // As the real worker: no new connections, the requests in flight finish, the final counts go
    // to the supervisor, then exit.
    if (msg && typeof msg === 'object' && msg.gitdav === 'drain') {
      out(`draining ${cluster.worker!.id}`);
      server.close(() => void sendFinalMetrics().then(() => process.exit(0)));
    }
  });
  process.send!(null);
  process.send!('text');
  server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
    const address = server.address();
    process.send!({ gitdav: 'ready', port: typeof address === 'object' && address ? address.port : 0 });
  });
  process.on('disconnect', () => server.close());
}

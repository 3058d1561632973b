/**
 * A server as a supervisor's worker runs it (`supervised`), in a process the test forked: the test
 * plays the supervisor (it holds the folder's server.pid, and the IPC channel). Started with the
 * config (JSON) as its one argument; says `{ gitdav: 'test-ready', url }` once it listens and closes
 * on `{ gitdav: 'test-stop' }` or when the channel goes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

export interface ForkedWorker {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/** Forks a worker serving `config` (merged over the defaults, `supervised` set) and waits until it listens. */
export async function forkWorker(config: object): Promise<ForkedWorker> {
  const child = fork(fileURLToPath(import.meta.url), [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.on('message', (m: { gitdav?: string; url?: string }) => {
      if (m?.gitdav === 'test-ready') resolve(m.url!);
    });
    child.once('exit', (code) => reject(new Error(`the worker exited (${code}) before it listened`)));
  });
  return {
    child,
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.send({ gitdav: 'test-stop' });
      await exited;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  const { startServer } = await import('../../lib/server.js');
  const { DEFAULTS } = await import('../../lib/config.js');
  const { createLogger } = await import('../../backends/util/log.js');
  const config = { ...DEFAULTS, port: 0, ...JSON.parse(process.argv[2]!), supervised: true };
  const running = await startServer(config, createLogger('error'));
  process.on('message', (m: { gitdav?: string }) => {
    if (m?.gitdav === 'test-stop') void running.close(1000).then(() => process.exit(0));
  });
  process.on('disconnect', () => void running.close(0).then(() => process.exit(0)));
  process.send({ gitdav: 'test-ready', url: running.url });
}

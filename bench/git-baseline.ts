/**
 * The commit-per-request baseline for the group-commit benchmark: the git backend opened with
 * `maxBatch: 1` (every PUT its own commit, fsyncs and ref update), served by the same `createApp` +
 * `listen` as `gitdav serve`. Run as a child process by the bench, so its RSS is its own:
 *
 *   node dist/bench/git-baseline.js --root DIR --port N
 *
 * Always on 127.0.0.1. SIGTERM/SIGINT close it like the CLI does (in-flight requests finish first).
 */
import { GitBackend } from '../backends/git/index.js';
import { createApp, listen } from '../lib/server.js';

function arg(name: string): string {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (!value) {
    process.stderr.write('usage: node dist/bench/git-baseline.js --root DIR --port N\n');
    process.exit(2);
  }
  return value;
}

const root = arg('--root');
const port = Number(arg('--port'));
process.on('unhandledRejection', (err) => process.stderr.write(`git-baseline: unhandled rejection: ${String(err)}\n`));

const backend = await GitBackend.open({ root, maxBatch: 1 });
const app = await createApp({ backend });
const running = await listen(app, '127.0.0.1', port);
process.stdout.write(`git-baseline: serving ${root} (git, a commit per request) at ${running.url}/\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    running.close(5_000).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`git-baseline: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  });
}

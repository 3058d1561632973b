/**
 * The test server in a child process, for attacks that could hang or crash the server: a blocked
 * event loop in the child shows up here as a request that does not answer (the test fails on a
 * generous limit instead of freezing with it), and a crash as a dead child, not a dead test runner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { raw, type RawRequest, type RawResponse, type TestServerOptions } from './server.js';

export interface ChildServer {
  url: string;
  root: string;
  /** Whether the child process still runs. */
  alive(): boolean;
  /** Everything the child wrote (its log). */
  output(): string;
  stop(): Promise<void>;
}

const HELPER = pathToFileURL(resolve('dist/test/helpers/server.js')).href;

/**
 * Starts `startTestServer(options)` in a child with a small heap (256 MB: an expansion that does not
 * stop dies quickly rather than after minutes). `logLevel` 'warn' shows what the server skipped.
 */
export function startChildServer(options: TestServerOptions & { root: string }, logLevel = 'warn'): Promise<ChildServer> {
  const code = [
    `import { startTestServer } from ${JSON.stringify(HELPER)};`,
    `import { createLogger } from ${JSON.stringify(pathToFileURL(resolve('dist/backends/util/log.js')).href)};`,
    `const s = await startTestServer({ ...${JSON.stringify(options)}, logger: createLogger(${JSON.stringify(logLevel)}) });`,
    `process.stdout.write('READY ' + s.url + '\\n');`,
  ].join('\n');
  const child: ChildProcess = spawn(process.execPath, ['--max-old-space-size=256', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exited = false;
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<void>((r) => child.on('exit', () => {
    exited = true;
    r();
  }));
  return new Promise((resolveServer, reject) => {
    child.stdout!.on('data', () => {
      const m = /READY (\S+)\n/.exec(out);
      if (m) {
        resolveServer({
          url: m[1]!,
          root: options.root,
          alive: () => !exited,
          output: () => out,
          async stop() {
            if (!exited) child.kill('SIGKILL');
            await exit;
          },
        });
      }
    });
    void exit.then(() => reject(new Error(`the server exited before it was ready: ${out}`)));
  });
}

/** `raw`, failing after `ms` (a generous limit: a hang, not slowness, is what it detects). */
export function rawWithin(ms: number, base: string, path: string, req: RawRequest = {}): Promise<RawResponse> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${req.method ?? 'GET'} ${path} did not answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([raw(base, path, req), limit]).finally(() => clearTimeout(timer));
}

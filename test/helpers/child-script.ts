/**
 * A script in a child process that a test drives line by line: the test sends commands on its stdin
 * and waits for the lines it prints. For state shared by several processes (lock table, write lock,
 * volatile properties): a second instance in the test's own process would share module-level state,
 * a child shares nothing but the files. A child that hangs fails the test on a generous limit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The URL of a compiled module, for a child's `import`: `dist(...)` of a path under dist/. */
export function dist(path: string): string {
  return JSON.stringify(pathToFileURL(resolve('dist', path)).href);
}

/**
 * The lines a child script may use: `out(text)` prints a line; `commands(handler)` calls `handler`
 * for each line received, one at a time, in order.
 */
const PRELUDE = `
const out = (s) => process.stdout.write(s + '\\n');
const commands = (handler) => {
  let buf = '';
  let chain = Promise.resolve();
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      chain = chain.then(() => handler(line)).catch((e) => out('ERROR ' + (e && e.name) + ' ' + (e && e.message)));
    }
  });
  process.stdin.on('end', () => void chain.then(() => process.exit(0)));
};
`;

export interface ChildScript {
  readonly pid: number;
  send(line: string): void;
  /** The next line (after those already taken) matching `re`, within `ms` (a hang limit). */
  next(re: RegExp, ms?: number): Promise<string>;
  output(): string;
  /** Kills it (SIGKILL by default) and waits for it to be gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Closes its stdin (it exits once its commands are done) and waits for it to exit. */
  end(): Promise<void>;
}

export function runChild(script: string): ChildScript {
  const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', PRELUDE + script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let taken = 0;
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  let exited = false;
  const exit = new Promise<void>((r) => child.on('exit', () => {
    exited = true;
    wake();
    r();
  }));
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdin!.on('error', () => undefined);
  return {
    pid: child.pid!,
    send: (line) => void child.stdin!.write(line + '\n'),
    output: () => out + err,
    async next(re, ms = 30_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const lines = out.split('\n');
        const complete = lines.slice(0, -1);
        for (let i = taken; i < complete.length; i++) {
          if (re.test(complete[i]!)) {
            taken = i + 1;
            return complete[i]!;
          }
        }
        if (exited) throw new Error(`the child exited without printing ${re}: ${out}${err}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`the child printed no ${re} within ${ms / 1000} s: ${out}${err}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
    async kill(signal = 'SIGKILL') {
      if (!exited) child.kill(signal);
      await exit;
    },
    async end() {
      child.stdin!.end();
      await exit;
    },
  };
}

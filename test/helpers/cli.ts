/** The built command line run as a real process, as a user runs it (test/cli*.test.ts). */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const CLI = resolve('dist/lib/cli.js');

export interface CliProcess {
  child: ChildProcess;
  /** The server's URL, once it says it is serving (rejects if it exits first). */
  url: Promise<string>;
  exit: Promise<number | null>;
  /** Everything it printed so far, stdout and stderr. */
  output: () => string;
}

const running = new Set<ChildProcess>();

/** `gitdav ARGS…`, left running; `env` is added to this process's environment. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): CliProcess {
  // One process unless the test asks for workers: the tests of the one-process server stay that.
  const workers = 'GITDAV_WORKERS' in env || args.some((a) => a === '--workers' || a.startsWith('--workers=')) ? {} : { GITDAV_WORKERS: '1' };
  // A git server commits each write before answering it (window 0) unless the test asks for bursts, so
  // tests can look at history (and push natively) right after a write.
  const bursts = 'GITDAV_BURST_WINDOW_MS' in env || args.some((a) => a.startsWith('--burst-window-ms')) ? {} : { GITDAV_BURST_WINDOW_MS: '0' };
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...workers, ...bursts, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.on('exit', () => running.delete(child));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const url = new Promise<string>((resolveUrl, reject) => {
    child.stdout!.on('data', () => {
      const m = /at (https?:\/\/\S+?)\/\n/.exec(out);
      if (m) resolveUrl(m[1]!);
    });
    void exit.then((code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  return { child, url, exit, output: () => out };
}

/** Kills every CLI process still running: a failed assertion must not leave a server behind. */
export function killCliProcesses(): void {
  for (const c of running) c.kill('SIGKILL');
}

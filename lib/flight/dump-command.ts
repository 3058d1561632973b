/**
 * `gitdav dump --root DIR`: asks every running server process of DIR to write its flight recorder
 * (SIGUSR2 to each registered process) and prints each dump's path once it is written. Needs no
 * port and no login: the processes are found through their registrations in the state folder, so
 * it is for whoever may read that folder and signal the server (its user, or root).
 */
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { isGitDir } from '../../backends/git/gitdir.js';
import { listDumps, parseDumpName } from '../../backends/util/flight-recorder.js';
import { flightDirOf, liveness, registrations, type Registration } from './registration.js';

export const DUMP_USAGE = 'usage: gitdav dump [--root DIR] [--timeout-ms N]';

export const DUMP_HELP = `Asks every gitdav server process serving DIR (default ./data) to write out its flight recorder
(its last log records, debug level included, whatever --log-level is) and prints the path of each
file written, one a line: <state folder>/flight/<time>-<pid>-signal.jsonl. Sending SIGUSR2 to a
server process does the same. Waits up to --timeout-ms (default 10000) for each.`;

export interface DumpResult {
  pid: number;
  /** The dump written, or why there is none. */
  file?: string;
  error?: string;
}

/**
 * The state folders a server of `root` may keep: ROOT/.gitdav (a folder, or a root with users), the
 * git dir's `gitdav` (a repository: ROOT itself when bare, else ROOT/.git), found as
 * backends/git/gitdir.ts finds the repository.
 */
export async function stateDirsOf(root: string): Promise<string[]> {
  const stateDirs = [join(root, '.gitdav')];
  if (await isGitDir(root)) stateDirs.push(join(root, 'gitdav'));
  if (await isGitDir(join(root, '.git'))) stateDirs.push(join(root, '.git', 'gitdav'));
  return stateDirs;
}

/** The flight folders of those state folders. */
export async function flightDirsOf(root: string): Promise<string[]> {
  return (await stateDirsOf(root)).map(flightDirOf);
}

/**
 * `--root DIR` and `--timeout-ms N` (also as `--name=value`), the options of `gitdav dump` and
 * `gitdav reload`; a usage error is written out and answered with exit code 2.
 */
export function parseRootAndTimeout(args: string[], usage: string, timeoutMs: number): { root: string; timeoutMs: number } | number {
  let root = process.env.GITDAV_ROOT || './data';
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i]!.includes('=') ? [args[i]!.slice(0, args[i]!.indexOf('=')), args[i]!.slice(args[i]!.indexOf('=') + 1)] : [args[i]!, undefined];
    const next = inline ?? args[++i];
    const value = inline === undefined && next?.startsWith('--') ? undefined : next;
    if ((name !== '--root' && name !== '--timeout-ms') || value === undefined) {
      process.stderr.write(`gitdav: ${value === undefined && (name === '--root' || name === '--timeout-ms') ? `${name} needs a value` : `unknown option ${name}`}\n${usage}\n`);
      return 2;
    }
    if (name === '--root') root = value;
    else if (!/^\d{1,7}$/.test(value)) {
      process.stderr.write(`gitdav: --timeout-ms takes a number of milliseconds\n${usage}\n`);
      return 2;
    } else timeoutMs = Number(value);
  }
  return { root, timeoutMs };
}

/**
 * Signals every live registered process of `root` and waits for each one's new dump (what
 * `gitdav status --dump` calls too). `dirs`: where it looked.
 */
export async function requestFlightDumps(root: string, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<{ dirs: string[]; results: DumpResult[] }> {
  const { timeoutMs = 10_000, pollMs = 50 } = options;
  const dirs = await flightDirsOf(resolve(root));
  const waits: Promise<DumpResult>[] = [];
  for (const dir of dirs) {
    for (const { registration, state } of await registrations(dir)) {
      if (state === 'gone') continue;
      if (state === 'not-ours') {
        waits.push(Promise.resolve({ pid: registration.pid, error: 'no permission to signal it (another user\'s process)' }));
        continue;
      }
      const before = new Set(await listDumps(dir));
      try {
        process.kill(registration.pid, 'SIGUSR2');
      } catch (err) {
        waits.push(Promise.resolve({ pid: registration.pid, error: `cannot signal it: ${(err as Error).message}` }));
        continue;
      }
      waits.push(awaitDump(dir, registration, before, timeoutMs, pollMs));
    }
  }
  return { dirs, results: await Promise.all(waits) };
}

/** Polls `dir` for the process's new signal dump (dumps are written whole, then renamed into place). */
async function awaitDump(dir: string, registration: Registration, before: Set<string>, timeoutMs: number, pollMs: number): Promise<DumpResult> {
  const pid = registration.pid;
  for (let waited = 0; waited <= timeoutMs; waited += pollMs) {
    const fresh = (await listDumps(dir)).filter((n) => !before.has(n) && parseDumpName(n)?.pid === pid && parseDumpName(n)?.reason === 'signal');
    if (fresh.length > 0) return { pid, file: join(dir, fresh[fresh.length - 1]!) };
    if ((await liveness(registration)) !== 'live') return { pid, error: 'the process ended before writing its dump' };
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return { pid, error: `no dump within ${timeoutMs} ms (see the server's log: "flight recorder not written")` };
}

export async function runDump(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${DUMP_USAGE}\n\n${DUMP_HELP}\n`);
    return 0;
  }
  const parsed = parseRootAndTimeout(args, DUMP_USAGE, 10_000);
  if (typeof parsed === 'number') return parsed;
  const { root, timeoutMs } = parsed;
  const { dirs, results } = await requestFlightDumps(root, { timeoutMs });
  if (results.length === 0) {
    process.stderr.write(`gitdav: no running gitdav server found for ${resolve(root)} (looked for registrations in ${dirs.join(', ')})\n`);
    return 1;
  }
  for (const r of results) {
    if (r.file) process.stdout.write(`${r.file}\n`);
    else process.stderr.write(`gitdav: process ${r.pid}: ${r.error}\n`);
  }
  return results.every((r) => r.file) ? 0 : 1;
}

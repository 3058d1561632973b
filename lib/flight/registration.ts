/**
 * How `gitdav dump` finds the server processes of a root: each process that keeps a flight recorder
 * registers itself in the dump folder (`<stateDir>/flight/<pid>.pid`, removed at exit) with its
 * command line, so a registration left by a process that died, whose pid another program now has,
 * is recognised (on Linux, by `/proc/PID/cmdline`) and never signalled: SIGUSR2 ends a program that
 * does not handle it.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { readTextIfExists, writeFileDurably } from '../../backends/util/durable-file.js';

/** The folder below a state folder that holds the dumps and the registrations. */
export function flightDirOf(stateDir: string): string {
  return join(stateDir, 'flight');
}

export interface Registration {
  pid: number;
  /** `/proc/PID/cmdline` when the process registered (null where there is no /proc). */
  cmdline: string | null;
  started: string;
}

const REGISTRATION = /^(\d+)\.pid$/;

/** A process's command line as /proc has it (null where there is no /proc). */
export async function cmdlineOf(pid: number | 'self'): Promise<string | null> {
  return fsp.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null);
}

/** Registers this process in `dir`; resolves with what removes the registration. */
export async function register(dir: string): Promise<() => Promise<void>> {
  const file = join(dir, `${process.pid}.pid`);
  const registration: Registration = { pid: process.pid, cmdline: await cmdlineOf('self'), started: new Date().toISOString() };
  await writeFileDurably(file, JSON.stringify(registration) + '\n', { durability: 'atomic', mode: 0o600 });
  return () => fsp.rm(file, { force: true });
}

export type Liveness = 'live' | 'gone' | 'not-ours';

/** The registrations in `dir`, each with whether its process still runs; a registration of a process that is gone is removed. */
export async function registrations(dir: string): Promise<{ registration: Registration; state: Liveness }[]> {
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const out: { registration: Registration; state: Liveness }[] = [];
  for (const name of names) {
    const m = REGISTRATION.exec(name);
    if (!m) continue;
    const text = await readTextIfExists(join(dir, name)).catch(() => null);
    let registration: Registration;
    try {
      registration = JSON.parse(text ?? '') as Registration;
      if (registration.pid !== Number(m[1])) throw new Error('pid mismatch');
    } catch {
      continue; // being written, or not ours to judge
    }
    const owner = (await fsp.stat(join(dir, name)).catch(() => null))?.uid;
    const state = await liveness(registration, owner);
    if (state === 'gone') await fsp.rm(join(dir, name), { force: true });
    out.push({ registration, state });
  }
  return out;
}

/**
 * Whether the registered process still runs: the pid exists and (where /proc tells) has the same command
 * line. `owner`: the uid that owns the registration file; a process of another uid is never ours to
 * signal, even for root (who may signal anything): whoever can write the dump folder could otherwise
 * name any process, sshd included, and have `sudo gitdav dump` end it.
 */
export async function liveness(registration: Registration, owner?: number): Promise<Liveness> {
  try {
    process.kill(registration.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? 'not-ours' : 'gone';
  }
  if (owner !== undefined) {
    const uid = await uidOf(registration.pid);
    if (uid !== null && uid !== owner) return 'not-ours';
  }
  if (registration.cmdline === null) return 'live';
  return (await cmdlineOf(registration.pid)) === registration.cmdline ? 'live' : 'gone';
}

/** The real uid of a process (`/proc/PID/status`), or null where /proc does not tell. */
async function uidOf(pid: number): Promise<number | null> {
  const status = await fsp.readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  const m = status && /^Uid:\s+(\d+)/m.exec(status);
  return m ? Number(m[1]) : null;
}

/**
 * Who holds a lock file, and whether that holder may still run: the pid, with that process's start
 * time (field 22 of /proc/PID/stat), the boot id and the pid namespace. A pid alone can be reused
 * (after a reboot, by an unrelated process) and is not unique across containers (two containers on
 * one volume are both pid 1). So a holder is stale only if it is from another boot, or its namespace
 * is ours and no process with that pid has that start time; one from another pid namespace cannot be
 * judged from here ('elsewhere'). Shared by the folder lock (backends/fs/folder-lock.ts) and the
 * short-lived lock files of ./lock-file.ts.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/** Who holds a lock: `pid start boot namespace` (a bare pid: written by an older gitdav). */
export interface Holder {
  pid: number;
  start?: string;
  boot?: string;
  ns?: string;
}

export type HolderState = 'stale' | 'alive' | 'elsewhere';

let me: Holder | undefined;

/** This process, as its lock files name it (computed once: none of it changes while it runs). */
export function self(): Holder {
  me ??= { pid: process.pid, start: startTime(process.pid) ?? '?', boot: bootId(), ns: pidNamespace() };
  return me;
}

/**
 * The process that started this one (a supervisor, for its workers): what a worker writes into
 * server.pid on its supervisor's behalf (backends/fs/folder-lock.ts, `supervised`).
 */
export function parent(): Holder {
  const own = self();
  return { pid: process.ppid, start: startTime(process.ppid) ?? '?', boot: own.boot, ns: own.ns };
}

/** Whether `h` names the same process as `other` (pid and start time; boot and namespace if both say). */
export function sameProcess(h: Holder, other: Holder): boolean {
  if (h.pid !== other.pid || h.start !== other.start) return false;
  return h.boot === undefined || other.boot === undefined || sameBoot(h.boot, other.boot!) || sameBoot(other.boot, h.boot);
}

/**
 * A holder as a file name (`p<pid>-<start>-<boot, 8 hex digits>-<namespace>`): a per-process folder
 * (a temp area) whose leftovers anyone may remove once `judge` says the process cannot still run.
 */
export function holderName(h: Holder): string {
  const boot = h.boot && h.boot !== '?' ? h.boot.replace(/-/g, '').slice(0, 8) : 'x';
  // '?' (not known: no /proc) is written 'x', which holderOfName reads back.
  const known = (s: string | undefined) => (s === undefined || s === '?' ? 'x' : s);
  return `p${h.pid}-${known(h.start)}-${boot}-${known(h.ns)}`;
}

/** The holder a `holderName` names, or null if `name` is not one. */
export function holderOfName(name: string): Holder | null {
  const m = /^p(\d+)-(\d+|x)-([0-9a-f]{8}|x)-(\d+|x)$/.exec(name);
  if (!m) return null;
  const pid = Number(m[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  // No start time known (no /proc): judged by its pid alone, as an older gitdav's bare pid.
  if (m[2] === 'x') return { pid };
  const known = (s: string) => (s === 'x' ? '?' : s);
  return { pid, start: m[2]!, boot: known(m[3]!), ns: known(m[4]!) };
}

/**
 * A holder as written into a lock file; a fresh nonce per hold tells two holds of one process apart.
 * `shortBoot` writes the boot id's first 8 hex digits only, so that the text (~45 bytes) fits in a
 * symlink's inode (ext4 keeps up to 60 bytes there; a longer target costs a data block per lock).
 */
export function formatHolder(h: Holder, nonce = randomBytes(4).toString('hex'), shortBoot = false): string {
  const boot = shortBoot && h.boot && h.boot !== '?' ? h.boot.replace(/-/g, '').slice(0, 8) : h.boot;
  return `${h.pid} ${h.start ?? '?'} ${boot ?? '?'} ${h.ns ?? '?'} ${nonce}`;
}

export function parseHolder(text: string): Holder | null {
  const [pid, start, boot, ns] = text.trim().split(/\s+/);
  const n = Number.parseInt(pid ?? '', 10);
  if (!Number.isSafeInteger(n) || n <= 0 || String(n) !== pid) return null;
  return start && boot && ns ? { pid: n, start, boot, ns } : { pid: n };
}

/** Whether a lock's holder may still run. */
export function judge(h: Holder): HolderState {
  if (h.start === undefined) return h.pid !== process.pid && isAlive(h.pid) ? 'alive' : 'stale'; // an older gitdav's bare pid
  const own = self();
  if (!sameBoot(h.boot!, own.boot!)) return 'stale'; // from before a reboot
  if (h.ns !== own.ns) return 'elsewhere'; // another container: its processes are not visible here
  return startTime(h.pid) === h.start ? 'alive' : 'stale';
}

/** Whether a holder's boot id (whole, or its first 8 hex digits: formatHolder's shortBoot) is ours. */
function sameBoot(theirs: string, ours: string): boolean {
  return theirs === ours || (theirs.length === 8 && ours.replace(/-/g, '').startsWith(theirs));
}

/** Field 22 of /proc/PID/stat (clock ticks after boot), or null if there is no such process. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '?';
  }
}

function pidNamespace(): string {
  try {
    return /\d+/.exec(readlinkSync('/proc/self/ns/pid'))?.[0] ?? '?';
  } catch {
    return '?';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, owned by someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

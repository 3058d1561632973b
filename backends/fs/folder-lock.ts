/**
 * One server process per folder (folder backend). The backend's write mutex is per process: two
 * processes on one folder would check If-Match and locks without seeing each other's writes (and
 * lose updates). So a process holds `<stateDir>/server.pid`, created exclusively with its pid, and
 * removes it at close; a second process is refused with a message naming the holder. A lock whose
 * pid is no longer alive (a crash, kill -9) is taken over.
 *
 * The file is a symbolic link whose target is the pid (as Emacs's lock files are): symlink(2) creates
 * it exclusively and with its content in one step (an O_EXCL file exists empty until written), and
 * needs no data block, so a server still starts on a full disk. Where links cannot be made, a
 * regular file opened with O_EXCL does.
 *
 * Within one process the lock is shared: backends opened on one folder share the hold (counted), the
 * write mutex and the temp area, so they serialise like one backend (tests and `gitdav user add`
 * open a folder more than once).
 *
 * Who holds it: the pid, with that process's start time (field 22 of /proc/PID/stat), the boot id
 * and the pid namespace. A pid alone can be reused (after a reboot, by an unrelated process) and is
 * not unique across containers (two containers on one volume are both pid 1). So a lock is stale
 * only if it is from another boot, or its namespace is ours and no process with that pid has that
 * start time. A lock from another pid namespace (another container) cannot be judged from here and is
 * never taken over: that server must stop, or the file be removed by hand. Two hosts sharing one
 * folder over a network file system are not supported (nothing here can see the other host).
 *
 * Hand-written rather than proper-lockfile & co.: those judge staleness by an mtime that must be
 * refreshed on a timer; a pid says exactly whether the holder still runs.
 */
import { promises as fsp, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Mutex } from '../util/mutex.js';

export const LOCK_NAME = 'server.pid';

export class FolderInUseError extends Error {
  override name = 'FolderInUseError';
}

/** What the backends of one process on one folder share. */
export interface FolderHold {
  readonly mutex: Mutex;
  /** True for the first holder: the one that may clear the temp area. */
  readonly first: boolean;
  release(): Promise<void>;
}

interface Held {
  refs: number;
  mutex: Mutex;
  /** The lock file's content as this process wrote it: only that is removed at release. */
  written: string;
  /** Set once the last holder releases: a new open waits for it, then takes the lock afresh. */
  closing?: Promise<void>;
}

/** Who holds a lock: `pid start boot namespace` (a bare pid: written by an older gitdav). */
export interface Holder {
  pid: number;
  start?: string;
  boot?: string;
  ns?: string;
}

const held = new Map<string, Promise<Held>>();

/** This process, as its lock file names it. A fresh nonce per hold tells two of its holds apart. */
export function self(): Holder {
  return { pid: process.pid, start: startTime(process.pid) ?? '?', boot: bootId(), ns: pidNamespace() };
}

export function formatHolder(h: Holder, nonce = randomBytes(4).toString('hex')): string {
  return `${h.pid} ${h.start ?? '?'} ${h.boot ?? '?'} ${h.ns ?? '?'} ${nonce}`;
}

export function parseHolder(text: string): Holder | null {
  const [pid, start, boot, ns] = text.trim().split(/\s+/);
  const n = Number.parseInt(pid ?? '', 10);
  if (!Number.isSafeInteger(n) || n <= 0 || String(n) !== pid) return null;
  return start && boot && ns ? { pid: n, start, boot, ns } : { pid: n };
}

/** Takes (or shares, within this process) the folder's lock; throws FolderInUseError if another process has it. */
export async function holdFolder(stateDir: string, folder: string): Promise<FolderHold> {
  const file = join(stateDir, LOCK_NAME);
  let entry = held.get(file);
  let first = false;
  if (entry) {
    const h = await entry.catch(() => null);
    if (h?.closing) await h.closing.catch(() => undefined);
    if (!h || h.closing) return holdFolder(stateDir, folder);
  } else {
    first = true;
    const written = formatHolder(self());
    entry = acquire(file, folder, written).then(() => ({ refs: 0, mutex: new Mutex(), written }));
    held.set(file, entry);
    entry.catch(() => {
      if (held.get(file) === entry) held.delete(file);
    });
  }
  const mine = entry;
  const h = await mine;
  h.refs++;
  let released = false;
  return {
    mutex: h.mutex,
    first,
    async release() {
      if (released) return;
      released = true;
      if (--h.refs > 0) return;
      // The map entry goes only after the file: a re-open meanwhile waits (`closing`), rather than
      // sharing a hold whose file is about to be removed.
      h.closing = removeOwn(file, h.written).finally(() => {
        if (held.get(file) === mine) held.delete(file);
      });
      await h.closing;
    },
  };
}

/** Removes the lock file only if it is still the one this process wrote. */
async function removeOwn(file: string, written: string): Promise<void> {
  if ((await readRaw(file)) === written) await fsp.rm(file, { force: true });
}

async function acquire(file: string, folder: string, written: string): Promise<void> {
  await fsp.mkdir(join(file, '..'), { recursive: true });
  // A few rounds: each either creates the file, finds a live holder, or clears a dead one's file.
  for (let round = 0; round < 8; round++) {
    if (await create(file, written)) return;
    const raw = await readRaw(file);
    const holder = raw === null ? null : parseHolder(raw);
    if (raw === null || (holder === null && round < 2)) {
      // Removed meanwhile, or just created and not yet written: look again shortly.
      await pause();
      continue;
    }
    const state = holder ? judge(holder) : 'stale';
    if (state !== 'stale') throw inUse(folder, file, holder!, state);
    if (await takeOver(file, raw, written)) return;
    await pause();
  }
  throw new FolderInUseError(`${folder}: could not take its lock ${file}; another process keeps changing it`);
}

/**
 * Replaces a dead holder's file by ours. Only the starter that creates `<file>.takeover` exclusively
 * may do it, and only if the file still holds what was judged stale: two or three starters clearing
 * one stale lock at once end with one holder, never two.
 */
async function takeOver(file: string, staleRaw: string, written: string): Promise<boolean> {
  const marker = `${file}.takeover`;
  if (!(await create(marker, written))) {
    // Another starter is taking over; its marker is cleared here only if that starter died meanwhile.
    const raw = await readRaw(marker);
    const h = raw === null ? null : parseHolder(raw);
    if (raw !== null && (!h || judge(h) === 'stale') && (await readRaw(marker)) === raw) await fsp.rm(marker, { force: true });
    return false;
  }
  try {
    if ((await readRaw(file)) !== staleRaw) return false; // changed: judge it afresh
    await fsp.rm(file, { force: true });
    return await create(file, written);
  } finally {
    await fsp.rm(marker, { force: true });
  }
}

type HolderState = 'stale' | 'alive' | 'elsewhere';

/** Whether a lock's holder may still run. */
export function judge(h: Holder): HolderState {
  if (h.start === undefined) return h.pid !== process.pid && isAlive(h.pid) ? 'alive' : 'stale'; // an older gitdav's bare pid
  const me = self();
  if (h.boot !== me.boot) return 'stale'; // from before a reboot
  if (h.ns !== me.ns) return 'elsewhere'; // another container: its processes are not visible here
  return startTime(h.pid) === h.start ? 'alive' : 'stale';
}

function inUse(folder: string, file: string, h: Holder, state: HolderState): FolderInUseError {
  const who = state === 'elsewhere' ? `process ${h.pid} of another pid namespace (another container?)` : `process ${h.pid}`;
  return new FolderInUseError(`${folder} is already served by ${who} (its lock: ${file}); stop that server first, or remove the file if no gitdav runs there`);
}

/** True if made, false if the file exists. */
async function create(file: string, content: string): Promise<boolean> {
  try {
    await fsp.symlink(content, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
  }
  try {
    await fsp.writeFile(file, `${content}\n`, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

async function readRaw(file: string): Promise<string | null> {
  const text = await fsp.readlink(file).catch(() => fsp.readFile(file, 'utf8')).catch(() => null);
  return text === null ? null : text.trim();
}

const pause = () => new Promise((r) => setTimeout(r, 50));

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

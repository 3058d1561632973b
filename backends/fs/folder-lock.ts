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
 * Hand-written rather than proper-lockfile & co.: those judge staleness by an mtime that must be
 * refreshed on a timer; a pid says exactly whether the holder still runs.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Mutex } from '../mutex.js';

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
}

const held = new Map<string, Promise<Held>>();

/** Takes (or shares, within this process) the folder's lock; throws FolderInUseError if another process has it. */
export async function holdFolder(stateDir: string, folder: string): Promise<FolderHold> {
  const file = join(stateDir, LOCK_NAME);
  let entry = held.get(file);
  let first = false;
  if (!entry) {
    first = true;
    entry = acquire(file, folder).then(() => ({ refs: 0, mutex: new Mutex() }));
    held.set(file, entry);
    entry.catch(() => held.delete(file));
  }
  const h = await entry;
  h.refs++;
  let released = false;
  return {
    mutex: h.mutex,
    first,
    async release() {
      if (released) return;
      released = true;
      if (--h.refs > 0) return;
      held.delete(file);
      await fsp.rm(file, { force: true });
    },
  };
}

async function acquire(file: string, folder: string): Promise<void> {
  await fsp.mkdir(join(file, '..'), { recursive: true });
  // A few rounds: each either creates the file, finds a live holder, or clears a dead one's file.
  for (let round = 0; round < 5; round++) {
    if (await create(file)) return;
    const pid = await readPid(file);
    if (pid === null && round < 2) {
      // Removed meanwhile, or just created and not yet written: look again shortly.
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (pid !== null && pid !== process.pid && isAlive(pid)) {
      throw new FolderInUseError(`${folder} is already served by process ${pid} (its lock: ${file}); stop that server first, or remove the file if no gitdav runs there`);
    }
    await takeOver(file, pid);
  }
  throw new FolderInUseError(`${folder}: could not take its lock ${file}; another process keeps changing it`);
}

/**
 * Clears a dead holder's file. It is renamed aside first and read again: if a live process's file was
 * taken instead (two starters clearing one stale lock at once), it is put back.
 */
async function takeOver(file: string, stalePid: number | null): Promise<void> {
  const aside = `${file}.stale-${process.pid}`;
  try {
    await fsp.rename(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const pid = await readPid(aside);
  if (pid !== null && pid !== stalePid && pid !== process.pid && isAlive(pid)) {
    await fsp.link(aside, file).catch(() => undefined); // back to its holder (unless a third took the place)
  }
  await fsp.rm(aside, { force: true });
}

/** True if made, false if the file exists. */
async function create(file: string): Promise<boolean> {
  try {
    await fsp.symlink(String(process.pid), file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
  }
  try {
    await fsp.writeFile(file, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

async function readPid(file: string): Promise<number | null> {
  const text = await fsp.readlink(file).catch(() => fsp.readFile(file, 'utf8')).catch(() => null);
  const pid = Number.parseInt(text ?? '', 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
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

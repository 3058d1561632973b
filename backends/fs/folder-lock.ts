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
 * Under a supervisor (`gitdav serve --workers N`) the supervisor holds the file and its workers
 * (`supervised`) accept it as theirs; users' folders of a multi-user server are marked in the
 * supervisor's name by whichever worker opens them first. What is still refused: a second server
 * (one process or another supervisor) on a folder the supervisor or its workers have marked. What
 * is not: a user's folder no worker has opened yet can be taken by another server first (its
 * workers are then refused there, with the same message); and a worker's backends, once open, are
 * not re-checked, so removing the file by hand lets another server in, as with one process.
 *
 * Hand-written rather than proper-lockfile & co.: those judge staleness by an mtime that must be
 * refreshed on a timer; a pid says exactly whether the holder still runs.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Mutex } from '../util/mutex.js';
import { createExclusive as create, readLockText as readRaw, takeOverStale as takeOver } from '../util/lock-file.js';
import { formatHolder, judge, parent, parseHolder, sameProcess, self, type Holder, type HolderState } from '../util/process-identity.js';

export { formatHolder, judge, parseHolder, self, type Holder };

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

const held = new Map<string, Promise<Held>>();

/**
 * Takes (or shares, within this process) the folder's lock; throws FolderInUseError if another process has it.
 *
 * `supervised`: this process is a worker whose supervisor (its parent) serves the folder with other
 * workers. The file must then name the supervisor, not this worker: one the supervisor made is
 * accepted, a missing or dead one is written in the supervisor's name (users' folders, opened by
 * each worker on first use), and a live process other than the supervisor is refused as always. It
 * is never removed by a worker: it is stale once the supervisor has gone.
 */
export async function holdFolder(stateDir: string, folder: string, options: { supervised?: boolean } = {}): Promise<FolderHold> {
  const file = join(stateDir, LOCK_NAME);
  let entry = held.get(file);
  let first = false;
  if (entry) {
    const h = await entry.catch(() => null);
    if (h?.closing) await h.closing.catch(() => undefined);
    if (!h || h.closing) return holdFolder(stateDir, folder, options);
  } else {
    first = true;
    const supervised = options.supervised === true;
    // The supervisor as it is now: a worker whose supervisor died has been given to a reaper (pid 1,
    // or a subreaper whose channel is no supervisor's), whose name must never go into server.pid.
    const sup = supervised ? parent() : undefined;
    if (sup && (!process.connected || sup.pid === 1)) throw new FolderInUseError(`${folder}: this worker's supervisor is gone; not opening the folder without it`);
    const written = formatHolder(sup ?? self());
    entry = acquire(file, folder, written, supervised)
      .then(() => sup && confirmSupervisor(file, folder, written, sup))
      .then(() => ({ refs: 0, mutex: new Mutex(), written: supervised ? '' : written }));
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

/**
 * After a supervised acquire: the supervisor still runs (the same process as before: pid and start
 * time, and our channel to it is open). Else what we wrote in its name is taken back, and we refuse.
 */
async function confirmSupervisor(file: string, folder: string, written: string, sup: Holder): Promise<void> {
  if (process.connected && sameProcess(parent(), sup)) return;
  if ((await readRaw(file)) === written) await fsp.rm(file, { force: true });
  throw new FolderInUseError(`${folder}: this worker's supervisor is gone; not opening the folder without it`);
}

/** Removes the lock file only if it is still the one this process wrote. */
async function removeOwn(file: string, written: string): Promise<void> {
  if (written !== '' && (await readRaw(file)) === written) await fsp.rm(file, { force: true });
}

async function acquire(file: string, folder: string, written: string, supervised: boolean): Promise<void> {
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
    if (supervised && state === 'alive' && sameProcess(holder!, parent())) return; // our supervisor's
    if (state !== 'stale') throw inUse(folder, file, holder!, state);
    if (await takeOver(file, raw, written)) return;
    await pause();
  }
  throw new FolderInUseError(`${folder}: could not take its lock ${file}; another process keeps changing it`);
}


function inUse(folder: string, file: string, h: Holder, state: HolderState): FolderInUseError {
  const who = state === 'elsewhere' ? `process ${h.pid} of another pid namespace (another container?)` : `process ${h.pid}`;
  return new FolderInUseError(`${folder} is already served by ${who} (its lock: ${file}); stop that server first, or remove the file if no gitdav runs there`);
}

const pause = () => new Promise((r) => setTimeout(r, 50));

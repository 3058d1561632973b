/**
 * A lock file held for a short critical section by one process at a time, as git's `<file>.lock`:
 * created exclusively (symlink(2), whose target names the holder, so the file is never seen empty; a
 * regular file opened with O_EXCL where links cannot be made), removed when the section ends. Node has
 * no flock (nodejs/node#54446), so a waiter polls: a few event-loop turns, then it waits for the file's
 * removal (fs.watch on its folder: inotify wakes it at once, where a sleep of a few ms would leave the
 * holder's successor idle) or 10 ms at most (where watching does not work); within one process the
 * sections of one LockFile queue on a Mutex first, so only processes poll.
 *
 * A holder killed with SIGKILL leaves its file behind. It is stale when its holder cannot still run
 * (./process-identity.ts: pid and start time, boot id, pid namespace): that is exact, with no lease to
 * wait out. A holder in another pid namespace cannot be judged from here, so it renews the file's mtime
 * while it holds it and is stale once the mtime is older than the lease (60 s). A file whose content
 * names no holder (a regular-file lock not yet written, or garbage) is stale after 10 s. A stale file
 * is replaced only by the one waiter that creates `<file>.takeover` exclusively and still finds the
 * content it judged, so two waiters never both take it over.
 */
import { existsSync, lstatSync, mkdirSync, promises as fsp, readFileSync, readlinkSync, symlinkSync, unlinkSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Mutex } from './mutex.js';
import { formatHolder, judge, parseHolder, self } from './process-identity.js';

/** What runs critical sections one at a time: a Mutex (within a process), a LockFile (across processes too). */
export interface CriticalSection {
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export interface LockFileOptions {
  /** Called with the dead holder's text after its file was taken over (what it was doing may be half done). */
  onTakeOver?: (staleHolder: string) => void;
  /** How long a holder from another pid namespace may keep the file without renewing it (ms, default 60 s). */
  leaseMs?: number;
}

/** A content that names no holder is taken as stale after this long. */
const UNREADABLE_MS = 10_000;

export class LockFile implements CriticalSection {
  private readonly mutex = new Mutex();
  private readonly leaseMs: number;
  /** Times a stale file was taken over, and times a waiter found the file held: for tests and diagnostics. */
  readonly stats = { takeOvers: 0, waits: 0 };

  constructor(
    readonly file: string,
    private readonly options: LockFileOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 60_000;
  }

  /**
   * Runs `fn` holding the file: after every earlier section of this process, and while no other
   * process holds it. `makeDir`: make the file's folder if it is missing.
   */
  run<T>(fn: () => Promise<T>, options: { makeDir?: boolean } = {}): Promise<T> {
    this.sections++;
    return this.mutex
      .run(async () => {
        const release = (await this.acquire(options.makeDir ?? false, true))!;
        try {
          return await fn();
        } finally {
          await release();
        }
      })
      .finally(() => this.sections--);
  }

  /**
   * Runs `fn` holding the file if it can be had at once (a dead holder's file is taken over); null,
   * without waiting, when a section of this process or another live process holds or awaits it.
   */
  tryRun<T>(fn: () => Promise<T>, options: { makeDir?: boolean } = {}): Promise<{ value: T } | null> {
    if (this.sections > 0) return Promise.resolve(null);
    this.sections++;
    return this.mutex
      .run(async () => {
        const release = await this.acquire(options.makeDir ?? false, false);
        if (!release) return null;
        try {
          return { value: await fn() };
        } finally {
          await release();
        }
      })
      .finally(() => this.sections--);
  }

  /** Sections of this process running or queued (tryRun gives up at once when there is one). */
  private sections = 0;

  /** The release function once held; null when `wait` is false and a live holder has it. */
  private async acquire(makeDir: boolean, wait: boolean): Promise<(() => Promise<void>) | null> {
    const written = formatHolder(self(), undefined, true);
    for (let attempt = 0; ; attempt++) {
      let made: boolean;
      try {
        made = createExclusiveSync(this.file, written);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !makeDir) throw err;
        mkdirSync(dirname(this.file), { recursive: true });
        made = createExclusiveSync(this.file, written);
      }
      if (made) break;
      const raw = await readLockText(this.file);
      if (raw === null) {
        // Released meanwhile, or something that is no lock file holds the name (a folder, a file we
        // may not read): that would never be released, so say so instead of waiting on it forever.
        if (existsSync(this.file)) throw new Error(`${this.file} exists but is not a lock file this process can read: remove it`);
        if (!wait && attempt >= 3) return null;
        await backOff(attempt); // a lock file created and removed between our tries: never a busy loop
        continue;
      }
      if ((await this.isStale(raw)) && (await takeOverStale(this.file, raw, written))) {
        this.stats.takeOvers++;
        this.options.onTakeOver?.(raw);
        break;
      }
      if (!wait) return null;
      this.stats.waits++;
      await (attempt < 3 ? backOff(attempt) : untilRemoved(this.file, 10));
    }
    // Renewed for the lease of waiters in other pid namespaces; cleared at release.
    const renew = setInterval(() => {
      const now = new Date();
      fsp.lutimes(this.file, now, now).catch(() => undefined);
    }, this.leaseMs / 4);
    renew.unref();
    return async () => {
      clearInterval(renew);
      if (readLockTextSync(this.file) !== written) return; // taken over (a lease judged from elsewhere ran out)
      try {
        unlinkSync(this.file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    };
  }

  private isStale(raw: string): Promise<boolean> {
    return holderIsStale(this.file, raw, this.leaseMs);
  }
}

/** Whether the holder named by `raw` (the text of lock file `file`) can no longer hold it. */
async function holderIsStale(file: string, raw: string, leaseMs: number): Promise<boolean> {
  const holder = parseHolder(raw);
  if (!holder) return olderThan(file, UNREADABLE_MS);
  const state = judge(holder);
  return state === 'stale' || (state === 'elsewhere' && (await olderThan(file, leaseMs)));
}

/**
 * Whether `file` is held now by a holder that may still run (a leftover of a killed process is not:
 * it says nothing about a section in progress). `leaseMs` as LockFileOptions'.
 */
export async function heldByLive(file: string, leaseMs = 60_000): Promise<boolean> {
  const raw = await readLockText(file);
  return raw !== null && !(await holderIsStale(file, raw, leaseMs));
}

/** Creates `file` naming its holder, exclusively: true if made, false if it exists. */
export async function createExclusive(file: string, content: string): Promise<boolean> {
  return createExclusiveSync(file, content);
}

/**
 * The same, synchronously: a lock file is taken and given back on every write, and one metadata
 * call on the state dir costs a few µs where a trip through libuv's thread pool costs ~40 (measured:
 * bench/cross-process.ts).
 */
function createExclusiveSync(file: string, content: string): boolean {
  try {
    symlinkSync(content, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
  }
  try {
    writeFileSync(file, `${content}\n`, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** The holder text of a lock file (a link's target, or a regular file's content), or null if there is none. */
export async function readLockText(file: string): Promise<string | null> {
  return readLockTextSync(file);
}

function readLockTextSync(file: string): string | null {
  let text: string;
  try {
    text = readlinkSync(file);
  } catch {
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return null;
    }
  }
  return text.trim();
}

/**
 * Replaces a dead holder's file by ours. Only the process that creates `<file>.takeover` exclusively
 * may do it, and only if the file still holds what was judged stale: several processes clearing one
 * stale lock at once end with one holder, never two.
 */
export async function takeOverStale(file: string, staleRaw: string, written: string): Promise<boolean> {
  const marker = `${file}.takeover`;
  if (!(await createExclusive(marker, written))) {
    // Another process is taking over; its marker is cleared here only if that process died meanwhile.
    const raw = await readLockText(marker);
    const h = raw === null ? null : parseHolder(raw);
    if (raw !== null && (!h || judge(h) === 'stale') && (await readLockText(marker)) === raw) await fsp.rm(marker, { force: true });
    return false;
  }
  try {
    if ((await readLockText(file)) !== staleRaw) return false; // changed: judge it afresh
    await fsp.rm(file, { force: true });
    return await createExclusive(file, written);
  } finally {
    await fsp.rm(marker, { force: true });
  }
}

async function olderThan(file: string, ms: number): Promise<boolean> {
  const st = await fsp.lstat(file).catch(() => null);
  return st !== null && Date.now() - st.mtimeMs > ms;
}

/**
 * Resolves once `file` may be gone (an inotify event naming it, through fs.watch on its folder) or after
 * `ms`; never in the same turn (a caller looping on it must give the event loop a turn).
 */
function untilRemoved(file: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined;
    const done = () => {
      clearTimeout(timer);
      watcher?.close();
      resolve();
    };
    const timer = setTimeout(done, ms);
    try {
      const name = basename(file);
      watcher = watch(dirname(file), { persistent: false }, (_event, changed) => changed === name && done());
      watcher.on('error', done);
    } catch {
      // No watching here (a file system without inotify): the timer alone.
    }
    // Removed before the watch began. lstat: the lock is a symlink to nothing, which existsSync calls absent.
    if (!lstatSync(file, { throwIfNoEntry: false })) setImmediate(done);
  });
}

/** A few event-loop turns first (most sections last well under a millisecond), then 1, 2, 4, 8, 10 ms. */
function backOff(attempt: number): Promise<void> {
  if (attempt < 3) return new Promise((r) => setImmediate(r));
  return new Promise((r) => setTimeout(r, Math.min(10, 2 ** (attempt - 3))));
}

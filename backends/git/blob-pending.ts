/**
 * Marks of blob-cache files named before their bytes are durable (./blob-cache.ts), and the listing
 * of the cache's files its scans count. A cached file of
 * the right length is trusted for ever (content-addressed), so one must never hold zeros after a
 * power loss. Before, each fill fsync'ed its file and only then renamed it into place, after the
 * response: the next GETs of the blob, in this worker or another, missed it and inflated (and filled)
 * it again for as long as that fsync took (for 100 MiB on the bench machine, the next download or
 * two: 0.32× nginx). Now a fill marks itself first, `pending/<boot id>/<oid>.<random>`, an empty file
 * made durable (its folder fsync'ed) while the blob streams; the complete file is renamed into place
 * at once, fsync'ed afterwards, and the mark removed. A power loss changes the boot id: the next
 * start's sweep removes every file a mark of an earlier boot names (it may hold zeros), then the
 * marks. A process that dies between the rename and the fsync leaves its mark to the next boot's
 * sweep (the kernel still writes the bytes back: the file is good until then, a miss after).
 *
 * Ordering: the mark is durable (fsync of its folder) before the rename is made, so no crash can
 * keep the rename without the mark. Where there is no boot id (not Linux) or a mark cannot be made,
 * `mark` says so and the fill fsyncs before it names the file, as before.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Fills of this many bytes or more are named before their response ends, waiting for their mark if need be. */
export const WAIT_FOR_MARK_BYTES = 1024 * 1024;
/**
 * How long such a fill's last byte waits for its mark (made while the blob streamed). The mark's
 * folder fsync is a journal commit on ext4, which waits for the data of another fill being flushed,
 * or for a slow or hung disk. Past it the response ends and the file is named in the background
 * after its own fsync (the old order): no response is held by another fill's flush or a hung disk.
 * 50 ms is well past the few ms a mark takes with nothing else flushing, and short beside a 1 MiB
 * download.
 */
export const MARK_WAIT_MS = 50;

/** A failed sweep is tried again at most once per this many ms (not once per cold read). */
export const SWEEP_RETRY_MS = 30_000;

function noneIfMissing(err: NodeJS.ErrnoException): string[] {
  if (err.code === 'ENOENT') return [];
  throw err;
}

/** This boot's id, or null where the system has none (then nothing is named before it is durable). */
function readBootId(): string | null {
  try {
    const id = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return /^[0-9a-f-]{8,64}$/.test(id) ? id : null;
  } catch {
    return null;
  }
}

/** fsync of a file or a folder, by name. */
export async function syncPath(path: string): Promise<void> {
  const fh = await fsp.open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The disk steps a fill's durability rests on: a seam, so tests can make an fsync or a removal fail. */
export interface FillSteps {
  /** fsync of a file by name. */
  sync(path: string): Promise<void>;
  /** Removes a file (none there is fine). */
  remove(path: string): Promise<void>;
}

export const DISK_STEPS: FillSteps = { sync: syncPath, remove: (path) => fsp.rm(path, { force: true }) };

/**
 * fsync of a cache file named before it was durable. A failure other than ENOENT (EIO, ENOSPC,
 * EDQUOT: a writeback error, after which Linux marks the pages clean, so a read once they are evicted
 * gets whatever the disk holds) removes it, as a file of the right length is trusted for ever.
 * 'durable' or 'gone': its mark may go. 'stuck': it could not be removed, so its mark stays for the
 * next boot's sweep; it is truncated then, so that no process serves it meanwhile (a length that is
 * not the blob's is a miss, and the reader removes it).
 */
export async function syncOrRemove(path: string, steps: FillSteps): Promise<'durable' | 'gone' | 'stuck'> {
  const err = await steps.sync(path).then(() => null, (e: NodeJS.ErrnoException) => e);
  if (!err) return 'durable';
  if (err.code === 'ENOENT') return 'gone'; // evicted meanwhile
  return steps.remove(path).then(
    () => 'gone' as const,
    () => fsp.truncate(path, 0).then(() => 'stuck' as const, () => 'stuck' as const),
  );
}

/** Renames a complete temp file into place; false when that failed (the temp file then removed if it can be). Never throws. */
export async function renameInto(tmp: string, path: string, steps: FillSteps): Promise<boolean> {
  try {
    await fsp.mkdir(dirname(path), { recursive: true });
    await fsp.rename(tmp, path);
    return true;
  } catch {
    await steps.remove(tmp).catch(() => undefined);
    return false;
  }
}

export interface PendingMark {
  /** True once the mark is durable (the file may then be named before its own fsync); false: fsync first. */
  readonly ready: Promise<boolean>;
  /** Removes the mark (after the file's fsync, or when the fill was given up). */
  clear(): Promise<void>;
}

/** The mark's `ready`, or false once `ms` passed without it. */
export function readyWithin(mark: PendingMark, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, ms, false)));
  return Promise.race([mark.ready, late]).finally(() => clearTimeout(timer));
}

const NO_MARK: PendingMark = { ready: Promise.resolve(false), clear: async () => undefined };

export class PendingMarks {
  private readonly boot = readBootId();
  /** This boot's folder made, and its path durable (once per process). */
  private bootDir: Promise<boolean> | null = null;

  /** `cacheDir`: the blob cache's folder; marks live in its `pending` subfolder. */
  constructor(private readonly cacheDir: string) {}

  private get dir(): string {
    return join(this.cacheDir, 'pending');
  }

  private ensureBootDir(boot: string): Promise<boolean> {
    this.bootDir ??= (async () => {
      await fsp.mkdir(join(this.dir, boot), { recursive: true });
      await syncPath(this.dir);
      await syncPath(this.cacheDir);
      return true;
    })().catch(() => {
      this.bootDir = null; // tried again by the next fill
      return false;
    });
    return this.bootDir;
  }

  /** Makes this boot's folder (in the background), so a first fill's mark costs one fsync. */
  prepare(): void {
    if (this.boot) void this.ensureBootDir(this.boot);
  }

  /** Starts a mark for a fill of `oid` (in the background: `ready` says when, and whether, it is durable). */
  mark(oid: string): PendingMark {
    const boot = this.boot;
    if (!boot) return NO_MARK;
    const path = join(this.dir, boot, `${oid}.${randomBytes(4).toString('hex')}`);
    const ready = (async () => {
      if (!(await this.ensureBootDir(boot))) return false;
      await fsp.writeFile(path, '', { flag: 'wx' });
      await syncPath(join(this.dir, boot));
      return true;
    })().catch(() => false);
    // Cleared once made (or failed): a mark made after its removal would outlive its fill.
    return { ready, clear: () => ready.then(() => fsp.rm(path, { force: true })).catch(() => undefined) };
  }

  /**
   * Removes the files that marks of earlier boots name, then those marks (the first scan of each
   * process runs it, before the cache serves anything). This boot's marks are fills in flight (or
   * of a process that died after its rename): left alone.
   */
  async sweep(pathOf: (oid: string) => string): Promise<string[]> {
    const removed: string[] = [];
    // Only a folder that is not there has no marks: one that cannot be read (EACCES, EIO, not a
    // folder) is an error, and the cache serves nothing (./blob-cache.ts ready).
    const boots = await fsp.readdir(this.dir).catch(noneIfMissing);
    for (const boot of boots) {
      if (boot === this.boot) continue;
      const marks = await fsp.readdir(join(this.dir, boot)).catch(noneIfMissing); // gone: another process swept it
      for (const m of marks) {
        const oid = /^([0-9a-f]{40}|[0-9a-f]{64})\.[0-9a-f]+$/.exec(m)?.[1];
        if (oid) {
          await fsp.rm(pathOf(oid), { force: true });
          removed.push(oid);
        }
        await fsp.rm(join(this.dir, boot, m), { force: true });
      }
      await fsp.rm(join(this.dir, boot), { recursive: true, force: true });
    }
    return removed;
  }
}

/** Stats in flight during a scan: a scan of 60k files takes a few hundred ms without flooding the thread pool. */
const SCAN_CONCURRENCY = 16;

/** The blob cache's files (in its fan-out folders, not `pending`): id, size and time of each. */
export async function cachedFiles(dir: string, pathOf: (oid: string) => string): Promise<{ oid: string; size: number; mtime: number }[]> {
  const names: string[] = [];
  const fans = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const fan of fans) {
    if (!fan.isDirectory() || !/^[0-9a-f]{2}$/.test(fan.name)) continue;
    const files = await fsp.readdir(join(dir, fan.name), { withFileTypes: true }).catch(() => []);
    for (const f of files) if (f.isFile()) names.push(fan.name + f.name);
  }
  const found: { oid: string; size: number; mtime: number }[] = [];
  for (let i = 0; i < names.length; i += SCAN_CONCURRENCY) {
    const batch = names.slice(i, i + SCAN_CONCURRENCY);
    const stats = await Promise.all(batch.map((oid) => fsp.stat(pathOf(oid)).catch(() => null)));
    stats.forEach((st, j) => st && found.push({ oid: batch[j]!, size: st.size, mtime: st.mtimeMs }));
  }
  return found;
}

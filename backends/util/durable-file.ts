/**
 * Whole-file writes of state files (lock files, the sync-token key, property snapshots and sidecars,
 * the users and shares files, rebuildable indexes): one place for the sequence every such writer
 * needs, so none of them forgets a step. Every caller says which durability it needs:
 *
 *   'fsync'  (the file is the only copy of what it holds: dead properties, locks, users, the key)
 *            temp file in the same directory (`wx`, fresh name; a missing directory is made, and its
 *            parent fsynced) → write → fsync → rename (or link, to create only if absent) → fsync
 *            the directory, so the new name itself survives power loss;
 *   'atomic' (a cache or index that can be rebuilt, or whose loss only costs a client a resync)
 *            the same steps without any fsync: a reader, or a crash of the process, sees the old
 *            content or the new. After power loss the file may also be missing, empty or zero-filled
 *            (the rename reached the disk before the data), which its reader must take as "rebuild".
 *   remove: unlink → fsync the directory.
 *
 * A reader sees the old content or the new, never a part; a failed write removes its temp file and
 * leaves the old content. Written by hand: the npm packages that do this (write-file-atomic, steno)
 * do not fsync the directory, or lack the create-only-if-absent (link) mode.
 * Temp names end in `.tmp` (`<file>.<pid>.<random>.tmp`), so a reader of the directory can skip them
 * and a start can remove a crash's leftovers.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** How hard a write tries to survive power loss: see the module comment. */
export type Durability = 'fsync' | 'atomic';

export interface DurableWriteOptions {
  /** Required, so every writer says whether its file is the only copy ('fsync') or rebuildable ('atomic'). */
  durability: Durability;
  /** Mode of a new file (before umask); default 0o666. */
  mode?: number;
  /** false: create only if `file` does not exist yet (link, not rename); an existing file → EEXIST. Default true. */
  replace?: boolean;
  /** Make the directory (and its parents) if missing. Default true. */
  makeDir?: boolean;
  /**
   * The temp file to write and rename from, for a target whose directory clients list (the folder
   * backend's sidecars: a temp file beside one would be served). It must be a fresh name on the
   * target's file system, in an existing directory (`makeDir` then makes nothing). Default: beside
   * `file`.
   */
  tempFile?: string;
}

/** The suffix of every temp file this module makes. */
export const TEMP_SUFFIX = '.tmp';

/** Whether a directory entry is one of this module's temp files (a write in progress, or a crash's leftover). */
export function isTempName(name: string): boolean {
  return name.endsWith(TEMP_SUFFIX);
}

/** Writes `file` whole and atomically, with the durability asked for (see the module comment). */
/** `data` may be chunks made while the file is written (a big index, built between other work). */
export async function writeFileDurably(file: string, data: string | Uint8Array | AsyncIterable<string>, options: DurableWriteOptions): Promise<void> {
  const { durability, mode = 0o666, replace = true, makeDir = true } = options;
  const fsync = durability === 'fsync';
  const dir = dirname(file);
  const tmp = options.tempFile ?? `${file}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
  const handle = await fsp.open(tmp, 'wx', mode).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT' || !makeDir || options.tempFile !== undefined) throw err;
    if (fsync) await makeDirDurably(dir);
    else await fsp.mkdir(dir, { recursive: true });
    return fsp.open(tmp, 'wx', mode);
  });
  try {
    try {
      if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
      else for await (const chunk of data) await handle.write(chunk);
      if (fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    if (replace) await fsp.rename(tmp, file);
    else await fsp.link(tmp, file); // EEXIST if another writer made it first
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  if (!replace) await fsp.rm(tmp, { force: true });
  if (fsync) await syncDirectory(dir);
}

/** The text of `file`, or null if there is none (any other error is thrown): how these files are read back. */
export async function readTextIfExists(file: string): Promise<string | null> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Removes `file` durably; false if it was already gone. An error (other than ENOENT) is thrown and the file stays. */
export async function removeFileDurably(file: string): Promise<boolean> {
  try {
    await fsp.unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  await syncDirectory(dirname(file));
  return true;
}

/** mkdir -p, then fsyncs the parent of each directory made, so that the new directories' names survive too. */
async function makeDirDurably(dir: string): Promise<void> {
  const first = await fsp.mkdir(dir, { recursive: true });
  if (first === undefined) return; // made meanwhile by someone else
  for (let d = dir; ; d = dirname(d)) {
    await syncDirectory(dirname(d));
    if (d === first || dirname(d) === d) break;
  }
}

/** Errors of filesystems (or platforms) that cannot open or fsync a directory: nothing more to do there. */
const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EPERM', 'EACCES', 'EBADF']);

/** fsyncs a directory, so that names created, renamed or removed in it survive a crash. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await fsp.open(dir, 'r');
  } catch (err) {
    if (DIR_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) return;
    throw err;
  }
  try {
    await handle.sync();
  } catch (err) {
    if (!DIR_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await handle.close();
  }
}

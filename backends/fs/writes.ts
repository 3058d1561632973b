/**
 * The folder backend's write path (PUT, whole or from an offset): the body streams into a temp file
 * outside the write lock, then, inside it, the checks are made again and the file is renamed over the
 * target, so a reader sees the old or the new bytes and a cut-off body changes nothing.
 */
import { constants as fsc, promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { baseName, parentOf, type Entry, type GuardView, type WriteOptions, type WriteResult } from '../backend.js';
import { BackendError } from '../errors.js';
import type { CriticalSection } from '../util/lock-file.js';
import { mapFsError, streamInto, toEntry } from './fs-io.js';
import type { PropsStore } from './props-store.js';
import type { ServedFolder } from './served-folder.js';

/** What FsBackend's writing operations share: its folder rules, its write lock and properties, its stat. */
export interface WriteContext {
  readonly folder: ServedFolder;
  /** The process's mutex, then `<stateDir>/write.lock`: one guard-and-rename at a time, across processes. */
  readonly writeLock: CriticalSection;
  readonly propsStore: PropsStore;
  /** What a request's guard sees (the backend's own stat). */
  readonly view: GuardView;
  stat(path: string): Promise<Entry | null>;
}

export async function requireParent(ctx: WriteContext, path: string): Promise<void> {
  const parent = await ctx.stat(parentOf(path));
  if (!parent) throw new BackendError('ParentMissing', path);
  if (parent.kind !== 'collection') throw new BackendError('NotACollection', parentOf(path));
}

export async function writeFile(ctx: WriteContext, path: string, body: Readable, options: WriteOptions = {}): Promise<WriteResult> {
  const { folder } = ctx;
  await folder.writable(path);
  await requireParent(ctx, path);
  const tmp = folder.tmpName();
  try {
    let basis: Entry | null = null;
    if (options.offset !== undefined) {
      // The bytes kept come from a verified handle, and the basis is that handle's own stat: a
      // rename between a check and an open by name could otherwise copy in another file's bytes.
      basis = (await ctx.stat(path))?.kind === 'file'
        ? await folder.fromVerified(path, fsc.O_RDONLY, async (src) => {
            const entry = toEntry(path, await src.fh.stat({ bigint: true }));
            await fsp.copyFile(src.via, tmp, fsc.COPYFILE_FICLONE);
            return entry;
          })
        : null;
      const size = basis?.kind === 'file' ? basis.size : 0;
      if (options.offset > size) throw new BackendError('InvalidRange', path, `offset ${options.offset} is past the end (${size})`);
      if (!basis) await fsp.writeFile(tmp, '');
    }
    await streamInto(body, tmp, options.offset);
    return await ctx.writeLock.run(async () => {
      // Checked again where no client's MOVE can run: the check before the upload may be stale.
      await folder.writable(path);
      await requireParent(ctx, path);
      const before = await ctx.stat(path);
      if (before?.kind === 'collection') throw new BackendError('IsACollection', path);
      if (options.offset !== undefined && before?.etag !== basis?.etag) {
        throw new BackendError('Conflict', path, 'the file changed while the partial write was uploading');
      }
      await options.guard?.(ctx.view);
      // A new file starts with no dead properties, even if a DELETE could not clear its name's.
      if (!before) await ctx.propsStore.put(folder.abs(parentOf(path)), baseName(path), new Map());
      if (options.modified) await setModified(tmp, options.modified);
      await fsp.rename(tmp, folder.abs(path));
      return { entry: (await ctx.stat(path))!, created: !before, modifiedKept: options.modified !== undefined };
    });
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw mapFsError(err, path);
  }
}

/**
 * A client's time (whole seconds: X-OC-Mtime) set on the temp file, so the file appears with it and
 * its ETag is final at once. Records keyed by content use `Entry.contentKey`, whose ctime the kernel
 * sets at this utimes and the rename, so a new file with an old file's inode, size and time does not
 * repeat the old one's key.
 */
export async function setModified(file: string, time: Date, noFollow = false): Promise<void> {
  const seconds = Math.floor(time.getTime() / 1000);
  await (noFollow ? fsp.lutimes : fsp.utimes)(file, seconds, seconds);
}

/**
 * COPY and MOVE within the folder backend: the result is built aside (a copy) or is the source
 * itself (a move), then swapped in under the write lock, where overwrite and the request's guard are
 * decided against the state the rename changes. A file's dead properties go along in the sidecars.
 */
import { constants as fsc, promises as fsp } from 'node:fs';
import { baseName, parentOf, type CopyOptions, type Guard, type MoveOptions, type WriteResult } from '../backend.js';
import { BackendError } from '../errors.js';
import { O_PATH } from './containment.js';
import { mapFsError } from './fs-io.js';
import { SELF } from './props-store.js';
import { propsOf } from '../sidecar.js';
import { requireParent, setModified, type WriteContext } from './writes.js';

export async function copyResource(ctx: WriteContext, from: string, to: string, options: CopyOptions): Promise<WriteResult> {
  const { folder, propsStore } = ctx;
  if (options.depth !== 0) folder.keepState(from);
  await folder.writable(to);
  const source = await ctx.stat(from);
  if (!source) throw new BackendError('NotFound', from);
  await requireParent(ctx, to);
  const tmp = folder.tmpName();
  try {
    // Build the copy aside, then swap it in atomically. A source reached through a link is copied
    // from its target (fs.cp would copy the link itself, and a relative one would lead elsewhere).
    // The source is read through a verified handle (Containment.open); a folder tree is copied by
    // name, so inside the write lock, where no client's MOVE can rename its ancestors meanwhile.
    if (source.kind === 'file') {
      await folder.fromVerified(from, fsc.O_RDONLY, (src) => fsp.copyFile(src.via, tmp, fsc.COPYFILE_FICLONE));
      if (options.modified) await setModified(tmp, options.modified); // a client's time (X-OC-Mtime)
    } else if (options.depth === 0) {
      await fsp.mkdir(tmp);
      const own = await folder.fromVerified(from, O_PATH | fsc.O_DIRECTORY, async (src) => propsOf(await propsStore.read(src.via, src.real), SELF));
      if (own.size) await propsStore.put(tmp, SELF, own);
    } else {
      await ctx.writeLock.run(() =>
        folder.fromVerified(from, O_PATH | fsc.O_DIRECTORY, (src) => fsp.cp(src.real, tmp, { recursive: true, errorOnExist: true, force: false, verbatimSymlinks: true })),
      );
    }
    const result = await ctx.writeLock.run(() =>
      swapIn(ctx, to, tmp, options, async () => {
        if (source.kind === 'file') {
          await propsStore.transfer(folder.abs(parentOf(from)), baseName(from), folder.abs(parentOf(to)), baseName(to), true);
        }
      }),
    );
    return { ...result, modifiedKept: source.kind === 'file' && options.modified !== undefined };
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw mapFsError(err, to);
  }
}

export async function moveResource(ctx: WriteContext, from: string, to: string, options: MoveOptions): Promise<WriteResult> {
  const { folder, propsStore } = ctx;
  folder.keepState(from);
  await folder.writable(from);
  await folder.writable(to);
  return ctx.writeLock.run(async () => {
    await folder.writable(from);
    const source = await ctx.stat(from);
    if (!source) throw new BackendError('NotFound', from);
    await requireParent(ctx, to);
    const result = await swapIn(ctx, to, folder.abs(from), options, async () => {
      if (source.kind === 'file') {
        await propsStore.transfer(folder.abs(parentOf(from)), baseName(from), folder.abs(parentOf(to)), baseName(to), false);
        // A client's time (X-OC-Mtime), on the moved file itself (lutimes: a moved link keeps its target's).
        if (options.modified) await setModified(folder.abs(to), options.modified, true);
      }
    });
    return { ...result, modifiedKept: source.kind === 'file' && options.modified !== undefined };
  }).catch((err: unknown) => {
    throw mapFsError(err, to);
  });
}

/** Inside the write lock: replace `to` by the prepared `prepared` path, honouring overwrite and the guard. */
async function swapIn(
  ctx: WriteContext,
  to: string,
  prepared: string,
  options: { guard?: Guard; overwrite: boolean },
  afterRename: () => Promise<void>,
): Promise<WriteResult> {
  const { folder } = ctx;
  // The policy checked again inside the write lock, right before the rename: see writes.ts.
  await folder.writable(to);
  await requireParent(ctx, to);
  const before = await ctx.stat(to);
  if (before && !options.overwrite) throw new BackendError('AlreadyExists', to);
  await options.guard?.(ctx.view);
  const trash = before ? folder.tmpName() : null;
  if (trash) {
    await fsp.rename(folder.abs(to), trash);
    if (before!.kind === 'file') await ctx.propsStore.put(folder.abs(parentOf(to)), baseName(to), new Map());
  }
  await fsp.rename(prepared, folder.abs(to));
  await afterRename();
  if (trash) void fsp.rm(trash, { recursive: true, force: true });
  return { entry: (await ctx.stat(to))!, created: !before };
}

/**
 * COPY and MOVE between two backends (a user's own tree and a collection shared with them, or two
 * users' shares). One backend does either in one atomic step; across two it takes several, ordered so
 * that nothing is lost whatever fails or whoever writes meanwhile:
 *
 * 1. the copy is built under a temporary name at the target's root, one resource per step (files
 *    stream; dead properties travel along);
 * 2. one atomic MOVE puts it in place, with the caller's guard (If, locks) evaluated there, against the
 *    destination that step replaces: a failure before that leaves the destination untouched;
 * 3. for a MOVE, the source is removed in one step that first checks every copied resource is still
 *    as it was copied (ETags of files and collections: a member added, changed or removed meanwhile
 *    changes one), else the source stays and the answer says it was copied, not moved.
 */
import { randomBytes } from 'node:crypto';
import { baseName, joinPath, type Backend, type CopyOptions, type Entry, type Guard, type MutationOptions, type PropPatch, type WriteResult } from '../backend.js';
import { BackendError } from '../errors.js';

export async function copyAcross(source: Backend, from: string, target: Backend, to: string, options: CopyOptions): Promise<WriteResult> {
  return (await copyRecorded(source, from, target, to, options)).result;
}

/** A copy (step 1 and 2 above), then the source's removal with `removal`'s guard (its own backend's). */
export async function moveAcross(source: Backend, from: string, target: Backend, to: string, options: CopyOptions, removal: MutationOptions): Promise<WriteResult> {
  const { result, copied } = await copyRecorded(source, from, target, to, { ...options, depth: 'infinity' });
  const unchanged: Guard = async (view) => {
    await removal.guard?.(view);
    for (const [path, etag] of copied) {
      if ((await view.stat(path))?.etag !== etag) {
        throw new BackendError('Conflict', from, `${path} changed while it was being moved: it was copied to the destination, and the source was kept`);
      }
    }
  };
  await source.remove(from, { ...removal, guard: unchanged });
  return result;
}

async function copyRecorded(
  source: Backend,
  from: string,
  target: Backend,
  to: string,
  options: CopyOptions,
): Promise<{ result: WriteResult; copied: Map<string, string> }> {
  const entry = await source.stat(from);
  if (!entry) throw new BackendError('NotFound', from);
  if (!options.overwrite && (await target.stat(to))) throw new BackendError('AlreadyExists', to);
  const temp = `/.gitdav-copy-${randomBytes(6).toString('hex')}`;
  const step: MutationOptions = { actor: options.actor, summary: `COPY into ${to} (in progress)` };
  const copied = new Map<string, string>();
  try {
    await copyEntry(source, entry, target, temp, options.depth, step, copied);
    const result = await target.move(temp, to, { overwrite: options.overwrite, guard: options.guard, actor: options.actor, summary: options.summary });
    return { result, copied };
  } catch (err) {
    await target.remove(temp, step).catch(() => undefined); // nothing there, or only the temporary copy
    throw err;
  }
}

async function copyEntry(
  source: Backend,
  entry: Entry,
  target: Backend,
  to: string,
  depth: 0 | 'infinity',
  step: MutationOptions,
  copied: Map<string, string>,
): Promise<void> {
  copied.set(entry.path, entry.etag);
  const props = asPatches(await source.props(entry.path, entry));
  if (entry.kind === 'collection') {
    await target.mkcol(to, { ...step, props });
    if (depth === 'infinity') {
      for await (const member of source.list(entry.path)) {
        await copyEntry(source, member, target, joinPath(to, baseName(member.path)), depth, step, copied);
      }
    }
    return;
  }
  await target.write(to, await source.read(entry.path, undefined, entry), { ...step, length: entry.size });
  if (props.length) await target.patchProps(to, props, step);
}

function asPatches(props: Map<string, string>): PropPatch[] {
  return [...props].map(([name, value]) => ({ op: 'set' as const, name, value }));
}

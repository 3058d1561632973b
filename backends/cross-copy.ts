/**
 * COPY and MOVE between two backends (a user's own tree and a collection shared with them, or two
 * users' shares): what one backend does in one atomic step takes several here, one per resource, in
 * an order that never loses data: the destination is written completely before a moved source is
 * removed. Files stream; nothing is held in memory. Every step runs the caller's guard again, so a
 * lock taken meanwhile still stops the rest.
 */
import { joinPath, type Backend, type CopyOptions, type Entry, type MutationOptions, type PropPatch, type WriteResult } from './backend.js';
import { BackendError } from './errors.js';

export async function copyAcross(
  source: Backend,
  from: string,
  target: Backend,
  to: string,
  options: CopyOptions,
): Promise<WriteResult> {
  const entry = await source.stat(from);
  if (!entry) throw new BackendError('NotFound', from);
  const existing = await target.stat(to);
  if (existing && !options.overwrite) throw new BackendError('AlreadyExists', to);
  const step: MutationOptions = { guard: options.guard, actor: options.actor, summary: options.summary };
  // RFC 4918 §9.8.4: an overwritten destination is removed first (a file over a file is one write).
  if (existing && (existing.kind === 'collection' || entry.kind === 'collection')) await target.remove(to, step);
  const written = await copyEntry(source, entry, target, to, options.depth, step);
  return { entry: written, created: !existing };
}

/** A copy, then the source's removal (with its own options: its guard sees the source's backend). */
export async function moveAcross(
  source: Backend,
  from: string,
  target: Backend,
  to: string,
  options: CopyOptions,
  removal: MutationOptions,
): Promise<WriteResult> {
  const result = await copyAcross(source, from, target, to, { ...options, depth: 'infinity' });
  await source.remove(from, removal);
  return result;
}

async function copyEntry(source: Backend, entry: Entry, target: Backend, to: string, depth: 0 | 'infinity', step: MutationOptions): Promise<Entry> {
  const props = asPatches(await source.props(entry.path, entry));
  if (entry.kind === 'collection') {
    const made = await target.mkcol(to, { ...step, props });
    if (depth === 'infinity') {
      for await (const member of source.list(entry.path)) {
        await copyEntry(source, member, target, joinPath(to, member.path.slice(member.path.lastIndexOf('/') + 1)), depth, step);
      }
    }
    return made;
  }
  const { entry: written } = await target.write(to, await source.read(entry.path, undefined, entry), { ...step, length: entry.size });
  if (props.length === 0) return written;
  await target.patchProps(to, props, step);
  return (await target.stat(to)) ?? written;
}

function asPatches(props: Map<string, string>): PropPatch[] {
  return [...props].map(([name, value]) => ({ op: 'set' as const, name, value }));
}

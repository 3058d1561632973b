/**
 * The live tree's write operations (GitBackend delegates here). Blobs are written first (fsynced);
 * then each operation is queued on the journal writer (./journal-writer.ts), which runs its guard and
 * apply against the live state (tip + journal) under the journal lock and appends the resolved
 * effects. The apply functions check what they change in the state they are given, as they did when
 * each was a commit of its own.
 */
import type { Readable } from 'node:stream';
import { baseName, parentOf } from '../backend.js';
import type { Backend, CopyOptions, Entry, MoveOptions, MutationOptions, PropPatch, WriteOptions, WriteResult } from '../backend.js';
import { BackendError } from '../errors.js';
import { isTreeSource } from './tree-source.js';
import { applyPatches, propsOf, SELF, serializeSidecar, SIDECAR, withProps } from '../sidecar.js';
import type { Actor } from '../backend.js';
import type { JournalWriter, Operation } from './journal-writer.js';
import type { InlineObject, RecordMeta } from './journal/record.js';
import type { ObjectStore } from './objects.js';
import { INLINE_BLOB_MAX, type BlobWriter } from './blob-write.js';
import type { LiveNames } from './live-names.js';
import { readSidecar, propsKey, setProps, shallowDir } from './sidecars.js';
import { TreeEditor, isListable, type DirSlot, type Slot } from './tree.js';
import { isVolatile, type VolatileProps } from './volatile-props.js';

export interface WriteHost {
  store: ObjectStore;
  placeholder: { name: string; oid: string };
  names: LiveNames;
  blobs: BlobWriter;
  volatile: VolatileProps;
  writer: JournalWriter;
  entryIn(editor: TreeEditor, path: string, time: Date): Promise<Entry | null>;
  stat(path: string): Promise<Entry | null>;
  /** The live state (tip + journal) in an editor of its own. */
  editor(): Promise<{ editor: TreeEditor; time: Date }>;
  /** The live state's root as last refreshed (no refresh), for the early parent check. */
  lastRoot(): DirSlot | null;
}

export class LiveWrites {
  constructor(private readonly h: WriteHost) {}

  async write(path: string, body: Readable, options: WriteOptions = {}): Promise<WriteResult> {
    const h = this.h;
    h.names.assertWritable(path, true);
    await this.parentBeforeBlob(path);
    let oid: string;
    let basis: string | null | undefined;
    let inline: InlineObject[] | undefined;
    if (options.offset !== undefined) {
      ({ oid, basis } = await h.blobs.patched(path, body, options.offset, (await h.editor()).editor));
    } else if (options.length !== undefined && options.length <= INLINE_BLOB_MAX) {
      const small = await h.blobs.writeSmall(body, options.length);
      oid = small.oid;
      inline = [small.inline];
    } else {
      oid = await h.blobs.write(body, options.length);
    }
    return this.submit({ op: 'PUT', path }, options, async (editor) => {
      const parentSlot = await editor.get(parentOf(path));
      if (!parentSlot) throw new BackendError('ParentMissing', path);
      if (parentSlot.kind !== 'dir') throw new BackendError('NotACollection', parentOf(path));
      const existing = await editor.get(path);
      if (existing?.kind === 'dir') throw new BackendError('IsACollection', path);
      if (basis !== undefined && (existing?.oid ?? null) !== basis) {
        throw new BackendError('Conflict', path, 'the file changed while the partial write was uploading');
      }
      await editor.set(path, { kind: 'file', mode: existing?.mode ?? '100644', oid });
      return { entry: (await h.entryIn(editor, path, new Date()))!, created: !existing };
    }, inline);
  }

  /**
   * Spares an orphan blob when the parent is missing: a hint, not the check (the write step checks the
   * state it changes). A parent in the live state last looked up (the request's early check) is taken as is.
   */
  private async parentBeforeBlob(path: string): Promise<void> {
    const h = this.h;
    const dir = parentOf(path);
    const root = h.lastRoot();
    if (root && !h.names.isHidden(dir)) {
      const slot = await TreeEditor.fromSlot(h.store, root, h.placeholder).get(dir);
      if (slot?.kind === 'dir') return;
    }
    const parent = await h.stat(dir);
    if (!parent) throw new BackendError('ParentMissing', path);
    if (parent.kind !== 'collection') throw new BackendError('NotACollection', dir);
  }

  async remove(path: string, options: MutationOptions = {}): Promise<void> {
    const h = this.h;
    h.names.assertWritable(path);
    if (path === '/') throw new BackendError('Forbidden', path, 'the root cannot be deleted');
    await this.submit({ op: 'DELETE', path }, options, async (editor) => {
      const slot = await editor.get(path);
      if (!slot || !isListable(slot)) throw new BackendError('NotFound', path);
      await editor.set(path, null);
      if (slot.kind === 'file') await setProps(h.store, editor, parentOf(path), baseName(path), new Map());
    });
    await h.volatile.removeWithin(path);
  }

  async mkcol(path: string, options: MutationOptions & { props?: PropPatch[] } = {}): Promise<Entry> {
    const h = this.h;
    h.names.assertWritable(path, true);
    const own = applyPatches(new Map(), options.props ?? []);
    const sidecarOid = own.size ? await h.store.writeBuffer('blob', Buffer.from(serializeSidecar(withProps({}, SELF, own)))) : h.placeholder.oid;
    return this.submit({ op: 'MKCOL', path }, options, async (editor) => {
      const parent = await editor.get(parentOf(path));
      if (!parent) throw new BackendError('ParentMissing', path);
      if (parent.kind !== 'dir') throw new BackendError('NotACollection', parentOf(path));
      if (await editor.get(path)) throw new BackendError('AlreadyExists', path);
      await editor.set(path, { kind: 'dir', entries: new Map([[SIDECAR, { kind: 'file', mode: '100644', oid: sidecarOid }]]) });
      return (await h.entryIn(editor, path, new Date()))!;
    });
  }

  async copy(from: string, to: string, options: CopyOptions): Promise<WriteResult> {
    this.h.names.assertWritable(to, true);
    return this.submit({ op: 'COPY', path: from, to }, options, (editor) => this.place(editor, from, to, options.depth, options.overwrite, false));
  }

  /**
   * COPY from another backend on this repository's objects (history: a restore). The old file or
   * folder becomes live again by id, with its old properties, in one record; null for any other source.
   */
  async copyFrom(source: Backend, from: string, to: string, options: CopyOptions): Promise<WriteResult | null> {
    const h = this.h;
    if (!isTreeSource(source) || source.store !== h.store) return null;
    h.names.assertWritable(to, true);
    const found = await source.treeOf(from, options.depth);
    if (!found) throw new BackendError('NotFound', from);
    const { slot: placed, fileProps } = found;
    return this.submit({ op: 'RESTORE', path: from, to, restoredFrom: found.label }, options, async (editor) => {
      const parent = await editor.get(parentOf(to));
      if (!parent) throw new BackendError('ParentMissing', to);
      if (parent.kind !== 'dir') throw new BackendError('NotACollection', parentOf(to));
      const dest = await editor.get(to);
      if (dest && !options.overwrite) throw new BackendError('AlreadyExists', to);
      await editor.set(to, placed.kind === 'file' ? { ...placed, mode: dest?.kind === 'file' ? dest.mode : placed.mode } : placed);
      if (fileProps || dest?.kind === 'file') await setProps(h.store, editor, parentOf(to), baseName(to), fileProps ?? new Map());
      return { entry: (await h.entryIn(editor, to, new Date()))!, created: !dest };
    });
  }

  async move(from: string, to: string, options: MoveOptions): Promise<WriteResult> {
    const h = this.h;
    h.names.assertWritable(from);
    h.names.assertWritable(to, true);
    const result = await this.submit({ op: 'MOVE', path: from, to }, options, (editor) => this.place(editor, from, to, 'infinity', options.overwrite, true));
    await h.volatile.move(from, to);
    return result;
  }

  /** COPY and MOVE inside one editor: subtrees are reused by id, never copied file by file. */
  private async place(editor: TreeEditor, from: string, to: string, depth: 0 | 'infinity', overwrite: boolean, move: boolean): Promise<WriteResult> {
    const h = this.h;
    const source = await editor.get(from);
    if (!source || h.names.isHidden(from)) throw new BackendError('NotFound', from);
    const parent = await editor.get(parentOf(to));
    if (!parent) throw new BackendError('ParentMissing', to);
    if (parent.kind !== 'dir') throw new BackendError('NotACollection', parentOf(to));
    const dest = await editor.get(to);
    if (dest && !overwrite) throw new BackendError('AlreadyExists', to);
    const slot: Slot = source.kind === 'dir' && depth === 0 ? await shallowDir(h.store, editor, from) : source;
    const fileProps = source.kind === 'file' ? propsOf(await readSidecar(h.store, editor, parentOf(from)), baseName(from)) : null;
    if (move) {
      await editor.set(from, null);
      if (fileProps) await setProps(h.store, editor, parentOf(from), baseName(from), new Map());
    }
    await editor.set(to, slot);
    if (fileProps || dest?.kind === 'file') await setProps(h.store, editor, parentOf(to), baseName(to), fileProps ?? new Map());
    return { entry: (await h.entryIn(editor, to, new Date()))!, created: !dest };
  }

  async patchProps(path: string, patches: PropPatch[], options: MutationOptions = {}): Promise<void> {
    const h = this.h;
    h.names.assertWritable(path, true);
    const durable = patches.filter((p) => !isVolatile(p.name));
    const volatile = patches.filter((p) => isVolatile(p.name));
    // Volatile ones (Windows' Win32* times) need the resource to exist, and never make a commit.
    if (volatile.length && !(await h.stat(path))) throw new BackendError('NotFound', path);
    if (durable.length || volatile.length === 0) {
      await this.submit({ op: 'PROPPATCH', path }, options, async (editor) => {
        const slot = await editor.get(path);
        if (!slot) throw new BackendError('NotFound', path);
        const [dir, key] = propsKey(path, slot);
        await setProps(h.store, editor, dir, key, applyPatches(propsOf(await readSidecar(h.store, editor, dir), key), durable));
      });
    } else if (options.guard) {
      await options.guard({ stat: (p) => h.stat(p) });
    }
    if (volatile.length) await h.volatile.patch(path, volatile);
  }

  /** UNLOCK (../capabilities.ts UnlockAware): a marker record, so a lock held over a burst closes it. */
  async unlocked(path: string, lockedAt: number, actor?: Actor): Promise<void> {
    await this.h.writer.submit({ meta: { op: 'UNLOCK', path, lockedAt }, actor, marker: true, apply: async () => undefined });
  }

  private submit<R>(meta: RecordMeta, options: MutationOptions, apply: Operation<R>['apply'], inline?: InlineObject[]): Promise<R> {
    if (options.summary) meta.summary = options.summary;
    return this.h.writer.submit({ meta, actor: options.actor, guard: options.guard, apply, inline });
  }
}

/**
 * The git backend: a (bare) git repository served as a folder tree. Every change is a commit on one
 * branch, made by the group committer; reads come from the branch tip's tree. Dead properties live in
 * a `.davprops` sidecar per folder, committed with the content; Windows' volatile Win32* properties
 * and locks live in the state dir beside the repository (`<gitdir>/gitdav`), never in history.
 *
 * This is the live tree only: ./repository.ts serves it with its history (./history/) mounted at
 * `/.history`, and sync lives in ./sync.ts.
 */
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { baseName, joinPath, parentOf } from '../backend.js';
import type { Backend, ByteRange, ChangeSet, CopyOptions, Entry, MoveOptions, MutationOptions, PropertyMap, PropPatch, WriteOptions, WriteResult } from '../backend.js';
import { BackendError } from '../errors.js';
import type { CopyTarget, ListingVersioned, OpenedRead, ReadOpener, SyncCapable } from '../capabilities.js';
import { blobIdOf, openedBlob } from './read-open.js';
import { applyPatches, propsOf, SELF, serializeSidecar, SIDECAR, withProps } from '../sidecar.js';
import { listedBy, listedProps, markListed } from './listed-props.js';
import { entryOf } from './entry-of.js';
import { listMembers } from './list-members.js';
import { Committer, type Operation } from './committer.js';
import { EMPTY_TREE, ObjectStore } from './objects.js';
import { Refs } from './refs.js';
import { TreeEditor, isListable, type Slot } from './tree.js';
import { VolatileProps, isVolatile } from './volatile-props.js';
import { PathIndex } from './path-index.js';
import { Maintenance } from './maintenance.js';
import { SyncTokenKey } from '../sync-token-key.js';
import { LiveNames } from './live-names.js';
import { GitSync } from './sync.js';
import { readSidecar, propsKey, setProps, shallowDir } from './sidecars.js';
import { BlobWriter } from './blob-write.js';
import { defaultBranch, findOrInitRepository, removeOldTempFiles } from './gitdir.js';
import { closeTempArea, openTempArea, ownTempDir } from '../util/process-temp.js';
import { isTreeSource } from './tree-source.js';
import type { GitBackendOptions } from './options.js';
export type { GitBackendOptions } from './options.js';

const PLACEHOLDER_TEXT = serializeSidecar({});
const INDEX_SAVE_DELAY_MS = 2_000;

export class GitBackend implements Backend, SyncCapable, CopyTarget, ListingVersioned, ReadOpener {
  readonly name = 'git';
  readonly stateDir: string;
  readonly cheapChanges = true;
  readonly store: ObjectStore;
  readonly refs: Refs;
  readonly ref: string;
  private readonly committer: Committer;
  private readonly volatile: VolatileProps;
  readonly placeholder: { name: string; oid: string };
  readonly index: PathIndex;
  private readonly maintenance: Maintenance;
  private readonly tokenKey: SyncTokenKey;
  private readonly sync: GitSync;
  private readonly blobs: BlobWriter;
  private readonly names: LiveNames;
  /** The tip as the last look-up found it (the one a request's early check just made, usually). */
  private lastTree: { commit: string | null; tree: string; time: Date } | null = null;
  /** In listingVersion, so no version repeats in this process: bumped when tip() sees another commit
   * than the last it saw, and when a listing made up an entry (its answer must not be kept). */
  private epoch = 0;
  private indexSave: { timer?: NodeJS.Timeout; done?: Promise<void> } = {};

  private constructor(
    readonly gitdir: string,
    ref: string,
    placeholderOid: string,
    options: GitBackendOptions,
  ) {
    this.ref = ref;
    this.stateDir = join(gitdir, 'gitdav');
    this.store = new ObjectStore(gitdir);
    this.refs = new Refs(gitdir);
    this.volatile = new VolatileProps(join(this.stateDir, 'volatile-props.json'));
    this.placeholder = { name: SIDECAR, oid: placeholderOid };
    this.index = new PathIndex(this.store, join(this.stateDir, 'path-index.json'));
    this.maintenance = new Maintenance(gitdir);
    this.tokenKey = SyncTokenKey.in(this.stateDir);
    this.names = new LiveNames(options.reserved ?? []);
    this.blobs = new BlobWriter(this.store, ownTempDir(join(this.stateDir, 'tmp'))); // one folder per process: ../util/process-temp.ts
    this.sync = new GitSync({
      store: this.store,
      index: this.index,
      tokenKey: this.tokenKey,
      placeholder: this.placeholder,
      editor: () => this.editor(),
      entryIn: (editor, path, time) => this.entryIn(editor, path, time),
      toEntry: (path, slot, editor, time) => this.toEntry(path, slot, editor, time),
    });
    this.committer = new Committer({
      store: this.store,
      refs: this.refs,
      ref,
      placeholder: this.placeholder,
      identity: options.committer ?? { name: 'gitdav', email: 'gitdav@localhost' },
      defaultAuthor: options.author ?? { name: 'gitdav', email: 'gitdav@localhost' },
      statIn: (editor, path, time) => this.entryIn(editor, path, time),
      maxBatch: options.maxBatch,
      onCommit: async () => this.maintenance.afterCommit(),
    });
  }

  static async open(options: GitBackendOptions): Promise<GitBackend> {
    const gitdir = await findOrInitRepository(options.root);
    const refs = new Refs(gitdir); // reads only by name here (fresh): it pins nothing, so needs no close
    await refs.clearStaleLocks();
    const branch = options.branch ?? (await defaultBranch(refs));
    const store = new ObjectStore(gitdir);
    const placeholderOid = await store.writeBuffer('blob', Buffer.from(PLACEHOLDER_TEXT));
    const backend = new GitBackend(gitdir, `refs/heads/${branch}`, placeholderOid, options);
    await removeOldTempFiles(join(gitdir, 'objects'), /^tmp_gitdav_/);
    await openTempArea(join(backend.stateDir, 'tmp'));
    try {
      await backend.tokenKey.prepare();
      await backend.volatile.load();
      await backend.index.load();
      await backend.tip(); // builds or catches up the path index before the first request
    } catch (err) {
      await backend.release().catch(() => undefined); // lib/tenants.ts retries a failed open per request: hold nothing
      throw err;
    }
    // Saved after the start (for 100,000 paths the JSON costs a third of the build), in slices, by one worker
    // at a time, never mid-catch-up (PathIndex.save). A save that fails or is skipped is retried at close.
    backend.indexSave.timer = setTimeout(() => (backend.indexSave.done = backend.index.save({ ifFree: true }).catch(() => undefined)), INDEX_SAVE_DELAY_MS).unref();
    return backend;
  }

  // ---- reads --------------------------------------------------------------------------------------

  /** The branch tip: its commit (null for an empty repository), tree and time. */
  async tip(): Promise<{ commit: string | null; tree: string; time: Date }> {
    const commit = await this.refs.read(this.ref);
    await this.index.ensure(commit);
    const c = commit ? await this.store.readCommit(commit) : null;
    if (commit !== this.lastTree?.commit) this.epoch++; // a rewind B → C → B gives B's listings a new version
    return (this.lastTree = c ? { commit, tree: c.tree, time: new Date(c.author.timestamp * 1000) } : { commit: null, tree: EMPTY_TREE, time: new Date(0) });
  }

  /** Members are a function of the tip commit (tree, .davprops, dates from history: not a tree id alone) and the volatile properties. */
  async listingVersion(): Promise<string | null> {
    const t = await this.tip();
    return `${t.commit ?? t.tree}|${this.volatile.version()}|${this.epoch}`;
  }

  private async editor(): Promise<{ editor: TreeEditor; time: Date }> {
    const t = await this.tip();
    return { editor: new TreeEditor(this.store, t.tree, this.placeholder), time: t.time };
  }

  async stat(path: string): Promise<Entry | null> {
    if (this.names.isHidden(path)) return null;
    const { editor, time } = await this.editor();
    return this.entryIn(editor, path, time);
  }

  /** An entry as it is in an editor's state. */
  async entryIn(editor: TreeEditor, path: string, time: Date): Promise<Entry | null> {
    if (this.names.isHidden(path)) return null;
    const slot = await editor.get(path);
    if (!slot || !isListable(slot)) return null;
    return this.toEntry(path, slot, editor, time);
  }

  private async toEntry(path: string, slot: Slot, editor: TreeEditor, time: Date): Promise<Entry> {
    if (slot.kind === 'dir') return entryOf(path, 'collection', slot.oid ?? (await editor.flush(slot)), 0, time, this.index);
    return entryOf(path, 'file', slot.oid, await this.store.blobSize(slot.oid), time, this.index);
  }

  async *list(path: string): AsyncIterable<Entry> {
    const { editor, time } = await this.editor();
    const slot = await editor.get(path);
    if (!slot) throw new BackendError('NotFound', path);
    if (slot.kind !== 'dir') throw new BackendError('NotACollection', path);
    const propsOfFile = listedProps(this.store, editor, path, this.volatile); // PROPFIND allprop: once per folder
    const dirHidden = this.names.isHidden(path);
    const entries = listMembers(path, await editor.members(slot), time, {
      store: this.store,
      index: this.index,
      isHidden: (name) => this.names.isHiddenMember(dirHidden, path, name),
      toEntry: (p, child) => this.toEntry(p, child, editor, time),
      madeUp: () => this.epoch++, // a new listingVersion, so the PROPFIND cache doesn't keep this listing
    });
    for await (const entry of entries) {
      if (entry.kind === 'file') markListed(entry, propsOfFile);
      yield entry;
    }
  }

  /** A GET's target: the tip read and the path walked once; the body is the blob its ETag names (./read-open.ts). */
  openRead(path: string): Promise<OpenedRead | null> {
    return this.stat(path).then((entry) => entry && openedBlob(entry, this.store, this));
  }

  async read(path: string, range?: ByteRange, known?: Entry): Promise<Readable> {
    // An entry the caller just got names its blob: its ETag is the blob id, whatever happened since.
    const oid = blobIdOf(known, path);
    if (oid) return this.store.readBlob(oid, range);
    const { editor } = await this.editor();
    const slot = this.names.isHidden(path) ? null : await editor.get(path);
    if (!slot) throw new BackendError('NotFound', path);
    if (slot.kind !== 'file') throw new BackendError('IsACollection', path);
    return this.store.readBlob(slot.oid, range);
  }

  async props(path: string, known?: Entry): Promise<PropertyMap> {
    const listed = known?.path === path ? listedBy(known) : undefined;
    if (listed) return listed(path);
    const { editor } = await this.editor();
    const slot = this.names.isHidden(path) ? null : await editor.get(path);
    if (!slot) throw new BackendError('NotFound', path);
    const [dir, key] = propsKey(path, slot);
    const stored = propsOf(await readSidecar(this.store, editor, dir), key);
    for (const [k, v] of await this.volatile.get(path)) stored.set(k, v);
    return stored;
  }

  // ---- writes -------------------------------------------------------------------------------------

  async write(path: string, body: Readable, options: WriteOptions = {}): Promise<WriteResult> {
    this.names.assertWritable(path, true);
    await this.parentBeforeBlob(path);
    let oid: string;
    let basis: string | null | undefined;
    if (options.offset !== undefined) {
      ({ oid, basis } = await this.blobs.patched(path, body, options.offset, (await this.editor()).editor));
    } else {
      oid = await this.blobs.write(body, options.length);
    }
    return this.committer.submit({
      summary: options.summary ?? `PUT ${path}`,
      actor: options.actor,
      guard: options.guard,
      apply: async (editor) => {
        const parentSlot = await editor.get(parentOf(path));
        if (!parentSlot) throw new BackendError('ParentMissing', path);
        if (parentSlot.kind !== 'dir') throw new BackendError('NotACollection', parentOf(path));
        const existing = await editor.get(path);
        if (existing?.kind === 'dir') throw new BackendError('IsACollection', path);
        if (basis !== undefined && (existing?.oid ?? null) !== basis) {
          throw new BackendError('Conflict', path, 'the file changed while the partial write was uploading');
        }
        await editor.set(path, { kind: 'file', mode: existing?.mode ?? '100644', oid });
        return { entry: (await this.entryIn(editor, path, new Date()))!, created: !existing };
      },
    });
  }

  /**
   * Spares an orphan blob when the parent is missing: a hint, not the check (the write step checks the
   * state it changes). A parent in the tip last looked up (the request's early check) is taken as is.
   */
  private async parentBeforeBlob(path: string): Promise<void> {
    const dir = parentOf(path);
    const seen = this.lastTree;
    if (seen && !this.names.isHidden(dir)) {
      const slot = await new TreeEditor(this.store, seen.tree, this.placeholder).get(dir);
      if (slot?.kind === 'dir') return;
    }
    const parent = await this.stat(dir);
    if (!parent) throw new BackendError('ParentMissing', path);
    if (parent.kind !== 'collection') throw new BackendError('NotACollection', dir);
  }

  async remove(path: string, options: MutationOptions = {}): Promise<void> {
    this.names.assertWritable(path);
    if (path === '/') throw new BackendError('Forbidden', path, 'the root cannot be deleted');
    await this.submit(`DELETE ${path}`, options, async (editor) => {
      const slot = await editor.get(path);
      if (!slot || !isListable(slot)) throw new BackendError('NotFound', path);
      await editor.set(path, null);
      if (slot.kind === 'file') await setProps(this.store, editor, parentOf(path), baseName(path), new Map());
    });
    await this.volatile.removeWithin(path);
  }

  async mkcol(path: string, options: MutationOptions & { props?: PropPatch[] } = {}): Promise<Entry> {
    this.names.assertWritable(path, true);
    const own = applyPatches(new Map(), options.props ?? []);
    const sidecarOid = own.size ? await this.store.writeBuffer('blob', Buffer.from(serializeSidecar(withProps({}, SELF, own)))) : this.placeholder.oid;
    return this.submit(`MKCOL ${path}`, options, async (editor) => {
      const parent = await editor.get(parentOf(path));
      if (!parent) throw new BackendError('ParentMissing', path);
      if (parent.kind !== 'dir') throw new BackendError('NotACollection', parentOf(path));
      if (await editor.get(path)) throw new BackendError('AlreadyExists', path);
      await editor.set(path, { kind: 'dir', entries: new Map([[SIDECAR, { kind: 'file', mode: '100644', oid: sidecarOid }]]) });
      return (await this.entryIn(editor, path, new Date()))!;
    });
  }

  async copy(from: string, to: string, options: CopyOptions): Promise<WriteResult> {
    this.names.assertWritable(to, true);
    return this.submit(`COPY ${from} → ${to}`, options, (editor) => this.place(editor, from, to, options.depth, options.overwrite, false));
  }

  /**
   * COPY from another backend on this repository's objects (history: a restore). The old file or
   * folder becomes live again by id, with its old properties, in one commit; null for any other source.
   */
  async copyFrom(source: Backend, from: string, to: string, options: CopyOptions): Promise<WriteResult | null> {
    if (!isTreeSource(source) || source.store !== this.store) return null;
    this.names.assertWritable(to, true);
    const found = await source.treeOf(from, options.depth);
    if (!found) throw new BackendError('NotFound', from);
    const { slot: placed, fileProps } = found;
    return this.submit(`Restore ${to} from ${found.label}`, options, async (editor) => {
      const parent = await editor.get(parentOf(to));
      if (!parent) throw new BackendError('ParentMissing', to);
      if (parent.kind !== 'dir') throw new BackendError('NotACollection', parentOf(to));
      const dest = await editor.get(to);
      if (dest && !options.overwrite) throw new BackendError('AlreadyExists', to);
      await editor.set(to, placed.kind === 'file' ? { ...placed, mode: dest?.kind === 'file' ? dest.mode : placed.mode } : placed);
      if (fileProps || dest?.kind === 'file') await setProps(this.store, editor, parentOf(to), baseName(to), fileProps ?? new Map());
      return { entry: (await this.entryIn(editor, to, new Date()))!, created: !dest };
    });
  }

  async move(from: string, to: string, options: MoveOptions): Promise<WriteResult> {
    this.names.assertWritable(from);
    this.names.assertWritable(to, true);
    const result = await this.submit(`MOVE ${from} → ${to}`, options, (editor) => this.place(editor, from, to, 'infinity', options.overwrite, true));
    await this.volatile.move(from, to);
    return result;
  }

  /** COPY and MOVE inside one editor: subtrees are reused by id, never copied file by file. */
  private async place(editor: TreeEditor, from: string, to: string, depth: 0 | 'infinity', overwrite: boolean, move: boolean): Promise<WriteResult> {
    const source = await editor.get(from);
    if (!source || this.names.isHidden(from)) throw new BackendError('NotFound', from);
    const parent = await editor.get(parentOf(to));
    if (!parent) throw new BackendError('ParentMissing', to);
    if (parent.kind !== 'dir') throw new BackendError('NotACollection', parentOf(to));
    const dest = await editor.get(to);
    if (dest && !overwrite) throw new BackendError('AlreadyExists', to);
    const slot: Slot = source.kind === 'dir' && depth === 0 ? await shallowDir(this.store, editor, from) : source;
    const fileProps = source.kind === 'file' ? propsOf(await readSidecar(this.store, editor, parentOf(from)), baseName(from)) : null;
    if (move) {
      await editor.set(from, null);
      if (fileProps) await setProps(this.store, editor, parentOf(from), baseName(from), new Map());
    }
    await editor.set(to, slot);
    if (fileProps || dest?.kind === 'file') await setProps(this.store, editor, parentOf(to), baseName(to), fileProps ?? new Map());
    return { entry: (await this.entryIn(editor, to, new Date()))!, created: !dest };
  }

  async patchProps(path: string, patches: PropPatch[], options: MutationOptions = {}): Promise<void> {
    this.names.assertWritable(path, true);
    const durable = patches.filter((p) => !isVolatile(p.name));
    const volatile = patches.filter((p) => isVolatile(p.name));
    // Volatile ones (Windows' Win32* times) need the resource to exist, and never make a commit.
    if (volatile.length && !(await this.stat(path))) throw new BackendError('NotFound', path);
    if (durable.length || volatile.length === 0) {
      await this.submit(`PROPPATCH ${path}`, options, async (editor) => {
        const slot = await editor.get(path);
        if (!slot) throw new BackendError('NotFound', path);
        const [dir, key] = propsKey(path, slot);
        await setProps(this.store, editor, dir, key, applyPatches(propsOf(await readSidecar(this.store, editor, dir), key), durable));
      });
    } else if (options.guard) {
      await options.guard({ stat: (p) => this.stat(p) });
    }
    if (volatile.length) await this.volatile.patch(path, volatile);
  }

  async syncToken(path: string): Promise<string> {
    const entry = await this.stat(path);
    if (!entry || entry.kind !== 'collection') throw new BackendError('NotFound', path);
    return this.sync.token(path, entry.etag.slice(1, -1));
  }

  /** A sync token for a collection at `path` whose tree is `tree` (signed with this tree's key). */
  tokenFor(path: string, tree: string): Promise<string> {
    return this.sync.token(path, tree);
  }

  changes(path: string, since: string | undefined, limit = Infinity): Promise<ChangeSet> {
    return this.sync.changes(path, since, limit);
  }

  async close(): Promise<void> {
    await this.committer.idle();
    clearTimeout(this.indexSave.timer);
    await this.indexSave.done;
    await this.index.save();
    await this.release();
  }

  /** Closes what an open backend holds (packs, files pinned by util/pinned-file.ts, its temp area). */
  private async release(): Promise<void> {
    await this.store.packs.close();
    for (const pinned of [this.volatile, this.refs]) pinned.close();
    await closeTempArea(join(this.stateDir, 'tmp'));
  }

  private submit<R>(summary: string, options: MutationOptions, apply: Operation<R>['apply']): Promise<R> {
    return this.committer.submit({ summary: options.summary ?? summary, actor: options.actor, guard: options.guard, apply });
  }
}

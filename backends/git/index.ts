/**
 * The git backend: a (bare) git repository served as a folder tree. A change is acknowledged once it
 * is in the write journal (./journal-writer.ts); reads come from the live state, the branch tip with
 * the uncommitted records applied (./live-state.ts); each burst of writes becomes one commit on the
 * branch (./committer.ts). Dead properties live in
 * a `.davprops` sidecar per folder, committed with the content; Windows' volatile Win32* properties
 * and locks live in the state dir beside the repository (`<gitdir>/gitdav`), never in history.
 *
 * This is the live tree only: ./repository.ts serves it with its history (./history/) mounted at
 * `/.history`, and sync lives in ./sync.ts.
 */
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Actor, Backend, ByteRange, ChangeSet, CopyOptions, Entry, MoveOptions, MutationOptions, PropertyMap, PropPatch, WriteOptions, WriteResult } from '../backend.js';
import { BackendError } from '../errors.js';
import type { CopyTarget, ListingVersioned, OpenedRead, ReadOpener, StateChanges, SyncCapable, SyncState, UnlockAware } from '../capabilities.js';
import { blobIdOf, openedBlob } from './read-open.js';
import { propsOf, serializeSidecar, SIDECAR } from '../sidecar.js';
import { listedBy, listedProps, markListed } from './listed-props.js';
import { entryOf } from './entry-of.js';
import { listMembers } from './list-members.js';
import { Committer } from './committer.js';
import { JournalWriter } from './journal-writer.js';
import { Journal } from './journal/journal.js';
import { DEFAULT_BURST_RULES } from './journal/burst.js';
import { pathIndexVersions } from './journal/net-changes.js';
import { LiveState, type LiveView, type Tip } from './live-state.js';
import { FolderTags, lazyEtag } from './folder-etag.js';
import { SyncDeltas } from './sync-delta.js';
import { LiveWrites } from './writes.js';
import { EMPTY_TREE, ObjectStore } from './objects.js';
import { Refs } from './refs.js';
import { TreeEditor, isListable, type DirSlot, type Slot } from './tree.js';
import { VolatileProps } from './volatile-props.js';
import { PathIndex } from './path-index.js';
import { Maintenance } from './maintenance.js';
import { Mirrors } from './mirrors/mirrors.js';
import { SyncTokenKey } from '../sync-token-key.js';
import { LiveNames } from './live-names.js';
import { GitSync } from './sync.js';
import { readSidecar, propsKey } from './sidecars.js';
import { BlobWriter } from './blob-write.js';
import { defaultBranch, findOrInitRepository, removeOldTempFiles } from './gitdir.js';
import { closeTempArea, openTempArea, ownTempDir } from '../util/process-temp.js';
import type { GitBackendOptions } from './options.js';
export type { GitBackendOptions } from './options.js';

const PLACEHOLDER_TEXT = serializeSidecar({});
const INDEX_SAVE_DELAY_MS = 2_000;

export class GitBackend implements Backend, SyncCapable, CopyTarget, ListingVersioned, ReadOpener, UnlockAware {
  readonly name = 'git';
  readonly stateDir: string;
  readonly cheapChanges = true;
  readonly store: ObjectStore;
  readonly refs: Refs;
  readonly ref: string;
  private readonly committer: Committer;
  private readonly writer: JournalWriter;
  private readonly writes: LiveWrites;
  readonly live: LiveState;
  private readonly volatile: VolatileProps;
  readonly placeholder: { name: string; oid: string };
  readonly index: PathIndex;
  private readonly maintenance: Maintenance;
  /** Pushes after each commit to the mirrors in the state dir's mirrors.json (./mirrors/): never waited for. */
  readonly mirrors: Mirrors;
  private readonly tokenKey: SyncTokenKey;
  private readonly sync: GitSync;
  private readonly blobs: BlobWriter;
  private readonly names: LiveNames;
  /** The tip as the last look-up found it. */
  private lastTip: Tip | null = null;
  /** Per reading editor: paths an uncommitted record changed → its time (their getlastmodified). */
  private readonly journalTimes = new WeakMap<TreeEditor, ReadonlyMap<string, number>>();
  /** Per reading editor: the live view it reads (an edited folder's ETag names the view's records: ./folder-etag.ts). */
  private readonly views = new WeakMap<TreeEditor, LiveView>();
  private readonly folderTags: FolderTags;
  private readonly deltas: SyncDeltas;
  /** In listingVersion, so no version repeats in this process: bumped when tip() sees another commit
   * than the last it saw, and when a listing made up an entry (its answer must not be kept). */
  private epoch = 0;
  private indexSave: { timer?: NodeJS.Timeout; done?: Promise<void> } = {};

  private constructor(
    readonly gitdir: string,
    ref: string,
    placeholderOid: string,
    options: GitBackendOptions,
    readonly journal: Journal,
  ) {
    this.ref = ref;
    this.stateDir = join(gitdir, 'gitdav');
    this.store = new ObjectStore(gitdir);
    this.refs = new Refs(gitdir);
    this.volatile = new VolatileProps(join(this.stateDir, 'volatile-props.json'));
    this.placeholder = { name: SIDECAR, oid: placeholderOid };
    this.index = new PathIndex(this.store, join(this.stateDir, 'path-index.json'));
    this.maintenance = new Maintenance(gitdir);
    this.mirrors = new Mirrors(gitdir, this.stateDir, ref);
    this.tokenKey = SyncTokenKey.in(this.stateDir);
    this.names = new LiveNames(options.reserved ?? []);
    this.deltas = new SyncDeltas({ store: this.store, placeholder: this.placeholder, markerOf: (view, path, slot) => this.markerOf(view, path, slot) });
    this.folderTags = new FolderTags({ store: this.store, placeholder: this.placeholder, journalId: () => journal.id });
    this.blobs = new BlobWriter(this.store, ownTempDir(join(this.stateDir, 'tmp'))); // one folder per process: ../util/process-temp.ts
    this.sync = new GitSync({
      store: this.store,
      index: this.index,
      tokenKey: this.tokenKey,
      placeholder: this.placeholder,
      editor: () => this.editor(),
      entryIn: (editor, path, time) => this.entryIn(editor, path, time),
      toEntry: (path, slot, editor, time) => this.toEntry(path, slot, editor, time),
      stateOf: (path, slot, editor) => this.syncState(path, slot, editor),
      markerOf: (path, slot, editor) => this.markerOf(this.views.get(editor), path, slot),
    });
    this.live = new LiveState({ store: this.store, journal, placeholder: this.placeholder, tip: (fresh) => this.tip(fresh), published: (view) => this.committer.noticed(view) });
    this.committer = new Committer({
      store: this.store,
      refs: this.refs,
      ref,
      journal,
      live: this.live,
      placeholder: this.placeholder,
      identity: options.committer ?? { name: 'gitdav', email: 'gitdav@localhost' },
      defaultAuthor: options.author ?? { name: 'gitdav', email: 'gitdav@localhost' },
      rules: { windowMs: options.burstWindowMs ?? DEFAULT_BURST_RULES.windowMs, maxAgeMs: options.burstMaxAgeMs ?? DEFAULT_BURST_RULES.maxAgeMs },
      versionOf: pathIndexVersions(this.index),
      onCommit: () => (this.mirrors.afterCommit(), this.maintenance.afterCommit()),
    });
    this.writer = new JournalWriter({
      store: this.store,
      journal,
      live: this.live,
      placeholder: this.placeholder,
      statIn: (editor, path, time) => this.entryIn(editor, path, time),
      opened: (editor, view) => void this.views.set(editor, view),
      maxBatch: options.maxBatch,
      onAppended: (records) => this.committer.appended(records),
    });
    this.writes = new LiveWrites({
      store: this.store,
      placeholder: this.placeholder,
      names: this.names,
      blobs: this.blobs,
      volatile: this.volatile,
      writer: this.writer,
      entryIn: (editor, path, time) => this.entryIn(editor, path, time),
      stat: (path) => this.stat(path),
      editor: () => this.editor(),
      lastRoot: () => this.live.peek()?.root ?? null,
    });
  }

  static async open(options: GitBackendOptions): Promise<GitBackend> {
    const gitdir = await findOrInitRepository(options.root);
    const refs = new Refs(gitdir); // reads only by name here (fresh): it pins nothing, so needs no close
    await refs.clearStaleLocks();
    const branch = options.branch ?? (await defaultBranch(refs));
    const store = new ObjectStore(gitdir);
    const placeholderOid = await store.writeBuffer('blob', Buffer.from(PLACEHOLDER_TEXT));
    const stateDir = join(gitdir, 'gitdav');
    const backend = new GitBackend(gitdir, `refs/heads/${branch}`, placeholderOid, options, await Journal.open(stateDir));
    await removeOldTempFiles(join(gitdir, 'objects'), /^tmp_gitdav_/);
    await openTempArea(join(backend.stateDir, 'tmp'));
    try {
      await backend.tokenKey.prepare();
      await backend.volatile.load();
      await backend.index.load();
      await backend.tip(); // builds or catches up the path index before the first request
      await backend.committer.recover(); // a journal a crash left is committed first
      backend.mirrors.afterCommit(); // catches up mirrors a stop left behind
    } catch (err) {
      await backend.mirrors.close(); // not left in the metrics' set of open repositories
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
  async tip(fresh = false): Promise<Tip> {
    const commit = await this.refs.read(this.ref, 0, fresh);
    await this.index.ensure(commit);
    const c = commit ? await this.store.readCommit(commit) : null;
    if (commit !== this.lastTip?.commit) this.epoch++; // a rewind B → C → B gives B's listings a new version
    return (this.lastTip = c ? { commit, tree: c.tree, time: new Date(c.author.timestamp * 1000) } : { commit: null, tree: EMPTY_TREE, time: new Date(0) });
  }

  /**
   * Members are a function of the tip commit (tree, .davprops, dates from history: not a tree id
   * alone), the journal records applied on it, and the volatile properties.
   */
  async listingVersion(): Promise<string | null> {
    const v = await this.live.current();
    return `${v.tip.commit ?? v.tip.tree}|${v.appliedSeq}|${v.generation}|${this.volatile.version()}|${this.epoch}`;
  }

  /** The live state (tip + journal) in an editor of its own, and the tip's time. */
  private async editor(): Promise<{ editor: TreeEditor; time: Date; touched: Iterable<string>; view: LiveView }> {
    const v = await this.live.current();
    const editor = TreeEditor.fromSlot(this.store, v.root, this.placeholder);
    if (v.times.size) this.journalTimes.set(editor, v.times);
    this.views.set(editor, v);
    return { editor, time: v.tip.time, touched: v.paths, view: v };
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
    if (slot.kind === 'file') return this.journalTimed(editor, entryOf(path, 'file', slot.oid, await this.store.blobSize(slot.oid), time, this.index));
    if (slot.oid || editor.owns(slot)) return this.journalTimed(editor, entryOf(path, 'collection', slot.oid ?? editor.hash(slot), 0, time, this.index));
    // A folder the journal changed: named by its tip tree and the records that changed it, not hashed
    // (./folder-etag.ts); the view is the reader's, or the one a writer's batch was built on (its guards).
    const etag = await this.folderTags.etagOf(this.views.get(editor), path, slot);
    const entry = entryOf(path, 'collection', '', 0, time, this.index);
    if (etag) entry.etag = etag;
    else lazyEtag(entry, slot, () => TreeEditor.fromSlot(this.store, slot, this.placeholder)); // its tree id, when read
    return this.journalTimed(editor, entry);
  }

  /** An entry an uncommitted record changed is as old as that record (not as its last commit). */
  private journalTimed(editor: TreeEditor, entry: Entry): Entry {
    const t = this.journalTimes.get(editor)?.get(entry.path);
    if (t !== undefined) entry.modified = new Date(t);
    return entry;
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
      yield this.journalTimed(editor, entry);
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

  // ---- writes (./writes.ts) -----------------------------------------------------------------------

  write(path: string, body: Readable, options: WriteOptions = {}): Promise<WriteResult> {
    return this.writes.write(path, body, options);
  }

  async remove(path: string, options: MutationOptions = {}): Promise<void> {
    return this.writes.remove(path, options);
  }

  mkcol(path: string, options: MutationOptions & { props?: PropPatch[] } = {}): Promise<Entry> {
    return this.writes.mkcol(path, options);
  }

  copy(from: string, to: string, options: CopyOptions): Promise<WriteResult> {
    return this.writes.copy(from, to, options);
  }

  /** COPY from history (a restore by object id); null for a source on other objects. */
  copyFrom(source: Backend, from: string, to: string, options: CopyOptions): Promise<WriteResult | null> {
    return this.writes.copyFrom(source, from, to, options);
  }

  move(from: string, to: string, options: MoveOptions): Promise<WriteResult> {
    return this.writes.move(from, to, options);
  }

  patchProps(path: string, patches: PropPatch[], options: MutationOptions = {}): Promise<void> {
    return this.writes.patchProps(path, patches, options);
  }

  /** An UNLOCK: closes the burst a lock was held over (a marker record in the journal). */
  unlocked(path: string, lockedAt: number, actor?: Actor): Promise<void> {
    return this.writes.unlocked(path, lockedAt, actor);
  }

  async syncToken(path: string): Promise<string> {
    const { editor } = await this.editor();
    const slot = this.names.isHidden(path) ? null : await editor.get(path);
    if (!slot || slot.kind !== 'dir') throw new BackendError('NotFound', path);
    return this.sync.token(path, slot.oid ?? (await this.syncState(path, slot, editor)));
  }

  /**
   * A folder the journal changed has no tree yet: its token names its tip tree and the members changed
   * since (a small blob, ./sync-delta.ts), or else its tree, written (no fsync) so the token names one that exists.
   */
  private async syncState(path: string, slot: DirSlot, editor: TreeEditor): Promise<string> {
    const view = this.views.get(editor);
    return (view && (await this.deltas.write(view, path, slot))) ?? editor.flush(slot);
  }

  /** An edited folder's marker in a sync delta: its journal-named ETag without the quotes (./sync-delta.ts). */
  private async markerOf(view: LiveView | undefined, path: string, slot: DirSlot): Promise<string | null> {
    const etag = view ? await this.folderTags.etagOf(view, path, slot) : null;
    return etag?.slice(1, -1) ?? null;
  }

  /** A sync token for a collection at `path` whose tree is `tree` (signed with this tree's key). */
  tokenFor(path: string, tree: string): Promise<string> {
    return this.sync.token(path, tree);
  }

  changes(path: string, since: string | undefined, limit = Infinity): Promise<ChangeSet> {
    return this.sync.changes(path, since, limit);
  }

  changesSinceState(path: string, since: SyncState | undefined): Promise<StateChanges> {
    return this.sync.changesSinceState(path, since);
  }

  /** Commits everything in the journal now, open bursts too (tests, tools), and waits for it. */
  async commitJournal(): Promise<void> {
    await this.writer.idle();
    await this.committer.commitAll();
  }

  async close(): Promise<void> {
    await this.writer.idle();
    this.committer.stop();
    await this.committer.commitAll().catch((err: unknown) => console.error(`git: committing the journal at close failed: ${(err as Error).message}`));
    clearTimeout(this.indexSave.timer);
    await this.indexSave.done;
    await this.index.save();
    await this.mirrors.close();
    await this.release();
  }

  /** Closes what an open backend holds (packs, files pinned by util/pinned-file.ts, its temp area). */
  private async release(): Promise<void> {
    await this.store.packs.close();
    for (const pinned of [this.volatile, this.refs]) pinned.close();
    await this.journal.close();
    await closeTempArea(join(this.stateDir, 'tmp'));
  }
}

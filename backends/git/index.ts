/**
 * The git backend: a (bare) git repository served as a folder tree. Every change is a commit on one
 * branch, made by the group committer; reads come from the branch tip's tree. Dead properties live in
 * a `.davprops` sidecar per folder, committed with the content; Windows' volatile Win32* properties
 * and locks live in the state dir beside the repository (`<gitdir>/gitdav`), never in history.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import git from 'isomorphic-git';
import {
  baseName,
  joinPath,
  parentOf,
  type Backend,
  type ByteRange,
  type CopyOptions,
  type Entry,
  type MoveOptions,
  type MutationOptions,
  type PropertyMap,
  type ChangeSet,
  type PropPatch,
  type VersionInfo,
  type WriteOptions,
  type WriteResult,
} from '../backend.js';
import { mapOrdered } from '../util/concurrency.js';
import { BackendError } from '../errors.js';
import type { SyncCapable, Versioned } from '../capabilities.js';
import { applyPatches, parseSidecar, propsOf, SELF, serializeSidecar, SIDECAR, withProps, type Sidecar } from '../sidecar.js';
import { Committer, type Operation } from './committer.js';
import { EMPTY_TREE, mapWriteError, ObjectStore } from './objects.js';
import { Refs } from './refs.js';
import { TreeEditor, isListable, type DirSlot, type Slot } from './tree.js';
import { VolatileProps, isVolatile } from './volatile-props.js';
import { PathIndex } from './path-index.js';
import { History, HISTORY, isHistoryPath } from './history.js';
import { Maintenance } from './maintenance.js';
import { diffMembers } from '../sync-diff.js';
import { SyncTokenKey } from '../sync-token-key.js';
import type { TreeEntry } from './objects.js';
import { gitRefusesName } from './reserved-names.js';

/**
 * Sync tokens name the collection's tree, signed for the collection (../sync-token-key.ts): every old
 * tree stays in history, so tokens never expire. Unsigned tokens of older versions are refused (one
 * full resync).
 */
const SYNC_PREFIX = 'urn:x-gitdav:sync:';

export interface GitBackendOptions {
  /** A bare repository, a work tree with `.git`, or an empty/missing folder (a bare repo is made). */
  root: string;
  /** The branch served; default: HEAD's branch, `main` for a new repository. */
  branch?: string;
  /** Author when a request has no user. */
  author?: { name: string; email: string };
  /** Committer of every commit. */
  committer?: { name: string; email: string };
  /** Most requests folded into one commit (default 1000; 1 = a commit per request). */
  maxBatch?: number;
}

export { HISTORY } from './history.js';
const PLACEHOLDER_TEXT = serializeSidecar({});

export class GitBackend implements Backend, SyncCapable, Versioned {
  readonly name = 'git';
  readonly stateDir: string;
  readonly cheapChanges = true;
  readonly store: ObjectStore;
  readonly refs: Refs;
  readonly ref: string;
  private readonly committer: Committer;
  private readonly volatile: VolatileProps;
  private readonly placeholder: { name: string; oid: string };
  readonly index: PathIndex;
  private readonly history: History;
  private readonly maintenance: Maintenance;
  private readonly tokenKey: SyncTokenKey;

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
    this.history = new History({
      store: this.store,
      refs: this.refs,
      index: this.index,
      placeholder: this.placeholder,
      current: async () => (await this.tip()).time,
      liveKind: async (p) => (await this.stat(p))?.kind ?? null,
    });
    this.history.setLiveNames(async (p) => {
      const names: string[] = [];
      for await (const e of this.list(p)) names.push(baseName(e.path));
      return names;
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
    const refs = new Refs(gitdir);
    await refs.clearStaleLocks();
    const branch = options.branch ?? (await defaultBranch(refs));
    const store = new ObjectStore(gitdir);
    const placeholderOid = await store.writeBuffer('blob', Buffer.from(PLACEHOLDER_TEXT));
    const backend = new GitBackend(gitdir, `refs/heads/${branch}`, placeholderOid, options);
    await fsp.mkdir(join(backend.stateDir, 'tmp'), { recursive: true });
    await removeOldTempFiles(join(gitdir, 'objects'), /^tmp_gitdav_/);
    await removeOldTempFiles(join(backend.stateDir, 'tmp'), /./);
    await backend.tokenKey.prepare();
    await backend.volatile.load();
    await backend.index.load();
    await backend.tip(); // builds or catches up the path index before the first request
    await backend.index.save();
    return backend;
  }

  // ---- reads --------------------------------------------------------------------------------------

  /** The branch tip: its commit (null for an empty repository), tree and time. */
  async tip(): Promise<{ commit: string | null; tree: string; time: Date }> {
    const commit = await this.refs.read(this.ref);
    await this.index.ensure(commit);
    if (!commit) return { commit: null, tree: EMPTY_TREE, time: new Date(0) };
    const c = await this.store.readCommit(commit);
    return { commit, tree: c.tree, time: new Date(c.author.timestamp * 1000) };
  }

  private async editor(): Promise<{ editor: TreeEditor; time: Date }> {
    const t = await this.tip();
    return { editor: new TreeEditor(this.store, t.tree, this.placeholder), time: t.time };
  }

  async stat(path: string): Promise<Entry | null> {
    if (isHistoryPath(path)) return this.history.stat(path);
    if (isHidden(path)) return null;
    const { editor, time } = await this.editor();
    return this.entryIn(editor, path, time);
  }

  /** An entry as it is in an editor's state. */
  async entryIn(editor: TreeEditor, path: string, time: Date): Promise<Entry | null> {
    if (isHidden(path)) return null;
    const slot = await editor.get(path);
    if (!slot || !isListable(slot)) return null;
    return this.toEntry(path, slot, editor, time);
  }

  private async toEntry(path: string, slot: Slot, editor: TreeEditor, time: Date): Promise<Entry> {
    // Times come from the path index: when this path last changed, and when it first appeared.
    const last = this.index.lastChange(path);
    const first = this.index.firstChange(path);
    const modified = last && last.time * 1000 <= time.getTime() ? new Date(last.time * 1000) : time;
    const created = first ? new Date(first.time * 1000) : undefined;
    if (slot.kind === 'dir') {
      const oid = slot.oid ?? (await editor.flush(slot));
      return { path, kind: 'collection', size: 0, etag: `"${oid}"`, modified, created };
    }
    return { path, kind: 'file', size: await this.store.blobSize(slot.oid), etag: `"${slot.oid}"`, modified, created };
  }

  async *list(path: string): AsyncIterable<Entry> {
    if (isHistoryPath(path)) {
      yield* this.history.list(path);
      return;
    }
    const { editor, time } = await this.editor();
    const slot = await editor.get(path);
    if (!slot) throw new BackendError('NotFound', path);
    if (slot.kind !== 'dir') throw new BackendError('NotACollection', path);
    const members = [...(await editor.entries(slot))].filter(([name, child]) => !isHidden(joinPath(path, name)) && isListable(child));
    // Sizes come from object headers: several reads in flight, so a 10,000-member folder lists fast.
    yield* mapOrdered(members, 16, ([name, child]) => {
      const childPath = joinPath(path, name);
      return this.toEntry(childPath, child, editor, time).catch((err: unknown): Entry => {
        // A broken object fails its own GET (500, naming it); the folder still lists whole.
        if (err instanceof BackendError && err.code === 'Corrupt') return { path: childPath, kind: 'file' as const, size: 0, etag: `"${child.kind === 'file' ? child.oid : 'corrupt'}"`, modified: time };
        throw err;
      });
    });
    if (path === '/') {
      const history = await this.history.stat(`/${HISTORY}`);
      if (history) yield history;
    }
  }

  async read(path: string, range?: ByteRange, known?: Entry): Promise<Readable> {
    // An entry the caller just got names its blob: its ETag is the blob id, whatever happened since.
    const oid = known?.path === path && known.kind === 'file' ? /^"([0-9a-f]{40})"$/.exec(known.etag)?.[1] : undefined;
    if (oid) return this.store.readBlob(oid, range);
    if (isHistoryPath(path)) {
      const found = await this.history.slotOf(path);
      if (!found) throw new BackendError('NotFound', path);
      if (found.slot.kind !== 'file') throw new BackendError('IsACollection', path);
      return this.store.readBlob(found.slot.oid, range);
    }
    const { editor } = await this.editor();
    const slot = isHidden(path) ? null : await editor.get(path);
    if (!slot) throw new BackendError('NotFound', path);
    if (slot.kind !== 'file') throw new BackendError('IsACollection', path);
    return this.store.readBlob(slot.oid, range);
  }

  async props(path: string): Promise<PropertyMap> {
    if (isHistoryPath(path)) {
      // A snapshot shows the properties as they were; virtual folders and file versions have none.
      if (path.startsWith(`/${HISTORY}/versions/`) || path.split('/').length <= 4) return new Map();
      const found = await this.history.slotOf(path);
      if (!found?.editor || !found.inner) return new Map();
      const [dir, key] = propsKey(found.inner, found.slot);
      return propsOf(await this.readSidecar(found.editor, dir), key);
    }
    const { editor } = await this.editor();
    const slot = isHidden(path) ? null : await editor.get(path);
    if (!slot) throw new BackendError('NotFound', path);
    const [dir, key] = propsKey(path, slot);
    const stored = propsOf(await this.readSidecar(editor, dir), key);
    for (const [k, v] of this.volatile.get(path)) stored.set(k, v);
    return stored;
  }

  // ---- writes -------------------------------------------------------------------------------------

  async write(path: string, body: Readable, options: WriteOptions = {}): Promise<WriteResult> {
    assertWritable(path, true);
    const parent = await this.stat(parentOf(path));
    if (!parent) throw new BackendError('ParentMissing', path);
    if (parent.kind !== 'collection') throw new BackendError('NotACollection', parentOf(path));
    let oid: string;
    let basis: string | null | undefined;
    if (options.offset !== undefined) {
      ({ oid, basis } = await this.writePatchedBlob(path, body, options.offset));
    } else {
      oid = await this.writeBlob(body, options.length);
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

  /** Streams a body into a blob; a body of unknown length is spooled first (a blob's header needs it). */
  private async writeBlob(body: Readable, length?: number): Promise<string> {
    if (length !== undefined) return this.store.writeStream('blob', length, body);
    const spool = join(this.stateDir, 'tmp', randomBytes(8).toString('hex'));
    try {
      await pipeline(body, fs.createWriteStream(spool, { flags: 'wx' })).catch((err: unknown) => Promise.reject(mapWriteError(err)));
      const { size } = await fsp.stat(spool);
      return await this.store.writeStream('blob', size, fs.createReadStream(spool));
    } finally {
      await fsp.rm(spool, { force: true });
    }
  }

  /** A new blob: the current one's bytes with the body written over them from `offset`. */
  private async writePatchedBlob(path: string, body: Readable, offset: number): Promise<{ oid: string; basis: string | null }> {
    const { editor } = await this.editor();
    const slot = await editor.get(path);
    const basis = slot?.kind === 'file' ? slot.oid : null;
    const oldSize = basis ? await this.store.blobSize(basis) : 0;
    if (offset > oldSize) throw new BackendError('InvalidRange', path, `offset ${offset} is past the end (${oldSize})`);
    const spool = join(this.stateDir, 'tmp', randomBytes(8).toString('hex'));
    try {
      await pipeline(body, fs.createWriteStream(spool, { flags: 'wx' })).catch((err: unknown) => Promise.reject(mapWriteError(err)));
      const chunk = (await fsp.stat(spool)).size;
      const size = Math.max(oldSize, offset + chunk);
      const store = this.store;
      async function* joined(): AsyncGenerator<Buffer> {
        if (basis && offset > 0) yield* (await store.readBlob(basis, { start: 0, end: offset - 1 })) as AsyncIterable<Buffer>;
        yield* fs.createReadStream(spool) as AsyncIterable<Buffer>;
        if (basis && offset + chunk < oldSize) yield* (await store.readBlob(basis, { start: offset + chunk, end: oldSize - 1 })) as AsyncIterable<Buffer>;
      }
      return { oid: await this.store.writeStream('blob', size, joined()), basis };
    } finally {
      await fsp.rm(spool, { force: true });
    }
  }

  async remove(path: string, options: MutationOptions = {}): Promise<void> {
    assertWritable(path);
    if (path === '/') throw new BackendError('Forbidden', path, 'the root cannot be deleted');
    await this.submit(`DELETE ${path}`, options, async (editor) => {
      const slot = await editor.get(path);
      if (!slot || !isListable(slot)) throw new BackendError('NotFound', path);
      await editor.set(path, null);
      if (slot.kind === 'file') await this.setProps(editor, parentOf(path), baseName(path), new Map());
    });
    await this.volatile.removeWithin(path);
  }

  async mkcol(path: string, options: MutationOptions & { props?: PropPatch[] } = {}): Promise<Entry> {
    assertWritable(path, true);
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
    assertWritable(to, true);
    if (isHistoryPath(from)) return this.restore(from, to, options);
    return this.submit(`COPY ${from} → ${to}`, options, (editor) => this.place(editor, from, to, options.depth, options.overwrite, false));
  }

  /** COPY out of history: the old file or folder (by id, with its old properties) becomes live again. */
  private async restore(from: string, to: string, options: CopyOptions): Promise<WriteResult> {
    const found = await this.history.slotOf(from);
    if (!found) throw new BackendError('NotFound', from);
    let fileProps: PropertyMap | null = null;
    if (found.slot.kind === 'file' && found.editor && found.inner) {
      fileProps = propsOf(await this.readSidecar(found.editor, parentOf(found.inner)), baseName(found.inner));
    }
    const source: Slot = found.slot.kind === 'dir' && options.depth === 0 ? await this.shallowDir(found.editor!, found.inner!) : found.slot;
    return this.submit(`Restore ${to} from ${found.commit.oid.slice(0, 7)}`, options, async (editor) => {
      const parent = await editor.get(parentOf(to));
      if (!parent) throw new BackendError('ParentMissing', to);
      if (parent.kind !== 'dir') throw new BackendError('NotACollection', parentOf(to));
      const dest = await editor.get(to);
      if (dest && !options.overwrite) throw new BackendError('AlreadyExists', to);
      await editor.set(to, source.kind === 'file' ? { ...source, mode: dest?.kind === 'file' ? dest.mode : source.mode } : source);
      if (fileProps || dest?.kind === 'file') await this.setProps(editor, parentOf(to), baseName(to), fileProps ?? new Map());
      return { entry: (await this.entryIn(editor, to, new Date()))!, created: !dest };
    });
  }

  /** A folder with only its own properties (COPY with Depth: 0). */
  private async shallowDir(editor: TreeEditor, path: string): Promise<Slot> {
    const own = propsOf(await this.readSidecar(editor, path), SELF);
    const sidecarOid = await this.store.writeBuffer('blob', Buffer.from(serializeSidecar(withProps({}, SELF, own))));
    return { kind: 'dir', entries: new Map([[SIDECAR, { kind: 'file', mode: '100644', oid: sidecarOid }]]) };
  }

  async move(from: string, to: string, options: MoveOptions): Promise<WriteResult> {
    assertWritable(from);
    assertWritable(to, true);
    const result = await this.submit(`MOVE ${from} → ${to}`, options, (editor) => this.place(editor, from, to, 'infinity', options.overwrite, true));
    await this.volatile.move(from, to);
    return result;
  }

  /** COPY and MOVE inside one editor: subtrees are reused by id, never copied file by file. */
  private async place(editor: TreeEditor, from: string, to: string, depth: 0 | 'infinity', overwrite: boolean, move: boolean): Promise<WriteResult> {
    const source = await editor.get(from);
    if (!source || isHidden(from)) throw new BackendError('NotFound', from);
    const parent = await editor.get(parentOf(to));
    if (!parent) throw new BackendError('ParentMissing', to);
    if (parent.kind !== 'dir') throw new BackendError('NotACollection', parentOf(to));
    const dest = await editor.get(to);
    if (dest && !overwrite) throw new BackendError('AlreadyExists', to);
    const slot: Slot = source.kind === 'dir' && depth === 0 ? await this.shallowDir(editor, from) : source;
    const fileProps = source.kind === 'file' ? propsOf(await this.readSidecar(editor, parentOf(from)), baseName(from)) : null;
    if (move) {
      await editor.set(from, null);
      if (fileProps) await this.setProps(editor, parentOf(from), baseName(from), new Map());
    }
    await editor.set(to, slot);
    if (fileProps || dest?.kind === 'file') await this.setProps(editor, parentOf(to), baseName(to), fileProps ?? new Map());
    return { entry: (await this.entryIn(editor, to, new Date()))!, created: !dest };
  }

  async patchProps(path: string, patches: PropPatch[], options: MutationOptions = {}): Promise<void> {
    assertWritable(path, true);
    const durable = patches.filter((p) => !isVolatile(p.name));
    const volatile = patches.filter((p) => isVolatile(p.name));
    // Volatile ones (Windows' Win32* times) need the resource to exist, and never make a commit.
    if (volatile.length && !(await this.stat(path))) throw new BackendError('NotFound', path);
    if (durable.length || volatile.length === 0) {
      await this.submit(`PROPPATCH ${path}`, options, async (editor) => {
        const slot = await editor.get(path);
        if (!slot) throw new BackendError('NotFound', path);
        const [dir, key] = propsKey(path, slot);
        await this.setProps(editor, dir, key, applyPatches(propsOf(await this.readSidecar(editor, dir), key), durable));
      });
    } else if (options.guard) {
      await options.guard({ stat: (p) => this.stat(p) });
    }
    if (volatile.length) await this.volatile.patch(path, volatile);
  }

  async syncToken(path: string): Promise<string> {
    const entry = await this.stat(path);
    if (!entry || entry.kind !== 'collection') throw new BackendError('NotFound', path);
    return this.token(path, entry.etag.slice(1, -1));
  }

  private async token(path: string, tree: string): Promise<string> {
    return SYNC_PREFIX + (await this.tokenKey.sign(path, tree));
  }

  /** The tree a token names, if it was issued for this collection of this repository. */
  private async tokenTree(path: string, token: string): Promise<string | null> {
    const tree = token.startsWith(SYNC_PREFIX) ? await this.tokenKey.verify(path, token.slice(SYNC_PREFIX.length)) : null;
    return tree && /^[0-9a-f]{40}$/.test(tree) && (await this.store.typeOf(tree)) === 'tree' ? tree : null;
  }

  async changes(path: string, since: string | undefined, limit = Infinity): Promise<ChangeSet> {
    if (isHistoryPath(path)) throw new BackendError('NotFound', path);
    const { editor, time } = await this.editor();
    const slot = await editor.get(path);
    if (!slot || slot.kind !== 'dir') throw new BackendError('NotFound', path);
    const currentTree = slot.oid ?? (await editor.flush(slot));
    let previousTree: string | null = null;
    if (since !== undefined) {
      previousTree = await this.tokenTree(path, since);
      if (!previousTree) throw new BackendError('InvalidSyncToken', path, `unknown sync token ${since}, or one issued for another collection`);
    }
    if (previousTree) {
      const fast = await this.changesFromIndex(path, editor, slot, previousTree, currentTree, time, limit);
      if (fast) return fast;
    }
    const before = previousTree ? await this.memberState(previousTree) : { entries: new Map<string, TreeEntry>(), sidecar: {} as Sidecar, prints: new Map<string, string>() };
    const now = await this.memberState(currentTree);
    const diff = diffMembers(before.prints, now.prints, limit);
    let token = await this.token(path, currentTree);
    if (diff.truncated) {
      // A tree for exactly the state the reported changes reach: the token stays exact.
      const entries: TreeEntry[] = [];
      const sidecar: Sidecar = now.sidecar[SELF] ? { [SELF]: now.sidecar[SELF]! } : {};
      for (const [name, print] of diff.reached) {
        const side = now.prints.get(name) === print ? now : before;
        entries.push(side.entries.get(name)!);
        if (side.sidecar[name]) sidecar[name] = side.sidecar[name]!;
      }
      entries.push({ mode: '100644', name: SIDECAR, oid: await this.store.writeBuffer('blob', Buffer.from(serializeSidecar(sidecar))) });
      token = await this.token(path, await this.store.writeTree(entries));
    }
    const changed: Entry[] = [];
    for (const name of diff.changed) {
      const e = await this.entryIn(editor, joinPath(path, name), time);
      if (e) changed.push(e);
    }
    return { token, changed, removed: diff.removed.map((n) => joinPath(path, n)), truncated: diff.truncated };
  }

  /**
   * Changes since a token in O(change): the path index says at which commit the collection had the
   * token's tree, and which of its members changed after it. Null when it cannot tell (a token for a
   * truncated state, history the index does not cover) or the answer would need truncating: then the
   * full comparison of the two trees answers.
   */
  private async changesFromIndex(
    path: string,
    editor: TreeEditor,
    slot: DirSlot,
    previousTree: string,
    currentTree: string,
    time: Date,
    limit: number,
  ): Promise<ChangeSet | null> {
    const at = this.index.commitWhere(path, previousTree);
    if (at < 0) return null;
    const names = new Set<string>();
    let sidecarTouched = false;
    for (const p of this.index.changedAfter(at)) {
      if (parentOf(p) !== path || p === path) continue;
      const name = baseName(p);
      if (name === SIDECAR) sidecarTouched = true;
      else names.add(name);
    }
    const now = await editor.entries(slot);
    const old = await new TreeEditor(this.store, previousTree, this.placeholder).entries({ kind: 'dir', oid: previousTree });
    let oldSide: Sidecar = {};
    let newSide: Sidecar = {};
    if (sidecarTouched) {
      const oldOid = this.index.oidAt(joinPath(path, SIDECAR), at);
      if (oldOid) oldSide = parseSidecar((await this.store.readRaw(oldOid)).content.toString('utf8'));
      newSide = await this.readSidecar(editor, path);
      for (const key of new Set([...Object.keys(oldSide), ...Object.keys(newSide)])) {
        if (key !== SELF && JSON.stringify(oldSide[key] ?? {}) !== JSON.stringify(newSide[key] ?? {})) names.add(key);
      }
    }
    const changed: Entry[] = [];
    const removed: string[] = [];
    for (const name of [...names].sort()) {
      const cur = now.get(name);
      const was = old.get(name);
      const propsMoved = sidecarTouched && JSON.stringify(oldSide[name] ?? {}) !== JSON.stringify(newSide[name] ?? {});
      if (!cur) {
        if (was) removed.push(joinPath(path, name));
      } else if (!was || cur.kind !== was.kind || (cur.kind === 'file' ? cur.oid !== (was as typeof cur).oid : cur.oid !== (was as DirSlot).oid) || propsMoved) {
        if (isListable(cur)) changed.push(await this.toEntry(joinPath(path, name), cur, editor, time));
      }
    }
    if (changed.length + removed.length > limit) return null;
    return { token: await this.token(path, currentTree), changed, removed, truncated: false };
  }

  /** A collection tree's members (sidecar aside) with fingerprints: object id, plus a file's properties. */
  private async memberState(tree: string): Promise<{ entries: Map<string, TreeEntry>; sidecar: Sidecar; prints: Map<string, string> }> {
    const entries = new Map<string, TreeEntry>();
    let sidecar: Sidecar = {};
    for (const e of await this.store.readTree(tree)) {
      if (e.name === SIDECAR) {
        const editor = new TreeEditor(this.store, tree, this.placeholder);
        sidecar = await this.readSidecar(editor, '/');
      } else if (e.mode !== '160000') entries.set(e.name, e);
    }
    const prints = new Map<string, string>();
    for (const [name, e] of entries) prints.set(name, e.mode === '40000' ? e.oid : `${e.oid} ${JSON.stringify(sidecar[name] ?? {})}`);
    return { entries, sidecar, prints };
  }

  async versionOf(path: string): Promise<VersionInfo | null> {
    if (isHistoryPath(path)) return null;
    const last = this.index.lastChange(path);
    if (!last) return null;
    return { name: last.oid.slice(0, 7), creator: last.author, path: `/${HISTORY}/versions${path}/${History.versionName(path, last)}` };
  }

  async close(): Promise<void> {
    await this.committer.idle();
    await this.index.save();
    await this.store.packs.close();
  }

  private submit<R>(summary: string, options: MutationOptions, apply: Operation<R>['apply']): Promise<R> {
    return this.committer.submit({ summary: options.summary ?? summary, actor: options.actor, guard: options.guard, apply });
  }

  // ---- sidecars -----------------------------------------------------------------------------------

  private async readSidecar(editor: TreeEditor, dir: string): Promise<Sidecar> {
    const slot = await editor.get(joinPath(dir, SIDECAR));
    if (!slot || slot.kind !== 'file') return {};
    const chunks: Buffer[] = [];
    for await (const c of await this.store.readBlob(slot.oid)) chunks.push(c as Buffer);
    try {
      return parseSidecar(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return {}; // a sidecar broken by hand loses its properties, not the folder
    }
  }

  private async setProps(editor: TreeEditor, dir: string, key: string, props: PropertyMap): Promise<void> {
    const sidecar = await this.readSidecar(editor, dir);
    if (props.size === 0 && !(key in sidecar)) return;
    const oid = await this.store.writeBuffer('blob', Buffer.from(serializeSidecar(withProps(sidecar, key, props))));
    await editor.set(joinPath(dir, SIDECAR), { kind: 'file', mode: '100644', oid });
  }
}

function propsKey(path: string, slot: Slot): [string, string] {
  return slot.kind === 'dir' ? [path, SELF] : [parentOf(path), baseName(path)];
}

/** Bookkeeping names clients never see: the sidecars (and, in the live tree, anything at /.history). */
function isHidden(path: string): boolean {
  const segs = path.split('/');
  return segs.includes(SIDECAR) || segs[1] === HISTORY;
}

/**
 * Refuses writes to history and to the sidecars; `creates`: also names git would refuse in a tree
 * (./reserved-names.ts). DELETE and a MOVE's source skip that check, so such a name written by native
 * git can still be removed or renamed.
 */
function assertWritable(path: string, creates = false): void {
  const segs = path.split('/');
  if (segs[1] === HISTORY) throw new BackendError('ReadOnly', path, 'history is read-only; COPY from it to restore');
  if (segs.includes(SIDECAR)) throw new BackendError('Forbidden', path, `${SIDECAR} is a reserved name`);
  if (!creates) return;
  for (const seg of path === '/' ? [] : segs.slice(1)) {
    const why = gitRefusesName(seg);
    if (why) throw new BackendError('Forbidden', path, `${why}; git refuses such a path in a repository, so this server does too`);
  }
}

/** HEAD's branch; if that does not exist (a fresh `git init` says master), `main` or the only branch. */
async function defaultBranch(refs: Refs): Promise<string> {
  const head = (await refs.headTarget())?.replace(/^refs\/heads\//, '');
  if (head && (await refs.read(`refs/heads/${head}`))) return head;
  const branches = [...(await refs.list('refs/heads/')).keys()].map((r) => r.slice('refs/heads/'.length));
  if (branches.includes('main')) return 'main';
  if (branches.length === 1) return branches[0]!;
  return head || 'main';
}

/** The git dir for `root`: a bare repository, `root/.git`, or a new bare repository in an empty folder. */
async function findOrInitRepository(root: string): Promise<string> {
  const isGitDir = async (dir: string) =>
    (await fsp.stat(join(dir, 'objects')).catch(() => null))?.isDirectory() === true &&
    (await fsp.stat(join(dir, 'HEAD')).catch(() => null))?.isFile() === true;
  if (await isGitDir(root)) return root;
  if (await isGitDir(join(root, '.git'))) return join(root, '.git');
  await fsp.mkdir(root, { recursive: true });
  const names = await fsp.readdir(root);
  if (names.length > 0) {
    throw new Error(`${root} is not empty and not a git repository; use --backend fs to serve it as a folder, or point --root at a repository`);
  }
  await git.init({ fs, gitdir: root, bare: true, defaultBranch: 'main' });
  return root;
}

async function removeOldTempFiles(dir: string, pattern: RegExp, olderThanMs = 3600_000): Promise<void> {
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (!pattern.test(name)) continue;
    const st = await fsp.stat(join(dir, name)).catch(() => null);
    if (st?.isFile() && Date.now() - st.mtimeMs > olderThanMs) await fsp.rm(join(dir, name), { force: true });
  }
}

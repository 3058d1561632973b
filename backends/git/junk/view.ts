/**
 * The live tree with its junk files (./rules.ts) kept out of history: a Backend around the live
 * GitBackend that stores files with junk names in ./store.ts (beside the repository, never committed)
 * and forwards everything else, so the git write path needs to know nothing of junk.
 *
 * - A junk file is read, listed (after the live members of its folder), stat'ed, locked (locks live in
 *   the DAV layer), given properties and removed like any file; its parent folder must exist in the
 *   live tree. Folders are never junk: MKCOL always reaches the live tree.
 * - DELETE, MOVE and COPY of a folder take its junk files along; MOVE or COPY of a junk file to an
 *   ordinary name (or the reverse) crosses over: read, write on the other side, remove.
 * - A file with a junk name that is in the tree already (committed before, or pushed) is shown until a
 *   junk file of that name is written, which then stands in front of it; DELETE removes both.
 * - listingVersion includes the junk store's version, so a cached listing never misses a junk change.
 * - Sync tokens are the live tree's: junk files are not reported by sync-collection.
 */
import type { Readable } from 'node:stream';
import { parentOf, type Backend, type ByteRange, type ChangeSet, type CopyOptions, type Entry, type GuardView, type MoveOptions } from '../../backend.js';
import type { MutationOptions, PropertyMap, PropPatch, WriteOptions, WriteResult } from '../../backend.js';
import { BackendError } from '../../errors.js';
import type { CopyTarget, ListingVersioned, OpenedRead, ReadOpener, SyncCapable, UnlockAware } from '../../capabilities.js';
import { applyPatches } from '../../sidecar.js';
import type { JunkRules } from './rules.js';
import type { JunkRecord, JunkStore } from './store.js';

/** What the view needs of the live tree: the GitBackend's capabilities. */
export type LiveTree = Backend & SyncCapable & CopyTarget & ListingVersioned & ReadOpener & Partial<UnlockAware>;

export class JunkView implements Backend, SyncCapable, CopyTarget, ListingVersioned, ReadOpener {
  readonly name: string;
  readonly stateDir: string;
  readonly cheapChanges: boolean;
  /** Forwarded where the live tree has it (an UNLOCK closes a burst). */
  readonly unlocked?: UnlockAware['unlocked'];
  /** Forwarded where the live tree has it, with the junk members added. */
  readonly listVersioned?: ListingVersioned['listVersioned'];
  /** Forwarded where the live tree has it (the UID index's catch-up). */
  readonly changesSinceState?: SyncCapable['changesSinceState'];

  constructor(
    readonly live: LiveTree,
    readonly rules: JunkRules,
    readonly store: JunkStore,
  ) {
    this.name = live.name;
    this.stateDir = live.stateDir;
    this.cheapChanges = live.cheapChanges;
    if (live.unlocked) this.unlocked = (path, lockedAt, actor) => live.unlocked!(path, lockedAt, actor);
    if (live.changesSinceState) this.changesSinceState = (path, since) => live.changesSinceState!(path, since);
    if (live.listVersioned) this.listVersioned = (path, options) => this.listVersionedWithJunk(path, options);
  }

  /**
   * The junk record at `path`, if `path` has a junk name under the current rules, one is stored, and
   * its folder is (still) a folder of the live tree (`liveStat`: the tree as the caller sees it). Junk
   * of a folder gone (removed by a push, or by a server with other rules) is never served, and dropped.
   */
  private async junk(path: string, liveStat: (p: string) => Promise<Entry | null> = (p) => this.live.stat(p)): Promise<JunkRecord | undefined> {
    if (!this.rules.isJunk(path)) return undefined;
    const r = this.store.get(path);
    if (!r) return undefined;
    if ((await liveStat(parentOf(path)))?.kind === 'collection') return r;
    this.dropGone(parentOf(path));
    return undefined;
  }

  /** Removes, in the background, the junk of folder `dir` (and below) if it is not in the live tree. */
  private dropGone(dir: string): void {
    void this.store.detached(() => this.store.removeWithin(dir, async () => (await this.live.stat(dir))?.kind !== 'collection')).catch(() => undefined);
  }

  /** Records of folder `dir` that the current rules still call junk; the rest are dropped in the background. */
  private junkMembers(dir: string): [string, JunkRecord][] {
    const members = this.store.membersOf(dir);
    const kept = members.filter(([p]) => this.rules.isJunk(p));
    if (kept.length !== members.length) {
      void this.store.detached(() => this.store.change([dir], (records) => {
        let changed = false;
        for (const p of [...records.keys()]) if (!this.rules.isJunk(p)) changed = records.delete(p) || changed;
        return changed;
      })).catch(() => undefined);
    }
    return kept;
  }

  /** Whether `path` is served from the junk store (then no version of the tree describes its bytes). */
  async serves(path: string): Promise<boolean> {
    return (await this.junk(path)) !== undefined;
  }

  private guardView(): GuardView {
    return { stat: (p) => this.stat(p) };
  }

  /** A guard's view of the live tree (`v`, as a write there sees it) with the junk files in front. */
  private withJunk(v: GuardView): GuardView {
    return {
      stat: async (p) => {
        const r = await this.junk(p, (q) => v.stat(q));
        return r ? this.store.entryOf(p, r) : v.stat(p);
      },
    };
  }

  // ---- reads --------------------------------------------------------------------------------------

  async stat(path: string): Promise<Entry | null> {
    const r = await this.junk(path);
    return r ? this.store.entryOf(path, r) : this.live.stat(path);
  }

  async *list(path: string): AsyncIterable<Entry> {
    const junk = this.junkMembers(path);
    const names = new Set(junk.map(([p]) => p));
    for await (const e of this.live.list(path)) if (!names.has(e.path)) yield e;
    for (const [p, r] of junk) yield this.store.entryOf(p, r);
  }

  async read(path: string, range?: ByteRange, known?: Entry): Promise<Readable> {
    const r = await this.junk(path);
    if (!r) return this.live.read(path, range, known);
    // The bytes `known` names (content is addressed by hash), as git reads the blob its ETag names:
    // never other bytes under that entry's length and digest. They are kept while an entry names them;
    // once replaced and unnamed they are gone (NotFound). Without `known`: the current bytes.
    const id = /^"junk-([0-9a-f]{64})"$/.exec(known?.etag ?? '')?.[1];
    const handle = id !== undefined ? await this.store.openContent(path, id) : (await this.store.open(path, r)).handle;
    if (!handle) throw new BackendError('NotFound', path, 'this version of the junk file was replaced meanwhile');
    return handle.createReadStream({ ...(range ? { start: range.start, end: range.end } : {}), autoClose: true });
  }

  async openRead(path: string): Promise<OpenedRead | null> {
    const found = await this.junk(path);
    if (!found) return this.live.openRead(path);
    const { handle, record: r } = await this.store.open(path, found);
    let taken = false;
    return {
      entry: this.store.entryOf(path, r),
      body: async (range) => {
        taken = true;
        return handle.createReadStream({ ...(range ? { start: range.start, end: range.end } : {}), autoClose: true });
      },
      close: () => {
        if (!taken) void handle.close().catch(() => undefined);
        taken = true;
      },
    };
  }

  async props(path: string, known?: Entry): Promise<PropertyMap> {
    const r = await this.junk(path);
    return r ? this.store.propsOf(r) : this.live.props(path, known);
  }

  async listingVersion(path: string, options?: { maxMembers?: number }): Promise<string | null> {
    const v = await this.live.listingVersion(path, options);
    return v === null ? null : `${v}|junk.${this.store.version(path)}`;
  }

  private async listVersionedWithJunk(path: string, options?: { maxMembers?: number }): Promise<{ entries: Entry[]; version: string } | null> {
    const version = this.store.version(path);
    const junk = this.junkMembers(path);
    const r = await this.live.listVersioned!(path, options);
    if (!r) return null;
    const names = new Set(junk.map(([p]) => p));
    const entries = [...r.entries.filter((e) => !names.has(e.path)), ...junk.map(([p, j]) => this.store.entryOf(p, j))];
    return { entries, version: `${r.version}|junk.${version}` };
  }

  changes(path: string, since: string | undefined, limit?: number): Promise<ChangeSet> {
    return this.live.changes(path, since, limit);
  }

  syncToken(path: string): Promise<string> {
    return this.live.syncToken(path);
  }

  // ---- writes -------------------------------------------------------------------------------------

  async write(path: string, body: Readable, options: WriteOptions = {}): Promise<WriteResult> {
    if (!this.rules.isJunk(path)) return this.live.write(path, body, options);
    if (options.offset !== undefined && (options.offset !== 0 || (await this.junk(path)))) {
      body.resume();
      throw new BackendError('InvalidRange', path, 'a junk file (kept out of history) is written whole, not in parts');
    }
    await this.parentExists(path);
    const existing = await this.live.stat(path);
    if (existing?.kind === 'collection') throw new BackendError('IsACollection', path);
    const { record, created } = await this.store.put(path, body, async () => {
      await this.parentExists(path);
      await options.guard?.(this.guardView());
    });
    return { entry: this.store.entryOf(path, record), created: created && !existing };
  }

  async remove(path: string, options: MutationOptions = {}): Promise<void> {
    if (await this.junk(path)) {
      await this.store.change([parentOf(path)], async (records) => {
        await options.guard?.(this.guardView());
        return records.delete(path);
      });
      // A committed file of that name stood behind it: it goes too (else DELETE would bring it back).
      if ((await this.live.stat(path))?.kind === 'file') await this.live.remove(path, { actor: options.actor, summary: options.summary });
      return;
    }
    await this.live.remove(path, options);
    if (this.store.hasWithin(path)) await this.store.removeWithin(path);
  }

  async mkcol(path: string, options?: MutationOptions & { props?: PropPatch[] }): Promise<Entry> {
    if (await this.junk(path)) throw new BackendError('AlreadyExists', path);
    // A new folder has no junk: what is stored for a folder of that name that went away is dropped.
    if (this.store.hasWithin(path)) await this.store.removeWithin(path, async () => !(await this.live.stat(path)));
    return this.live.mkcol(path, options);
  }

  copy(from: string, to: string, options: CopyOptions): Promise<WriteResult> {
    return this.place(from, to, options, options.depth, false);
  }

  move(from: string, to: string, options: MoveOptions): Promise<WriteResult> {
    return this.place(from, to, options, 'infinity', true);
  }

  /** A restore from history; one into a junk name goes file by file (null: the caller copies across). */
  async copyFrom(source: Backend, from: string, to: string, options: CopyOptions): Promise<WriteResult | null> {
    if (this.rules.isJunk(to)) return null;
    const result = await this.live.copyFrom(source, from, to, options);
    if (result && this.store.hasWithin(to)) await this.store.removeWithin(to);
    return result;
  }

  async patchProps(path: string, patches: PropPatch[], options: MutationOptions = {}): Promise<void> {
    if (!(await this.junk(path))) return this.live.patchProps(path, patches, options);
    await this.store.change([parentOf(path)], async (records) => {
      await options.guard?.(this.guardView());
      const r = records.get(path);
      if (!r) throw new BackendError('NotFound', path);
      records.set(path, { ...r, props: Object.fromEntries(applyPatches(new Map(Object.entries(r.props)), patches)) });
      return true;
    });
  }

  async close(): Promise<void> {
    this.store.close();
  }

  // ---- helpers ------------------------------------------------------------------------------------

  /** COPY or MOVE: within the live tree (junk files of a folder follow), within junk, or across. */
  private async place(from: string, to: string, options: MutationOptions & { overwrite: boolean }, depth: 0 | 'infinity', move: boolean): Promise<WriteResult> {
    const source = await this.junk(from);
    if ((await this.junk(to)) && !options.overwrite) throw new BackendError('AlreadyExists', to);
    if (source && this.rules.isJunk(to)) return this.junkToJunk(from, to, source, options, move);
    if (source) {
      // A junk file to an ordinary name: it becomes a file of the tree (a commit). A folder there is
      // replaced, as by an ordinary file (Overwrite: T), once the request's checks have passed.
      if (options.overwrite && (await this.live.stat(to))?.kind === 'collection') {
        await options.guard?.(this.guardView());
        await this.live.remove(to, { actor: options.actor, summary: options.summary });
        if (this.store.hasWithin(to)) await this.store.removeWithin(to);
      }
      const result = await this.live.write(to, await this.read(from), { actor: options.actor, summary: options.summary, guard: this.overwriteGuard(to, options) });
      if (move) await this.store.change([parentOf(from)], (records) => records.delete(from));
      return result;
    }
    if (this.rules.isJunk(to) && (await this.live.stat(from))?.kind === 'file') {
      // An ordinary file to a junk name (an editor's backup, `x` → `x.swp`): it leaves the tree.
      const result = await this.write(to, await this.live.read(from), { actor: options.actor, guard: this.overwriteGuard(to, options) });
      if (move) await this.live.remove(from, { actor: options.actor, summary: options.summary });
      return result;
    }
    const live = async () => {
      const result = move ? await this.live.move(from, to, options as MoveOptions) : await this.live.copy(from, to, { ...(options as CopyOptions), depth });
      if (this.store.hasWithin(to)) await this.store.removeWithin(to); // what the destination held is gone
      if (depth === 'infinity' && this.store.hasWithin(from)) await this.store.copyWithin(from, to, move);
      return result;
    };
    // A folder moved with junk: the store is held until its junk has followed, so no lookup in
    // between finds `from` gone and drops that junk (dropGone waits for the lock, then sees it moved).
    return move && this.store.hasWithin(from) ? this.store.during(live) : live();
  }

  private async junkToJunk(from: string, to: string, source: JunkRecord, options: MutationOptions & { overwrite: boolean }, move: boolean): Promise<WriteResult> {
    await this.parentExists(to);
    const behind = await this.live.stat(to);
    if (behind && !options.overwrite) throw new BackendError('AlreadyExists', to);
    if (behind?.kind === 'collection') {
      // Nothing is removed before the request's checks have passed.
      await options.guard?.(this.guardView());
      await this.live.remove(to, { actor: options.actor });
      if (this.store.hasWithin(to)) await this.store.removeWithin(to);
    }
    let created = false;
    await this.store.change([parentOf(from), parentOf(to)], async (records) => {
      await options.guard?.(this.guardView());
      const r = records.get(from) ?? source;
      created = !records.has(to) && !behind;
      if (move) records.delete(from);
      const now = Date.now();
      records.set(to, move ? r : { ...r, created: now, modified: now });
      return true;
    });
    const entry = await this.stat(to);
    return { entry: entry!, created };
  }

  /** The caller's guard, and RFC 4918's Overwrite: F (a destination there is refused). */
  private overwriteGuard(to: string, options: MutationOptions & { overwrite: boolean }) {
    return async (live: GuardView) => {
      const view = this.withJunk(live); // a junk source (or destination) is seen where it is: in the store
      await options.guard?.(view);
      if (!options.overwrite && (await view.stat(to))) throw new BackendError('AlreadyExists', to);
    };
  }

  /** A junk file's folder must be in the live tree, as for any PUT (409 otherwise). */
  private async parentExists(path: string): Promise<void> {
    const parent = await this.live.stat(parentOf(path));
    if (!parent) throw new BackendError('ParentMissing', path);
    if (parent.kind !== 'collection') throw new BackendError('NotACollection', parentOf(path));
  }
}

/**
 * A user's own backend with other trees mounted into it (./table.ts; today other users' shared
 * collections): the way a share reaches its grantee without any check spread over the DAV methods.
 * Paths under a mount point are translated to the owner's backend and every entry coming back is
 * translated to the grantee's path; folders that lead to a mount point (`/shared`, `/shared/alice`)
 * appear when they do not exist.
 *
 * A read-only mount refuses every write (Forbidden → 403). A read-write mount passes writes inside the
 * shared collection to the owner's backend (so they are commits in the owner's repository, authored by
 * the grantee), with the caller's guard run against the owner's state, translated; the shared
 * collection itself cannot be removed, moved or replaced by the grantee. COPY and MOVE between
 * different backends go resource by resource (./cross-copy.ts), unless the target can take the copy
 * from that source itself (CopyTarget: git restoring from its own history).
 *
 * A mount may also be a read-only part of the tree itself that another backend serves (`readOnlyPart`:
 * git's history at `/.history`): nothing is granted or owned there, and writes are refused in its words.
 */
import type { Readable } from 'node:stream';
import { baseName, joinPath } from '../backend.js';
import type { Actor, Backend, ByteRange, ChangeSet, CopyOptions, Entry, GuardView, MoveOptions, MutationOptions } from '../backend.js';
import type { PropertyMap, PropPatch, Quota, VersionInfo, WriteOptions, WriteResult } from '../backend.js';
import { BackendError } from '../errors.js';
import { changesSinceStateOf, isCopyTarget, isHistoryLog, isListingVersioned, isQuotaAware, isSyncCapable, isUnlockAware, isVersioned, openForRead, readByName, type UnlockAware } from '../capabilities.js';
import type { HistoryLog, HistoryReader, ListingVersioned, Location, OpenedRead, ReadOpener, ShareAware, StateChanges, SyncCapable, SyncState, Versioned } from '../capabilities.js';
import { copyAcross, moveAcross } from './cross-copy.js';
import { escapeRegExp, sameTreeChecks } from './view-checks.js';
import { ShareProps } from './share-props.js';
import { MountTable, outwardPath, rebase, type Mount, type Route } from './table.js';
import { join } from 'node:path';

/** Where a resource is stored: the backend that owns it and its path there. */
interface Place {
  backend: Backend;
  path: string;
  mount: Mount | null;
}

/**
 * Every power of the capabilities is forwarded, so the view has them all; where the tree a path lies
 * in lacks one, the call answers as that tree would (no quota, no version, a collection that cannot
 * sync).
 */
export class MountView implements Backend, SyncCapable, Versioned, ShareAware, ListingVersioned, ReadOpener, UnlockAware, HistoryLog {
  /**
   * The grantee's own properties of the shared collections (colour, name), over the owner's. Opened
   * on first use, so that only a view with shares in it opens the file: one tree has several views
   * (the repository's own, the user's with shares, the anonymous one), and two caches of one file
   * would race.
   */
  private sharePropsFile?: ShareProps;
  readonly name: string;
  readonly stateDir: string;
  readonly cheapChanges: boolean;

  constructor(
    private readonly own: Backend,
    /** Its mounts are replaced when the shares change (Tenants); read on every call. */
    readonly table: MountTable<Mount> = new MountTable(),
  ) {
    this.name = own.name;
    this.stateDir = own.stateDir;
    this.cheapChanges = isSyncCapable(own) && own.cheapChanges;
    if (isQuotaAware(own)) this.quota = (path) => this.quotaOf(path);
  }

  private get shareProps(): ShareProps {
    return (this.sharePropsFile ??= new ShareProps(join(this.own.stateDir, 'share-props.json')));
  }

  private route(path: string): Route<Mount> | null {
    return this.table.route(path);
  }

  /**
   * Only where the view adds nothing to the own tree's listing: not inside a mount (a share, whose
   * properties the grantee's share-props overlay, or history) and with no mount point below (those
   * members are the view's). The table's generation is part of the key, so a key made before a
   * change of the shares is never made again after it.
   */
  async listingVersion(path: string, options?: { maxMembers?: number }): Promise<string | null> {
    if (this.route(path) || this.table.below(path).length > 0 || !isListingVersioned(this.own)) return null;
    const generation = this.table.generation;
    const v = await this.own.listingVersion(path, options);
    return v === null || this.route(path) || this.table.below(path).length > 0 ? null : `${v}|${generation}`;
  }

  /** As listingVersion: only where the view adds nothing to the own tree's listing. */
  async listVersioned(path: string, options?: { maxMembers?: number }): Promise<{ entries: Entry[]; version: string } | null> {
    if (this.route(path) || this.table.below(path).length > 0 || !isListingVersioned(this.own) || !this.own.listVersioned) return null;
    const generation = this.table.generation;
    const r = await this.own.listVersioned(path, options);
    return r === null || this.route(path) || this.table.below(path).length > 0 ? null : { entries: r.entries, version: `${r.version}|${generation}` };
  }

  /** What the user may do with a shared resource; null for their own. */
  shareAccess(path: string): 'read' | 'write' | null {
    const mount = this.route(path)?.mount;
    return mount && mount.readOnlyPart === undefined ? mount.access : null;
  }

  /** The name of the user a shared resource belongs to; undefined for the user's own. */
  ownerOf(path: string): string | undefined {
    return this.route(path)?.mount.owner;
  }

  /**
   * Where a resource is stored, for identities that must be the same whoever asks (one calendar's
   * UIDs, whether Alice or a grantee writes into it).
   */
  locate(path: string): Location {
    const r = this.route(path);
    return r && r.mount.readOnlyPart === undefined ? { stateDir: r.mount.target.stateDir, path: r.inner } : { stateDir: this.own.stateDir, path };
  }

  /**
   * The backend a write of `path` goes to, refused where the grantee may not write: a read-only
   * share, a folder that only leads to shares, or (`whole`) the shared collection itself.
   */
  private async writable(path: string, whole = false): Promise<Place> {
    const r = this.route(path);
    if (!r) {
      if (await this.onlyVirtual(path)) this.readOnly(path);
      return { backend: this.own, path, mount: null };
    }
    if (r.mount.readOnlyPart !== undefined) throw new BackendError('ReadOnly', path, r.mount.readOnlyPart);
    if (r.mount.access !== 'write') this.readOnly(path);
    if (whole && path === r.mount.at) throw new BackendError('Forbidden', path, 'the shared collection itself is its owner’s to remove or replace');
    return { backend: r.mount.target, path: r.inner, mount: r.mount };
  }

  /** Where a read of `path` goes. */
  private readable(path: string): Place {
    const r = this.route(path);
    return r ? { backend: r.mount.target, path: r.inner, mount: r.mount } : { backend: this.own, path, mount: null };
  }

  /**
   * A caller's options for a step on `place`'s backend: the guard sees the state that step is about to
   * change in the caller's paths (paths elsewhere are looked up as they are now).
   */
  private inward<O extends MutationOptions>(place: Place, options: O | undefined): O | undefined {
    const guard = options?.guard;
    const mount = place.mount;
    if (!guard && !mount) return options;
    return {
      ...(options as O),
      guard: async (view: GuardView) => {
        // A share taken away (or made read-only) while a request was under way: its write stops here,
        // in the step that would have made it.
        if (mount && !this.table.all().some((m) => m.access === 'write' && m.target === mount.target && m.path === mount.path && m.at === mount.at)) {
          throw new BackendError('NotGranted', mount.at, 'this collection is no longer shared with you for writing');
        }
        await guard?.({
          stat: async (p) => {
            const r = this.route(p);
            if ((r ? r.mount.target : this.own) !== place.backend) return this.stat(p);
            if (!r) return view.stat(p);
            const e = await view.stat(r.inner);
            return e ? this.outward(r.mount, e) : null;
          },
        });
      },
    } as O;
  }

  /**
   * Runs a call on a mount's backend; its errors name the grantee's paths, never the owner's (which
   * say more of the owner's tree than was shared).
   */
  private async via<T>(mount: Mount | null, call: Promise<T>): Promise<T> {
    if (!mount) return call;
    try {
      return await call;
    } catch (err) {
      if (!(err instanceof BackendError)) throw err;
      if (mount.path === '/') {
        // Every path is within a mounted root: translate the error's own path (and the default
        // message that names it), never guess at other text.
        const path = rebase(err.path, '/', mount.at);
        const message = err.message === `${err.code}: ${err.path}` ? `${err.code}: ${path}` : err.message;
        throw new BackendError(err.code, path, message, { cause: err });
      }
      const inward = new RegExp(`${escapeRegExp(mount.path)}(?=/|$|[^\\w.~-])`, 'g');
      const translate = (text: string) => text.replace(inward, mount.at);
      throw new BackendError(err.code, translate(err.path), translate(err.message), { cause: err });
    }
  }

  private outward(mount: Mount, entry: Entry): Entry {
    // Copies the property descriptors, not their values: a lazy ETag getter (a big git folder) stays lazy.
    const copy = Object.defineProperties({}, Object.getOwnPropertyDescriptors(entry)) as Entry;
    Object.defineProperty(copy, 'path', { value: outwardPath(mount, entry.path), enumerable: true, writable: true, configurable: true });
    return copy;
  }

  private readOnly(path: string): never {
    throw new BackendError('NotGranted', path, 'a shared collection is read-only for you');
  }

  async stat(path: string): Promise<Entry | null> {
    const r = this.route(path);
    if (r) {
      const e = await r.mount.target.stat(r.inner);
      return e ? this.outward(r.mount, e) : null;
    }
    const own = await this.own.stat(path);
    if (own || this.table.below(path).length === 0) return own;
    // A folder that only leads to shares: read-only and empty of its own.
    return { path, kind: 'collection', size: 0, etag: `"shares-${this.table.below(path).join(',')}"`, modified: new Date(0) };
  }

  async *list(path: string): AsyncIterable<Entry> {
    const r = this.route(path);
    if (r) {
      for await (const e of r.mount.target.list(r.inner)) yield this.outward(r.mount, e);
      return;
    }
    // A mount point shadows the user's own entry of that name (requests there reach the share); a
    // folder on the way to one is the user's own if it exists, else a virtual one.
    const below = this.table.below(path);
    if (below.length === 0) {
      yield* this.own.list(path);
      return;
    }
    const shadowed = new Set(below.filter((name) => this.table.mountedAt(joinPath(path, name))));
    const own = new Set<string>();
    if (await this.own.stat(path)) {
      for await (const e of this.own.list(path)) {
        const name = baseName(e.path);
        if (shadowed.has(name)) continue;
        own.add(name);
        yield e;
      }
    }
    for (const name of below) {
      if (own.has(name)) continue;
      const e = await this.stat(joinPath(path, name));
      if (e) yield e;
    }
  }

  read(path: string, range?: ByteRange, known?: Entry): Promise<Readable> {
    const r = this.route(path);
    if (!r) return this.own.read(path, range, known);
    return this.via(r.mount, r.mount.target.read(r.inner, range, known ? { ...known, path: r.inner } : undefined));
  }

  /** The own tree's or a mount's target opened once where it can (capabilities.ts OpenedRead). */
  async openRead(path: string): Promise<OpenedRead | null> {
    const r = this.route(path);
    if (!r && this.table.below(path).length === 0) return openForRead(this.own, path);
    if (!r) return this.stat(path).then((entry) => entry && readByName(this, entry)); // the view adds to it
    const opened = await this.via(r.mount, openForRead(r.mount.target, r.inner));
    if (!opened) return null;
    return { entry: this.outward(r.mount, opened.entry), body: (range) => this.via(r.mount, opened.body(range)), close: () => opened.close() };
  }

  async props(path: string, known?: Entry): Promise<PropertyMap> {
    const r = this.route(path);
    if (r) {
      const owners = await this.via(r.mount, r.mount.target.props(r.inner, known ? { ...known, path: r.inner } : undefined));
      return path === r.mount.at && r.mount.readOnlyPart === undefined ? this.shareProps.overlay(r.mount.at, owners) : owners;
    }
    if (this.table.below(path).length && !(await this.own.stat(path))) return new Map();
    return this.own.props(path, known);
  }

  async write(path: string, body: Readable, options?: WriteOptions): Promise<WriteResult> {
    const place = await this.writable(path, true);
    return this.outwardResult(place, await this.via(place.mount, place.backend.write(place.path, body, this.inward(place, options))));
  }

  async remove(path: string, options?: MutationOptions): Promise<void> {
    // The user's own folder may go (the shares below it stay where they are); a virtual one may not.
    const place = await this.writable(path, true);
    return this.via(place.mount, place.backend.remove(place.path, this.inward(place, options)));
  }

  async mkcol(path: string, options?: MutationOptions & { props?: PropPatch[] }): Promise<Entry> {
    const r = this.route(path);
    if (!r) return this.own.mkcol(path, options); // MKCOL of a virtual folder: it exists (405)
    const place = await this.writable(path, true);
    return this.outward(r.mount, await this.via(place.mount, place.backend.mkcol(place.path, this.inward(place, options))));
  }

  async copy(from: string, to: string, options: CopyOptions): Promise<WriteResult> {
    const source = this.readable(from);
    const target = await this.writable(to, true);
    const mount = target.mount ?? source.mount;
    if (source.backend === target.backend) {
      sameTreeChecks(source, target, 'copy');
      return this.outwardResult(target, await this.via(mount, target.backend.copy(source.path, target.path, this.inward(target, options)!)));
    }
    // A read-only part of this tree names its paths in its own errors only where it answers alone.
    const across = target.mount ?? (source.mount?.readOnlyPart === undefined ? source.mount : null);
    if (isCopyTarget(target.backend)) {
      const taken = await this.via(across, target.backend.copyFrom(source.backend, source.path, target.path, this.inward(target, options)!));
      if (taken) return this.outwardResult(target, taken);
    }
    return this.outwardResult(target, await this.via(across, copyAcross(source.backend, source.path, target.backend, target.path, this.inward(target, options)!)));
  }

  async move(from: string, to: string, options: MoveOptions): Promise<WriteResult> {
    const source = await this.writable(from, true);
    const target = await this.writable(to, true);
    const mount = target.mount ?? source.mount;
    if (source.backend === target.backend) {
      sameTreeChecks(source, target, 'move');
      return this.outwardResult(target, await this.via(mount, target.backend.move(source.path, target.path, this.inward(target, options)!)));
    }
    // The source's removal is checked against the source's state, the copy against the target's.
    const across = { ...options, depth: 'infinity' as const };
    const guarded = (place: Place) => this.inward(place, across)!;
    const result = await this.via(mount, moveAcross(source.backend, source.path, target.backend, target.path, guarded(target), guarded(source)));
    return this.outwardResult(target, result);
  }

  async patchProps(path: string, patches: PropPatch[], options?: MutationOptions): Promise<void> {
    // The shared collection's own properties (name, colour, order) stay its owner's: the grantee's
    // are a layer of their own (read-only shares too: they only change how the grantee sees it).
    const r = this.route(path);
    if (r && path === r.mount.at && r.mount.readOnlyPart === undefined) {
      await options?.guard?.({ stat: (p) => this.stat(p) });
      return this.shareProps.patch(r.mount.at, patches);
    }
    const place = await this.writable(path);
    return this.via(place.mount, place.backend.patchProps(place.path, patches, this.inward(place, options)));
  }

  /**
   * QuotaAware only where the user's own tree is (the folder backend; a git repository has no quota):
   * a capability the view always claimed would advertise quota properties it cannot answer.
   */
  readonly quota?: (path: string) => Promise<Quota | null>;

  private async quotaOf(path: string): Promise<Quota | null> {
    const r = this.route(path);
    if (r && r.mount.access === 'read') return null;
    const place = this.readable(path);
    return isQuotaAware(place.backend) ? place.backend.quota(place.path) : null;
  }

  private outwardResult(place: Place, result: WriteResult): WriteResult {
    return place.mount ? { ...result, entry: this.outward(place.mount, result.entry) } : result;
  }

  changes(path: string, since: string | undefined, limit?: number): Promise<ChangeSet> {
    return this.syncCall(path, (backend, inner) => backend.changes(inner, since, limit));
  }

  /** Always here: where the collection's backend lacks it, its tokens serve as the states. */
  changesSinceState(path: string, since: SyncState | undefined): Promise<StateChanges> {
    return this.syncCall(path, (backend, inner) => changesSinceStateOf(backend, inner, since));
  }

  syncToken(path: string): Promise<string> {
    return this.syncCall(path, (backend, inner) => backend.syncToken(inner));
  }

  /** A sync call on the backend storing `path`, at its path there; a change set's paths made the view's. */
  private async syncCall<T>(path: string, call: (backend: Backend & SyncCapable, inner: string) => Promise<T>): Promise<T> {
    const r = this.route(path);
    const backend = r ? r.mount.target : this.own;
    if (!isSyncCapable(backend)) throw new BackendError('NotFound', path, 'this collection cannot sync');
    const got = await this.via(r?.mount ?? null, call(backend, r ? r.inner : path));
    if (!r || typeof got !== 'object' || got === null) return got;
    const set = got as T & { changed: Entry[]; removed: string[] };
    return { ...set, changed: set.changed.map((e) => this.outward(r.mount, e)), removed: set.removed.map((p) => outwardPath(r.mount, p)) };
  }

  async versionOf(path: string): Promise<VersionInfo | null> {
    // The owner's history is not the grantee's to browse: shared files show no version links.
    return this.route(path) || !isVersioned(this.own) ? null : this.own.versionOf(path);
  }

  /** As versionOf: the history pages' reader for the user's own tree only (GitRepository has it). */
  historyOf(path: string): HistoryReader | null {
    return this.route(path) || !isHistoryLog(this.own) ? null : this.own.historyOf(path);
  }

  /**
   * An UNLOCK reaches the tree the path is stored in, at its path there (git: a lock held over a whole
   * burst closes it); a tree that does not listen, or a read-only part (history), hears nothing.
   */
  async unlocked(path: string, lockedAt: number, actor?: Actor): Promise<void> {
    const place = this.readable(path);
    if (!isUnlockAware(place.backend) || place.mount?.readOnlyPart !== undefined) return;
    await this.via(place.mount, place.backend.unlocked(place.path, lockedAt, actor));
  }

  /** The grantee's own backend is closed by its owner, Tenants; the targets by theirs. */
  async close(): Promise<void> {
    this.sharePropsFile?.close();
  }

  /** A folder that exists only on the way to a mount point, not in the user's own tree. */
  private async onlyVirtual(path: string): Promise<boolean> {
    return this.table.below(path).length > 0 && !(await this.own.stat(path));
  }
}

/**
 * A user's own backend with other users' shared collections mounted into it, read-only: the way a
 * share reaches its grantee without any check spread over the DAV methods. Paths under a mount point
 * are translated to the owner's backend and every entry coming back is translated to the grantee's
 * path; folders that lead to a mount point (`/shared`, `/shared/alice`) appear when they do not exist.
 * Every write into a mount is refused (Forbidden → 403), so the owner's locks and history are never
 * touched by the grantee.
 */
import type { Readable } from 'node:stream';
import {
  baseName,
  isWithin,
  joinPath,
  type Backend,
  type ByteRange,
  type ChangeSet,
  type CopyOptions,
  type Entry,
  type MoveOptions,
  type MutationOptions,
  type PropertyMap,
  type PropPatch,
  type Quota,
  type VersionInfo,
  type WriteOptions,
  type WriteResult,
} from './backend.js';
import { BackendError } from './errors.js';

export interface Mount {
  /** Where the grantee sees it, e.g. `/shared/alice/docs` or `/calendars/bob/alice~calendar`. */
  at: string;
  /** The owner's backend and the shared collection's path in it. */
  target: Backend;
  path: string;
}

export class SharedView implements Backend {
  readonly name: string;
  readonly stateDir: string;
  readonly cheapChanges?: boolean;

  constructor(
    private readonly own: Backend,
    /** Replaced when the shares change (Tenants); read on every call. */
    public mounts: readonly Mount[] = [],
  ) {
    this.name = own.name;
    this.stateDir = own.stateDir;
    this.cheapChanges = own.cheapChanges;
  }

  /** The mount a path lies in, if any, with the path in the owner's backend. */
  private route(path: string): { mount: Mount; inner: string } | null {
    for (const mount of this.mounts) {
      if (isWithin(path, mount.at)) return { mount, inner: mount.path + path.slice(mount.at.length) };
    }
    return null;
  }

  /** Inside a share: the grantee may only read it. */
  isReadOnly(path: string): boolean {
    return this.route(path) !== null;
  }

  private outward(mount: Mount, entry: Entry): Entry {
    return { ...entry, path: mount.at + entry.path.slice(mount.path.length) };
  }

  private readOnly(path: string): never {
    throw new BackendError('Forbidden', path, 'a shared collection is read-only for you');
  }

  /** Mount points directly below a folder (the folder may be virtual). */
  private mountsBelow(path: string): string[] {
    const names = new Set<string>();
    for (const m of this.mounts) {
      if (m.at !== path && isWithin(m.at, path)) names.add(m.at.slice(path === '/' ? 1 : path.length + 1).split('/')[0]!);
    }
    return [...names];
  }

  async stat(path: string): Promise<Entry | null> {
    const r = this.route(path);
    if (r) {
      const e = await r.mount.target.stat(r.inner);
      return e ? this.outward(r.mount, e) : null;
    }
    const own = await this.own.stat(path);
    if (own || this.mountsBelow(path).length === 0) return own;
    // A folder that only leads to shares: read-only and empty of its own.
    return { path, kind: 'collection', size: 0, etag: `"shares-${this.mountsBelow(path).join(',')}"`, modified: new Date(0) };
  }

  async *list(path: string): AsyncIterable<Entry> {
    const r = this.route(path);
    if (r) {
      for await (const e of r.mount.target.list(r.inner)) yield this.outward(r.mount, e);
      return;
    }
    // A mount point shadows the user's own entry of that name (requests there reach the share); a
    // folder on the way to one is the user's own if it exists, else a virtual one.
    const below = this.mountsBelow(path);
    const shadowed = new Set(below.filter((name) => this.mounts.some((m) => m.at === joinPath(path, name))));
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
    return r.mount.target.read(r.inner, range, known ? { ...known, path: r.inner } : undefined);
  }

  async props(path: string, known?: Entry): Promise<PropertyMap> {
    const r = this.route(path);
    if (r) return r.mount.target.props(r.inner, known ? { ...known, path: r.inner } : undefined);
    if (!(await this.own.stat(path)) && this.mountsBelow(path).length) return new Map();
    return this.own.props(path, known);
  }

  async write(path: string, body: Readable, options?: WriteOptions): Promise<WriteResult> {
    if (this.route(path) || (await this.onlyVirtual(path))) this.readOnly(path);
    return this.own.write(path, body, options);
  }

  async remove(path: string, options?: MutationOptions): Promise<void> {
    // The user's own folder may go (the shares below it stay where they are); a virtual one may not.
    if (this.route(path) || (await this.onlyVirtual(path))) this.readOnly(path);
    return this.own.remove(path, options);
  }

  mkcol(path: string, options?: MutationOptions & { props?: PropPatch[] }): Promise<Entry> {
    if (this.route(path)) this.readOnly(path);
    return this.own.mkcol(path, options);
  }

  async copy(from: string, to: string, options: CopyOptions): Promise<WriteResult> {
    // Copying out of a share would need a read across backends: refused for now, like writes into one.
    for (const p of [from, to]) if (this.route(p) || (await this.onlyVirtual(p))) this.readOnly(p);
    return this.own.copy(from, to, options);
  }

  async move(from: string, to: string, options: MoveOptions): Promise<WriteResult> {
    for (const p of [from, to]) if (this.route(p) || (await this.onlyVirtual(p))) this.readOnly(p);
    return this.own.move(from, to, options);
  }

  async patchProps(path: string, patches: PropPatch[], options?: MutationOptions): Promise<void> {
    if (this.route(path) || (await this.onlyVirtual(path))) this.readOnly(path);
    return this.own.patchProps(path, patches, options);
  }

  async quota(path: string): Promise<Quota | null> {
    return this.route(path) ? null : ((await this.own.quota?.(path)) ?? null);
  }

  async changes(path: string, since: string | undefined, limit?: number): Promise<ChangeSet> {
    const r = this.route(path);
    const backend = r ? r.mount.target : this.own;
    if (!backend.changes) throw new BackendError('NotFound', path, 'this collection cannot sync');
    const set = await backend.changes(r ? r.inner : path, since, limit);
    if (!r) return set;
    return { ...set, changed: set.changed.map((e) => this.outward(r.mount, e)), removed: set.removed.map((p) => r.mount.at + p.slice(r.mount.path.length)) };
  }

  async syncToken(path: string): Promise<string> {
    const r = this.route(path);
    const backend = r ? r.mount.target : this.own;
    if (!backend.syncToken) throw new BackendError('NotFound', path, 'this collection cannot sync');
    return backend.syncToken(r ? r.inner : path);
  }

  async versionOf(path: string): Promise<VersionInfo | null> {
    // The owner's history is not the grantee's to browse: shared files show no version links.
    return this.route(path) ? null : ((await this.own.versionOf?.(path)) ?? null);
  }

  at(revision: string): Promise<Backend | null> {
    return this.own.at ? this.own.at(revision) : Promise.resolve(null);
  }

  /** The grantee's own backend is closed by its owner, Tenants; the targets by theirs. */
  async close(): Promise<void> {}

  /** A folder that exists only on the way to a mount point, not in the user's own tree. */
  private async onlyVirtual(path: string): Promise<boolean> {
    return this.mountsBelow(path).length > 0 && !(await this.own.stat(path));
  }
}


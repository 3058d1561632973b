/**
 * The lock table of a user's view with other users' collections mounted into it (shares): a path
 * inside a mount is locked in the *owner's* lock manager, in the owner's paths, so that the owner
 * and every grantee see and respect the same locks on the same resources. Locks come back with
 * their roots translated into the asking user's paths; a depth-infinity lock the owner holds on an
 * ancestor of the shared collection shows as rooted at the mount point, the top the grantee can see.
 */
import { isWithin } from '../../../backends/backend.js';
import { LockConflictError, protectingLocks, type LockManager, type LockTable } from './lock-manager.js';
import type { Lock } from './lock.js';
import { DavError } from '../errors/dav-error.js';

/** A collection of another tree mounted into the user's view, and the lock manager of that tree. */
export interface LockMount {
  /** Where the user sees it. */
  at: string;
  /** Its path in its owner's tree. */
  path: string;
  locks: LockManager;
}

/**
 * Where locks of a path are kept: the view's mount table (backends/mount/table.ts, whose mounts carry
 * their owners' lock managers: lib/tenants.ts), so that locks are routed exactly as the data is.
 */
export interface LockRoutes {
  /** The mount a path lies in and the path in its owner's tree; null for the user's own paths. */
  route(path: string): { mount: LockMount; inner: string } | null;
  /** Every mount; read on every call (shares come and go while the server runs). */
  all(): readonly LockMount[];
}

export class RoutedLocks implements LockTable {
  constructor(
    /** The user's own locks, in the user's own paths. */
    readonly own: LockManager,
    private readonly routes: LockRoutes,
  ) {}

  /** The user whose tree this is: the own table's owner. */
  get owner(): string | undefined {
    return this.own.owner;
  }

  get(token: string): Lock | undefined {
    const mine = this.own.get(token);
    if (mine) return mine;
    for (const m of this.routes.all()) {
      const l = m.locks.get(token);
      if (l && reaches(l, m)) return outward(m, l);
    }
    return undefined;
  }

  covering(path: string): Lock[] {
    const r = this.routes.route(path);
    if (!r) return this.own.covering(path);
    return r.mount.locks.covering(r.inner).map((l) => outward(r.mount, l));
  }

  within(path: string): Lock[] {
    const r = this.routes.route(path);
    if (!r) return this.own.within(path);
    return r.mount.locks.within(r.inner).map((l) => outward(r.mount, l));
  }

  visibleWithin(path: string): Lock[] {
    if (this.routes.route(path)) return this.within(path);
    // A path of the user's own: the mounts at or below it keep their locks in their owners' tables.
    const found = this.own.within(path);
    for (const m of this.routes.all()) {
      if (!isWithin(m.at, path)) continue;
      for (const l of m.locks.within(m.path)) found.push(outward(m, l));
      for (const l of m.locks.covering(m.path)) if (l.root !== m.path) found.push(outward(m, l));
    }
    return found;
  }

  protecting(path: string, options: { tree: boolean; membership: boolean }): Lock[] {
    return protectingLocks(this, path, options);
  }

  async create(spec: Omit<Lock, 'token' | 'expires' | 'created'>): Promise<Lock> {
    const r = this.routes.route(spec.root);
    if (!r) {
      // A lock in the user's own table cannot protect another user's collection mounted below it
      // (the owner's writes never consult this table), so it may not claim to.
      const inside = spec.depth === 'infinity' ? this.routes.all().find((m) => isWithin(m.at, spec.root)) : undefined;
      if (inside) throw new DavError(409, `a depth-infinity lock here would cover ${inside.at}, another user's shared collection: lock inside it, or with Depth: 0`);
      return this.own.create(spec);
    }
    try {
      return outward(r.mount, await r.mount.locks.create({ ...spec, root: r.inner }));
    } catch (err) {
      if (err instanceof LockConflictError) throw new LockConflictError(outward(r.mount, err.conflicting));
      throw err;
    }
  }

  async refresh(token: string, timeout: number | null): Promise<Lock | undefined> {
    const m = this.holder(token);
    if (!m) return this.own.refresh(token, timeout);
    const l = await m.locks.refresh(token, timeout);
    return l && outward(m, l);
  }

  async remove(token: string): Promise<boolean> {
    const m = this.holder(token);
    return m ? m.locks.remove(token) : this.own.remove(token);
  }

  async removeWithin(path: string): Promise<void> {
    const r = this.routes.route(path);
    if (!r) return this.own.removeWithin(path);
    return r.mount.locks.removeWithin(r.inner);
  }

  /** The mount whose owner's manager holds a lock the user can reach, if it is not the user's own. */
  private holder(token: string): LockMount | undefined {
    if (this.own.get(token)) return undefined;
    return this.routes.all().find((m) => {
      const l = m.locks.get(token);
      return l !== undefined && isWithin(l.root, m.path);
    });
  }
}

/** A lock of the owner's that touches the shared collection: inside it, or above it with depth infinity. */
function reaches(lock: Lock, mount: LockMount): boolean {
  return isWithin(lock.root, mount.path) || (lock.depth === 'infinity' && isWithin(mount.path, lock.root));
}

function outward(mount: LockMount, lock: Lock): Lock {
  const root = isWithin(lock.root, mount.path) ? mount.at + lock.root.slice(mount.path.length) : mount.at;
  return { ...lock, root };
}

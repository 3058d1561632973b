/**
 * One mount per user: each user's data is a repository (or folder) of its own under
 * `ROOT/users/<name>`, opened on first use with its own DAV layer (locks, caches) and CalDAV for
 * that user. A request only ever reaches the mount of the user it authenticated as, so no URL,
 * history folder, sync token, lock token or href can name another user's data: isolation by
 * construction, not by checks.
 */
import { join } from 'node:path';
import type { Backend } from '../backends/backend.js';
import { FsBackend } from '../backends/fs/index.js';
import type { SymlinkPolicy } from '../backends/fs/containment.js';
import { createDav, type Dav, type DavOptions } from './dav/index.js';
import { installCalDav, type CalDavOptions } from './caldav/index.js';
import { isValidUserName } from './auth/htpasswd.js';
import { mountPointOf, SharesWatch, type Share } from './auth/shares-file.js';
import { SharedView, type Mount } from '../backends/shared-view.js';
import { isWithin } from '../backends/backend.js';
import type { LockManager } from './dav/locks/lock-manager.js';
import { RoutedLocks, type LockMount } from './dav/locks/routed-locks.js';

export type BackendKind = 'git' | 'fs';

/** Opens a backend of the kind over a root (a git repository is created if the root is empty). */
export async function openBackend(kind: BackendKind, root: string, options: { symlinks?: SymlinkPolicy } = {}): Promise<Backend> {
  // Loaded on demand: the git backend's modules are not needed by a folder server.
  if (kind === 'git') return (await import('../backends/git/repository.js')).openGitRepository({ root });
  return FsBackend.open({ root, symlinks: options.symlinks });
}

export interface TenantOptions {
  root: string;
  backend: BackendKind;
  /** Folder backend: which symbolic links are followed (default follow-inside). */
  symlinks?: SymlinkPolicy;
  dav?: Partial<DavOptions>;
  /** CalDAV per user (the user's name and address filled in), or false. */
  caldav: Partial<CalDavOptions> | false;
  /** calendar-user-address-set: mailto:<user>@<emailDomain>. */
  emailDomain: string;
  /** Where a user's data lives, if not ROOT/users/<name> (the config's mount table). */
  mounts?: Record<string, string>;
}

interface Tenant {
  dav: Dav;
  /** The user's own repository (or folder); `view` adds the shares mounted into it. */
  own: Backend;
  view: SharedView;
  /** The locks on the user's own tree (a grantee's locks on a shared collection are kept here too). */
  locks: LockManager;
  /** The owners' lock managers behind the view's mounts (the view's lock table routes to them). */
  lockMounts: LockMount[];
  /** The version of the shares file the view's mounts were made from. */
  sharesVersion: number;
  /** The same tree for anonymous readers, without shares (made on first use). */
  anonymous?: Promise<Dav>;
}

export class Tenants {
  private readonly open = new Map<string, Promise<Tenant>>();
  private readonly shares: SharesWatch;

  constructor(private readonly options: TenantOptions) {
    this.shares = new SharesWatch(options.root);
  }

  /**
   * The user's mount, opened (and on first use created, with a default calendar) once. Anonymous
   * readers get the same tree without the shares mounted into it: what others shared with the user
   * was shared with the user, not with the public.
   */
  async dav(user: string, options: { anonymous?: boolean } = {}): Promise<Dav> {
    const t = await this.tenant(user);
    if (options.anonymous) {
      t.anonymous ??= (async () => {
        const dav = await createDav({ backend: new SharedView(t.own), options: this.options.dav });
        dav.locks = t.locks; // one lock table per tree
        if (this.options.caldav !== false) await installCalDav(dav, { ...this.options.caldav, user, email: `${user}@${this.options.emailDomain}` });
        return dav;
      })();
      return t.anonymous;
    }
    const { shares, version } = this.shares.current();
    // Every open user's mounts follow a change at once, not only at their next request.
    if (t.sharesVersion !== version) {
      for (const [name, open] of [...this.open]) {
        const other = await open.catch(() => null);
        if (other && other.sharesVersion !== version) {
          await this.mountShares(name, other, shares);
          other.sharesVersion = version;
        }
      }
    }
    return t.dav;
  }

  private tenant(user: string): Promise<Tenant> {
    if (!isValidUserName(user)) throw new Error(`invalid user name ${JSON.stringify(user)}`);
    let t = this.open.get(user);
    if (!t) {
      t = this.create(user);
      t.catch(() => this.open.delete(user)); // a failed open is retried by the next request
      this.open.set(user, t);
    }
    return t;
  }

  /**
   * Shares reach their grantee as mounts of the owner's own backend (never of a view, so shares do not
   * chain), and locks there are the owner's (see `create` for how they end with the share).
   */
  private async mountShares(user: string, t: Tenant, shares: readonly Share[]): Promise<void> {
    const mounts: Mount[] = [];
    const lockMounts: LockMount[] = [];
    for (const share of shares.filter((s) => s.grantee === user)) {
      const owner = await this.tenant(share.owner);
      const at = mountPointOf(share);
      mounts.push({ at, target: owner.own, path: share.path, access: share.access, owner: share.owner });
      lockMounts.push({ at, path: share.path, locks: owner.locks });
    }
    t.view.mounts = mounts;
    t.lockMounts = lockMounts;
  }

  rootOf(user: string): string {
    return this.options.mounts?.[user] ?? join(this.options.root, 'users', user);
  }

  private async create(user: string): Promise<Tenant> {
    const own = await openBackend(this.options.backend, this.rootOf(user), { symlinks: this.options.symlinks });
    const view = new SharedView(own);
    const dav = await createDav({ backend: view, options: this.options.dav });
    const locks = dav.locks as LockManager;
    locks.owner = user; // grantees' locks fill a room of their own, never the owner's (maxLockTableBytes)
    // Another user's lock in this tree stands only while a share gives them write access there: a
    // share taken away or made read-only takes its grantee's locks along, after a restart too.
    locks.admits = (l) =>
      l.principal === undefined ||
      l.principal === user ||
      this.shares.current().shares.some((s) => s.owner === user && s.grantee === l.principal && s.access === 'write' && isWithin(l.root, s.path));
    const tenant: Tenant = { dav, own, view, locks, lockMounts: [], sharesVersion: -1 };
    dav.locks = new RoutedLocks(locks, () => tenant.lockMounts);
    if (this.options.caldav !== false) await installCalDav(dav, { ...this.options.caldav, user, email: `${user}@${this.options.emailDomain}` });
    return tenant;
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled([...this.open.values()]);
    this.open.clear();
    for (const r of all) if (r.status === 'fulfilled') await r.value.own.close?.();
  }
}

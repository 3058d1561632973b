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
import type { CalDavOptions, CalDavStates } from './caldav/index.js';
import type { CardDavOptions } from './carddav/index.js';
import { isValidUserName } from './auth/htpasswd.js';
import { SharesWatch, type Share } from './auth/shares-file.js';
import { MountView } from '../backends/mount/view.js';
import { MountTable } from '../backends/mount/table.js';
import type { LockManager } from './dav/locks/lock-manager.js';
import { RoutedLocks } from './dav/locks/routed-locks.js';
import { admitsLocks, shareMounts, type ShareMount } from './tenants/share-mounts.js';
import { reserveShareNames } from './tenants/share-names.js';

export type BackendKind = 'git' | 'fs';

/** Opens a backend of the kind over a root (a git repository is created if the root is empty). */
export async function openBackend(kind: BackendKind, root: string, options: { symlinks?: SymlinkPolicy; supervised?: boolean; blobCacheBytes?: number; workers?: number; git?: GitWriteOptions } = {}): Promise<Backend> {
  // Loaded on demand: the git backend's modules are not needed by a folder server.
  if (kind === 'git') return (await import('../backends/git/repository.js')).openGitRepository({ root, ...options.git, blobCache: { maxBytes: options.blobCacheBytes, processes: options.workers } });
  return FsBackend.open({ root, symlinks: options.symlinks, supervised: options.supervised });
}

/** How a git repository commits and what it keeps out of history (config: burstWindowMs, burstMaxAgeMs, ignore). */
export interface GitWriteOptions {
  burstWindowMs?: number;
  burstMaxAgeMs?: number;
  ignore?: readonly string[];
}

export interface TenantOptions {
  root: string;
  backend: BackendKind;
  /** Folder backend: which symbolic links are followed (default follow-inside). */
  symlinks?: SymlinkPolicy;
  /** Git backend: the blob cache's bound, per user's repository (default 1 GiB). */
  blobCacheBytes?: number;
  /** Processes serving the same repositories (the blob cache's bound is shared by them). */
  workers?: number;
  /** Git backend: bursts and junk. */
  git?: GitWriteOptions;
  dav?: Partial<DavOptions>;
  /** CalDAV per user (the user's name and address filled in), or false. */
  caldav: Partial<CalDavOptions> | false;
  /** CardDAV per user beside CalDAV (default on when CalDAV is), or false. */
  carddav?: Partial<CardDavOptions> | false;
  /** calendar-user-address-set: mailto:<user>@<emailDomain>. */
  emailDomain: string;
  /** Where a user's data lives, if not ROOT/users/<name> (the config's mount table). */
  mounts?: Record<string, string>;
  /** A supervisor's worker: folders are opened `supervised` (backends/fs/folder-lock.ts). */
  supervised?: boolean;
}

interface Tenant {
  dav: Dav;
  /** The user's own repository (or folder); the view (`dav.backend`) adds the shares mounted into it. */
  own: Backend;
  /**
   * The view's mounts: the shares granted to this user, each with its owner's lock manager. Data and
   * locks are routed by this one table (the view and `dav.locks`, a RoutedLocks, both read it).
   */
  mountTable: MountTable<ShareMount>;
  /** The locks on the user's own tree (a grantee's locks on a shared collection are kept here too). */
  locks: LockManager;
  /** The version of the shares file the view's mounts were made from. */
  sharesVersion: number;
  /** The same tree for anonymous readers, without shares (made on first use). */
  anonymous?: Promise<Dav>;
}

export class Tenants {
  private readonly open = new Map<string, Promise<Tenant>>();
  private readonly shares: SharesWatch;
  /** CalDAV's state of every user's tree, shared by the mounts that reach it (own, anonymous, shares); made with the first mount. */
  private caldavStates: CalDavStates | undefined;
  /** Every open user's lock table, for statistics (locksHeld). */
  private readonly lockTables = new Set<LockManager>();

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
        const dav = await createDav({ backend: new MountView(t.own), options: this.options.dav });
        dav.locks = t.locks; // one lock table per tree
        await this.installCalDav(dav, user);
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

  /** Shares reach their grantee as mounts (./tenants/share-mounts.ts); locks there are the owner's. */
  private async mountShares(user: string, t: Tenant, shares: readonly Share[]): Promise<void> {
    t.mountTable.replace(await shareMounts(user, shares, (owner) => this.tenant(owner)));
  }

  rootOf(user: string): string {
    return this.options.mounts?.[user] ?? join(this.options.root, 'users', user);
  }

  private async create(user: string): Promise<Tenant> {
    const own = await openBackend(this.options.backend, this.rootOf(user), { symlinks: this.options.symlinks, supervised: this.options.supervised, blobCacheBytes: this.options.blobCacheBytes, workers: this.options.workers, git: this.options.git });
    const mountTable = new MountTable<ShareMount>();
    const dav = await createDav({ backend: new MountView(own, mountTable), options: this.options.dav });
    const locks = dav.locks as LockManager;
    locks.owner = user; // grantees' locks fill a room of their own, never the owner's (maxLockTableBytes)
    locks.admits = admitsLocks(user, () => this.shares.current().shares);
    const tenant: Tenant = { dav, own, mountTable, locks, sharesVersion: -1 };
    dav.locks = new RoutedLocks(locks, mountTable);
    reserveShareNames(dav);
    await this.installCalDav(dav, user);
    this.lockTables.add(locks);
    return tenant;
  }

  /** Whether users get address books (CardDAV needs CalDAV's principal). */
  get carddav(): boolean {
    return this.options.caldav !== false && this.options.carddav !== false;
  }

  /**
   * CalDAV (and CardDAV) on a user's mount, when it is on: its code (ical.js with it) is imported
   * then, not by a --no-caldav server.
   */
  private async installCalDav(dav: Dav, user: string): Promise<void> {
    if (this.options.caldav === false) return;
    const { CalDavStates, installCalDav } = await import('./caldav/index.js');
    const states = (this.caldavStates ??= new CalDavStates());
    await installCalDav(dav, { ...this.options.caldav, user, email: `${user}@${this.options.emailDomain}`, states });
    if (this.options.carddav === false) return;
    const { installCardDav } = await import('./carddav/index.js');
    await installCardDav(dav, { ...this.options.carddav, user, states });
  }

  /** Locks held now in every open user's tree (statistics; a grantee's locks are in the owner's). */
  locksHeld(): number {
    let n = 0;
    for (const locks of this.lockTables) n += locks.size;
    return n;
  }

  /** Closes every user's mounts, then CalDAV's state (saving what it holds), then the backends. */
  async close(): Promise<void> {
    const all = await Promise.allSettled([...this.open.values()]);
    this.open.clear();
    this.lockTables.clear();
    const tenants = all.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    for (const t of tenants) {
      await t.dav.close();
      await (await t.anonymous?.catch(() => undefined))?.close();
    }
    await this.caldavStates?.close();
    for (const t of tenants) await t.own.close?.();
  }
}

/**
 * How the shares file (`ROOT/shares.json`, ../auth/shares-file.ts) becomes mounts: each share is a
 * mount of its owner's own backend in the grantee's view (backends/mount/), never of the owner's view,
 * so shares do not chain. A mount carries the owner's lock manager too, so the grantee's lock table
 * (RoutedLocks) routes a shared path's locks by the same table, to the owner's locks, in the owner's
 * paths.
 */
import { isWithin, type Backend } from '../../backends/backend.js';
import type { Mount } from '../../backends/mount/table.js';
import { mountPointOf, type Share } from '../auth/shares-file.js';
import type { Lock } from '../dav/locks/lock.js';
import type { LockManager } from '../dav/locks/lock-manager.js';

/** A share mounted into its grantee's view: the owner's tree and the owner's locks. */
export interface ShareMount extends Mount {
  locks: LockManager;
}

/** What mounting a user's tree takes: their own backend (not their view) and their lock manager. */
export interface OwnerTree {
  own: Backend;
  locks: LockManager;
}

/** The mounts of every share granted to `grantee`, opening the owners' trees as needed. */
export async function shareMounts(grantee: string, shares: readonly Share[], open: (owner: string) => Promise<OwnerTree>): Promise<ShareMount[]> {
  const mounts: ShareMount[] = [];
  for (const share of shares.filter((s) => s.grantee === grantee)) {
    const owner = await open(share.owner);
    mounts.push({ at: mountPointOf(share), path: share.path, target: owner.own, access: share.access, owner: share.owner, locks: owner.locks });
  }
  return mounts;
}

/**
 * Which locks `owner`'s lock manager keeps: another user's lock in this tree stands only while a share
 * gives them write access there, so a share taken away or made read-only takes its grantee's locks
 * along, after a restart too.
 */
export function admitsLocks(owner: string, shares: () => readonly Share[]): (lock: Lock) => boolean {
  return (l) =>
    l.principal === undefined ||
    l.principal === owner ||
    shares().some((s) => s.owner === owner && s.grantee === l.principal && s.access === 'write' && isWithin(l.root, s.path));
}

/**
 * The mount table of a user's view: other trees seen at places of this one (a collection another user
 * shares with this one, at `/shared/alice/docs`). It is the one answer to "which mount is this path in,
 * and what is the path in that tree": the view routes data by it (./view.ts) and the DAV layer's lock
 * table routes locks by the same table (lib/dav/locks/routed-locks.ts takes it as its routes), so data
 * and locks of a path cannot end up in different trees.
 *
 * Mount points do not nest: a path lies in at most one mount (the first that holds it, if they did).
 */
import { isWithin, type Backend } from '../backend.js';

/** A collection of one tree seen at another place. */
export interface MountPoint {
  /** Where the grantee sees it, e.g. `/shared/alice/docs` or `/calendars/bob/alice~calendar`. */
  at: string;
  /** The shared collection's path in the owner's tree. */
  path: string;
}

export interface Mount extends MountPoint {
  /** The owner's own backend. */
  target: Backend;
  access: 'read' | 'write';
  /** Who the shared collection belongs to, as a name for the layers above (DAV:owner). */
  owner?: string;
  /**
   * Set when this is no share but a read-only part of the tree itself, served by another backend
   * (git's history at `/.history`): why writes there are refused (ReadOnly, 403 with
   * DAV:cannot-modify-version). Such a mount grants nothing (shareAccess is null, as for one's own
   * resources) and keeps no grantee properties; `access` must be `read`.
   */
  readOnlyPart?: string;
}

/** The mount a path lies in, and the path in the mounted tree. */
export interface Route<M extends MountPoint> {
  mount: M;
  inner: string;
}

export class MountTable<M extends MountPoint = Mount> {
  /** Bumped by every replace(): a cache key that includes it never outlives a change of the mounts. */
  generation = 0;

  constructor(private mounts: readonly M[] = []) {}

  /** Every mount, in routing order. */
  all(): readonly M[] {
    return this.mounts;
  }

  /** Replaces every mount at once (shares change while the server runs); read on every call. */
  replace(mounts: readonly M[]): void {
    this.mounts = mounts;
    this.generation++;
  }

  /** The mount a path lies in, if any, with the path in the mounted tree. */
  route(path: string): Route<M> | null {
    for (const mount of this.mounts) {
      if (isWithin(path, mount.at)) return { mount, inner: rebase(path, mount.at, mount.path) };
    }
    return null;
  }

  /** The mount whose mount point is `path` itself. */
  mountedAt(path: string): M | undefined {
    return this.mounts.find((m) => m.at === path);
  }

  /** Names of the members of a folder that are, or lead to, mount points (the folder may be virtual). */
  below(path: string): string[] {
    const names = new Set<string>();
    for (const m of this.mounts) {
      if (m.at !== path && isWithin(m.at, path)) names.add(m.at.slice(path === '/' ? 1 : path.length + 1).split('/')[0]!);
    }
    return [...names];
  }
}

/** A path of a mounted tree (at or below the mount's `path`) where the view shows it. */
export function outwardPath(mount: MountPoint, inner: string): string {
  return rebase(inner, mount.path, mount.at);
}

/** `path`, which lies within `from`, moved to the same place below `to` (either may be the root). */
export function rebase(path: string, from: string, to: string): string {
  const rest = from === '/' ? (path === '/' ? '' : path) : path.slice(from.length);
  return to === '/' ? rest || '/' : to + rest;
}

/**
 * Active locks (RFC 4918 §6-7). Kept in memory, persisted to a JSON file in the backend's state dir
 * after every change (temp file + rename), so locks survive a restart. Never in the content or history.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { isWithin, parentOf } from '../../../backends/backend.js';
import { SnapshotFile } from '../../../backends/snapshot-file.js';

export type LockScope = 'exclusive' | 'shared';
export type LockDepth = 0 | 'infinity';

export interface Lock {
  token: string;
  /** The path the lock was taken on. */
  root: string;
  depth: LockDepth;
  scope: LockScope;
  /** The client's `DAV:owner` element as self-contained XML, if it sent one. */
  owner?: string;
  /** The authenticated principal that holds the lock, if any. */
  principal?: string;
  /** Seconds, or null for Infinite. */
  timeout: number | null;
  /** Epoch ms, or null for never. */
  expires: number | null;
}

export class LockConflictError extends Error {
  override name = 'LockConflictError';
  constructor(readonly conflicting: Lock) {
    super(`conflicts with the lock on ${conflicting.root}`);
  }
}

/**
 * What the DAV layer asks of its locks: a LockManager, or a RoutedLocks that sends shared paths to
 * the owner's manager.
 */
export interface LockTable {
  get(token: string): Lock | undefined;
  covering(path: string): Lock[];
  within(path: string): Lock[];
  protecting(path: string, options: { tree: boolean; membership: boolean }): Lock[];
  create(spec: Omit<Lock, 'token' | 'expires'>): Promise<Lock>;
  refresh(token: string, timeout: number | null): Promise<Lock | undefined>;
  remove(token: string): Promise<boolean>;
  removeWithin(path: string): Promise<void>;
}

/** Whether a principal may use a lock's token: its holder (or anyone, for a lock taken without a login). */
export function mayUseLock(lock: Lock, principal: string | undefined): boolean {
  return lock.principal === undefined || lock.principal === principal;
}

/**
 * Locks that protect a change of `path`: those covering it, and (for adding or removing it as a
 * member) depth-0 locks on its parent, whose membership it changes (§7.4). With `tree`, also every
 * lock below it.
 */
export function protectingLocks(table: LockTable, path: string, options: { tree: boolean; membership: boolean }): Lock[] {
  const found = new Map<string, Lock>();
  for (const l of table.covering(path)) found.set(l.token, l);
  if (options.membership && path !== '/') for (const l of table.covering(parentOf(path))) found.set(l.token, l);
  if (options.tree) for (const l of table.within(path)) found.set(l.token, l);
  return [...found.values()];
}

export class LockManager implements LockTable {
  private readonly locks = new Map<string, Lock>();
  /**
   * Whether a lock still stands, besides its timeout: set where other users lock in this tree (a
   * share's grantee), so that a lock whose holder lost write access is gone at once — after a
   * restart too, and whether or not its holder ever comes back.
   */
  admits?: (lock: Lock) => boolean;

  private readonly snapshots: SnapshotFile | null;

  private constructor(private readonly file: string | null) {
    this.snapshots = file ? new SnapshotFile(file) : null;
  }

  /** Loads the persisted locks (dropping expired ones); `stateDir` null keeps them in memory only. */
  static async open(stateDir: string | null): Promise<LockManager> {
    const manager = new LockManager(stateDir ? join(stateDir, 'locks.json') : null);
    if (manager.file) {
      try {
        const saved = JSON.parse(await fsp.readFile(manager.file, 'utf8')) as Lock[];
        for (const l of saved) manager.locks.set(l.token, l);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    manager.purge();
    return manager;
  }

  get(token: string): Lock | undefined {
    this.purge();
    return this.locks.get(token);
  }

  /** Locks whose scope includes `path`: on it, or depth-infinity on an ancestor. */
  covering(path: string): Lock[] {
    this.purge();
    return [...this.locks.values()].filter((l) => l.root === path || (l.depth === 'infinity' && isWithin(path, l.root)));
  }

  /** Locks rooted at `path` or anywhere below it. */
  within(path: string): Lock[] {
    this.purge();
    return [...this.locks.values()].filter((l) => isWithin(l.root, path));
  }

  protecting(path: string, options: { tree: boolean; membership: boolean }): Lock[] {
    return protectingLocks(this, path, options);
  }

  /** Creates a lock, or throws LockConflictError. Call inside the write step that also checks tokens. */
  async create(spec: Omit<Lock, 'token' | 'expires'>): Promise<Lock> {
    const conflict = this.conflictFor(spec.root, spec.depth, spec.scope);
    if (conflict) throw new LockConflictError(conflict);
    const lock: Lock = { ...spec, token: `opaquelocktoken:${randomUUID()}`, expires: expiry(spec.timeout) };
    this.locks.set(lock.token, lock);
    try {
      await this.save();
    } catch (err) {
      this.locks.delete(lock.token); // the client never learns this token: don't keep a lock nobody can hold
      throw err;
    }
    return lock;
  }

  async refresh(token: string, timeout: number | null): Promise<Lock | undefined> {
    const lock = this.get(token);
    if (!lock) return undefined;
    lock.timeout = timeout;
    lock.expires = expiry(timeout);
    await this.save();
    return lock;
  }

  async remove(token: string): Promise<boolean> {
    const had = this.locks.delete(token);
    if (had) await this.save();
    return had;
  }

  /** Drops every lock rooted at or below `path` (after DELETE, or MOVE of the source). */
  async removeWithin(path: string): Promise<void> {
    const doomed = this.within(path);
    for (const l of doomed) this.locks.delete(l.token);
    if (doomed.length) await this.save();
  }

  private conflictFor(root: string, depth: LockDepth, scope: LockScope): Lock | undefined {
    const candidates = [...this.covering(root), ...(depth === 'infinity' ? this.within(root) : [])];
    return candidates.find((l) => l.scope === 'exclusive' || scope === 'exclusive');
  }

  private purge(): void {
    const now = Date.now();
    for (const [token, l] of this.locks) {
      if ((l.expires !== null && l.expires <= now) || (this.admits && !this.admits(l))) this.locks.delete(token);
    }
  }

  private save(): Promise<void> {
    return this.snapshots?.save(JSON.stringify([...this.locks.values()], null, 1)) ?? Promise.resolve();
  }
}

function expiry(timeout: number | null): number | null {
  return timeout === null ? null : Date.now() + timeout * 1000;
}

/** `Timeout: Infinite, Second-4100000000` → seconds, capped by `max` (Infinite gets `max`). */
export function parseTimeout(header: string | undefined, fallback: number, max: number): number {
  if (!header) return fallback;
  for (const part of header.split(',').map((s) => s.trim())) {
    if (/^infinite$/i.test(part)) return max;
    const m = /^second-(\d+)$/i.exec(part);
    if (m) return Math.max(1, Math.min(Number(m[1]), max));
  }
  return fallback;
}

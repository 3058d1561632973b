/**
 * Active locks (RFC 4918 §6-7). Kept in memory, persisted in the backend's state dir one file per
 * lock (lock-store.ts), so locks survive a restart and a change costs one lock, not the table. Never
 * in the content or history. Several processes on one state dir share the table: each change is
 * checked and written under the table lock after catching up with the others' changes, and every
 * read catches up first (lock-journal.ts: one fstat when nothing changed), so a LOCK answered by one
 * process is seen by the next request any process checks, and two conflicting LOCKs cannot both win. Bounded: a grantee with write access locks in the owner's table, so the
 * owner field and each user's locks (count and bytes) are capped, and so are all other users' locks
 * together (LockLimits) — never the table owner's own, so grantees cannot lock her out of her tree.
 */
import { randomUUID } from 'node:crypto';
import { isWithin, parentOf } from '../../../backends/backend.js';
import { LOCK_LIMIT_DEFAULTS } from '../limit-defaults.js';
import type { Lock, LockDepth, LockScope } from './lock.js';
import { LockStore } from './lock-store.js';

/** Caps on one lock table (0 turns one off). Defaults and config keys: DavLimits. */
export interface LockLimits {
  /** Largest DAV:owner kept with a lock, bytes of its XML. */
  maxLockOwnerBytes: number;
  /** Most locks one principal (or all requests without a login together) holds in one table. */
  maxLocksPerUser: number;
  /** Most bytes (of locks as JSON) one principal (or all requests without a login together) holds in one table. */
  maxLockBytesPerUser: number;
  /**
   * Most bytes of locks held in one table by all but the table's owner together (grantees, requests
   * without a login): the owner's own locks are bounded by the per-user caps only, so others' locks
   * never keep her from locking her own files.
   */
  maxLockTableBytes: number;
}

export const DEFAULT_LOCK_LIMITS: LockLimits = LOCK_LIMIT_DEFAULTS;

/** A lock refused by a LockLimits cap: `owner` is the request's fault, `user` and `table` are full. */
export class LockLimitError extends Error {
  override name = 'LockLimitError';
  constructor(
    readonly limit: 'owner' | 'user' | 'table',
    message: string,
  ) {
    super(message);
  }
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
  /** The user whose tree this table protects (a mount per user), if it is one user's. */
  readonly owner?: string;
  get(token: string): Lock | undefined;
  covering(path: string): Lock[];
  within(path: string): Lock[];
  /**
   * Every lock the view shows at `path` or below: within(path), plus, where other users' collections
   * are mounted at or below it, their owners' locks that reach them. A LockManager's is within(path).
   */
  visibleWithin(path: string): Lock[];
  protecting(path: string, options: { tree: boolean; membership: boolean }): Lock[];
  create(spec: Omit<Lock, 'token' | 'expires' | 'created'>): Promise<Lock>;
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
  private tableOwner?: string;

  /** Bytes of each lock as stored (JSON): what the byte caps bound. */
  private readonly sizes = new Map<string, number>();
  /** Per principal (undefined: requests without a login), their locks here and those locks' bytes. */
  private readonly held = new Map<string | undefined, { count: number; bytes: number }>();
  /** Bytes of the locks of everyone but `owner`: what maxLockTableBytes bounds. */
  private othersBytes = 0;

  private constructor(
    private readonly store: LockStore | null,
    private readonly limits: LockLimits,
  ) {}

  /** Loads the persisted locks (dropping expired ones); `stateDir` null keeps them in memory only. */
  static async open(stateDir: string | null, limits: Partial<LockLimits> = {}): Promise<LockManager> {
    const opened = stateDir ? await LockStore.open(stateDir) : null;
    const manager = new LockManager(opened?.store ?? null, { ...DEFAULT_LOCK_LIMITS, ...limits });
    for (const l of opened?.locks ?? []) manager.add(l);
    manager.purge();
    return manager;
  }

  /** Stops following other processes' changes (at shutdown); a change made later is still announced. */
  close(): void {
    this.store?.close();
  }

  /** The user whose tree this is, where users log in: their locks do not count against maxLockTableBytes. */
  get owner(): string | undefined {
    return this.tableOwner;
  }

  set owner(user: string | undefined) {
    this.tableOwner = user;
    this.othersBytes = 0;
    for (const [token, l] of this.locks) if (!this.isOwners(l)) this.othersBytes += this.sizes.get(token) ?? 0;
  }

  /** Files and bytes written so far (none in memory): one change writes one lock, never the table. */
  get stats(): { filesWritten: number; bytesWritten: number } {
    return this.store?.stats ?? { filesWritten: 0, bytesWritten: 0 };
  }

  /** How many locks the table holds now, expired ones purged first (statistics). */
  get size(): number {
    this.purge();
    return this.locks.size;
  }

  get(token: string): Lock | undefined {
    this.catchUp();
    this.purge();
    return this.locks.get(token);
  }

  /** Locks whose scope includes `path`: on it, or depth-infinity on an ancestor. */
  covering(path: string): Lock[] {
    this.catchUp();
    this.purge();
    return [...this.locks.values()].filter((l) => l.root === path || (l.depth === 'infinity' && isWithin(path, l.root)));
  }

  /** Locks rooted at `path` or anywhere below it. */
  within(path: string): Lock[] {
    this.catchUp();
    this.purge();
    return [...this.locks.values()].filter((l) => isWithin(l.root, path));
  }

  visibleWithin(path: string): Lock[] {
    return this.within(path);
  }

  protecting(path: string, options: { tree: boolean; membership: boolean }): Lock[] {
    return protectingLocks(this, path, options);
  }

  /** Creates a lock, or throws LockConflictError. Call inside the write step that also checks tokens. */
  async create(spec: Omit<Lock, 'token' | 'expires' | 'created'>): Promise<Lock> {
    return this.exclusive(async () => {
      const conflict = this.conflictFor(spec.root, spec.depth, spec.scope);
      if (conflict) throw new LockConflictError(conflict);
      const lock: Lock = { ...spec, token: `opaquelocktoken:${randomUUID()}`, expires: expiry(spec.timeout), created: Date.now() };
      this.admit(lock);
      this.add(lock);
      try {
        await this.store?.put(lock);
      } catch (err) {
        // The client never learns this token: don't keep a lock nobody can hold (nor its file, if the
        // write failed only at the directory's fsync).
        this.drop(lock.token);
        await this.store?.delete(lock.token).catch(() => undefined);
        throw err;
      }
      return lock;
    }, true);
  }

  async refresh(token: string, timeout: number | null): Promise<Lock | undefined> {
    if (!this.get(token)) return undefined;
    return this.exclusive(async () => {
      const lock = this.locks.get(token); // caught up: gone if another request (or process) removed it meanwhile
      if (!lock) return undefined;
      lock.timeout = timeout;
      lock.expires = expiry(timeout);
      this.add(lock); // its size may change
      await this.store?.put(lock);
      return lock;
    });
  }

  /**
   * Removes a lock: its file first, then the lock itself, so that a removal that fails (the error is
   * thrown) leaves the lock standing, here as after a restart, rather than gone now and back later.
   */
  async remove(token: string): Promise<boolean> {
    if (!this.get(token)) return false;
    return this.exclusive(async () => {
      if (!this.locks.has(token)) return false;
      await this.removeStored([token]);
      return true;
    });
  }

  /** Removes every lock rooted at or below `path` (after DELETE, or MOVE of the source); files first, as remove. */
  async removeWithin(path: string): Promise<void> {
    if (this.within(path).length === 0) return;
    await this.exclusive(() => this.removeStored(this.within(path).map((l) => l.token)));
  }

  /** Deletes the locks' files, then drops each lock whose file is gone; throws the first failure. */
  private async removeStored(tokens: string[]): Promise<void> {
    if (!this.store) {
      for (const t of tokens) this.drop(t);
      return;
    }
    const results = await Promise.allSettled(tokens.map((t) => this.store!.delete(t)));
    tokens.forEach((t, i) => {
      if (results[i]!.status === 'fulfilled') this.drop(t);
    });
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * A change, checked and made as one step: in memory, at once; with a store, under the table lock
   * after reading what other processes changed, so checks (conflicts, caps) see the whole table.
   */
  private exclusive<T>(change: () => Promise<T>, makeDir = false): Promise<T> {
    if (!this.store) return change();
    return this.store.exclusive(async () => {
      this.catchUp(true);
      this.purge();
      return change();
    }, makeDir);
  }

  /** Takes in what other processes changed since the last look. */
  private catchUp(force = false): void {
    const news = this.store?.news(force);
    if (!news) return;
    if ('all' in news) {
      for (const token of [...this.locks.keys()]) this.drop(token);
      for (const l of news.all) this.add(l);
    } else {
      for (const { token, lock } of news.changed) {
        if (lock) this.add(lock);
        else this.drop(token);
      }
    }
  }

  /** Throws LockLimitError if the table may not take `lock`. */
  private admit(lock: Lock): void {
    const { maxLockOwnerBytes, maxLocksPerUser, maxLockBytesPerUser, maxLockTableBytes } = this.limits;
    const ownerBytes = lock.owner === undefined ? 0 : Buffer.byteLength(lock.owner);
    if (maxLockOwnerBytes && ownerBytes > maxLockOwnerBytes) {
      throw new LockLimitError('owner', `the lock's DAV:owner is ${ownerBytes} bytes; at most ${maxLockOwnerBytes} are kept`);
    }
    const who = lock.principal ?? 'anonymous requests';
    const s = lock.principal ? 's' : '';
    const held = this.held.get(lock.principal) ?? { count: 0, bytes: 0 };
    if (maxLocksPerUser && held.count >= maxLocksPerUser) {
      throw new LockLimitError('user', `${who} already hold${s} ${held.count} locks here, the most allowed: unlock some first`);
    }
    const size = sizeOf(lock);
    if (maxLockBytesPerUser && held.bytes + size > maxLockBytesPerUser) {
      throw new LockLimitError('user', `${who} already hold${s} ${held.count} locks of ${held.bytes} bytes here; this one (${size} bytes) would pass the ${maxLockBytesPerUser} allowed: unlock some first`);
    }
    if (maxLockTableBytes && !this.isOwners(lock) && this.othersBytes + size > maxLockTableBytes) {
      throw new LockLimitError('table', `this lock table is full (${maxLockTableBytes} bytes of other users' locks): unlock some first`);
    }
  }

  private isOwners(lock: Lock): boolean {
    return this.tableOwner !== undefined && lock.principal === this.tableOwner;
  }

  private add(lock: Lock): void {
    this.drop(lock.token);
    const size = sizeOf(lock);
    this.locks.set(lock.token, lock);
    this.sizes.set(lock.token, size);
    this.count(lock, 1, size);
  }

  private drop(token: string): boolean {
    const lock = this.locks.get(token);
    if (!lock) return false;
    this.count(lock, -1, -(this.sizes.get(token) ?? 0));
    this.sizes.delete(token);
    return this.locks.delete(token);
  }

  private count(lock: Lock, locks: number, bytes: number): void {
    const held = this.held.get(lock.principal) ?? { count: 0, bytes: 0 };
    held.count += locks;
    held.bytes += bytes;
    if (held.count > 0) this.held.set(lock.principal, held);
    else this.held.delete(lock.principal);
    if (!this.isOwners(lock)) this.othersBytes += bytes;
  }

  private conflictFor(root: string, depth: LockDepth, scope: LockScope): Lock | undefined {
    const candidates = [...this.covering(root), ...(depth === 'infinity' ? this.within(root) : [])];
    return candidates.find((l) => l.scope === 'exclusive' || scope === 'exclusive');
  }

  /**
   * Forgets expired locks and those `admits` refuses; their files go too, later, under the table lock
   * (the next start would drop them anyway).
   */
  private purge(): void {
    const now = Date.now();
    const gone: string[] = [];
    for (const [token, l] of this.locks) {
      if (this.isOver(l, now)) {
        this.drop(token);
        gone.push(token);
      }
    }
    if (gone.length && this.store) void this.reap(gone).catch(() => undefined);
  }

  /** Removes the files of locks purged here, unless another process changed them since (caught up: back in the table). */
  private async reap(tokens: string[]): Promise<void> {
    await this.store!.exclusive(async () => {
      this.catchUp(true);
      const now = Date.now();
      const still = tokens.filter((t) => {
        const l = this.locks.get(t);
        return !l || this.isOver(l, now);
      });
      for (const t of still) this.drop(t);
      await Promise.allSettled(still.map((t) => this.store!.delete(t)));
    });
  }

  /** Whether a lock no longer stands: expired, or refused by `admits`. */
  private isOver(l: Lock, now: number): boolean {
    return (l.expires !== null && l.expires <= now) || (this.admits !== undefined && !this.admits(l));
  }
}

/** A lock's size as stored. */
function sizeOf(lock: Lock): number {
  return Buffer.byteLength(JSON.stringify(lock));
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

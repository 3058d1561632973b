/**
 * What a lock is (RFC 4918 §6): the record the lock manager keeps, the store persists and the DAV
 * layer renders. Its own module so that the manager and its store both import it, not each other.
 */
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
  /**
   * Epoch ms when the lock was taken (an UNLOCK tells the backend, so git can tell a lock held over a
   * whole burst from one taken for one file). Absent on locks persisted before it was kept.
   */
  created?: number;
}

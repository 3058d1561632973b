/**
 * The rules every operation of the folder backend applies to a client's path: which names are
 * reserved (sidecars, the users file, the state folder), the symbolic-link policy for writes
 * (./containment.ts), verified opens, and where temp files go.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BackendError } from '../errors.js';
import type { Containment, Opened } from './containment.js';
import { SIDECAR } from './props-store.js';

export const STATE_NAME = '.gitdav';
/** lib/auth/users-file.ts keeps the server's users here, in the root. */
export const USERS_FILE = '.htpasswd';

export class ServedFolder {
  constructor(
    readonly paths: Containment,
    /** Uploads and trees being built, and what a DELETE or an overwrite set aside. */
    readonly tmpDir: string,
    /** The state folder's client path when it lies inside the root (`/.gitdav` by default): hidden. */
    readonly statePath: string | null,
  ) {}

  abs(path: string): string {
    return this.paths.abs(path);
  }

  tmpName(): string {
    // Removed from under us (by hand, or by an older gitdav taking it for a stray file): made again.
    if (!existsSync(this.tmpDir)) mkdirSync(this.tmpDir, { recursive: true });
    return join(this.tmpDir, `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`);
  }

  isHidden(path: string): boolean {
    const segs = path.split('/');
    if (segs.includes(SIDECAR)) return true;
    // The server root's users file: never served, and never written by a client (it would turn on
    // logins with passwords of the client's choosing).
    if (path === `/${USERS_FILE}`) return true;
    // The state folder (sync-token.key, server.pid, locks) wherever it is inside the root, not only
    // under its default name.
    return this.statePath !== null && (path === this.statePath || path.startsWith(this.statePath + '/'));
  }

  /**
   * isHidden for the members of one folder, by name: what a listing asks for every member, without
   * splitting each member's path again. The same answers as isHidden(joinPath(folder, name)).
   */
  hiddenIn(folder: string): (name: string) => boolean {
    if (this.isHidden(folder)) return () => true;
    const inside = folder === '/' ? '/' : folder + '/';
    const state = this.statePath !== null && this.statePath.startsWith(inside) && !this.statePath.slice(inside.length).includes('/') ? this.statePath.slice(inside.length) : null;
    const users = folder === '/' ? USERS_FILE : null;
    return (name) => name === SIDECAR || name === users || name === state;
  }

  /** Refuses reserved names and paths through symbolic links (the policy's `write`). */
  async writable(path: string): Promise<void> {
    if (this.isHidden(path)) throw new BackendError('Forbidden', path, `${SIDECAR}, ${USERS_FILE} and the server's state folder (${this.statePath ?? STATE_NAME}) are reserved names`);
    await this.paths.check(path, 'write');
  }

  /**
   * Refuses to delete, move or copy a folder that holds the state folder (a custom stateDir inside
   * the root): moved, its key and locks would leave the hidden path; copied, they would be visible.
   */
  keepState(path: string): void {
    if (this.statePath !== null && path !== '/' && this.statePath.startsWith(path + '/')) {
      throw new BackendError('Forbidden', path, `this folder holds the server's state folder (${this.statePath}): it cannot be deleted, moved or copied`);
    }
  }

  /** Runs `fn` on `path` opened and verified (Containment.open); NotFound if it is not there (any more). */
  async fromVerified<T>(path: string, flags: number, fn: (opened: Opened) => Promise<T>): Promise<T> {
    const opened = await this.paths.open(path, flags);
    if (!opened) throw new BackendError('NotFound', path);
    try {
      return await fn(opened);
    } finally {
      await opened.fh.close();
    }
  }
}

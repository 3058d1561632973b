/**
 * Where a client's path may lead on disk (folder backend): the symbolic-link policy, and the limits
 * of names and paths the filesystem itself would refuse with an error that is not the client's to read.
 *
 * Policy (`symlinks` in the config file), as Apache's `FollowSymLinks`/`SymLinksIfOwnerMatch` and
 * nginx's `disable_symlinks` are a policy:
 * - `follow-inside` (default): a link is followed only if its real target lies inside the folder that
 *   holds the link. Every folder then contains everything reachable below it, so no path leaves a
 *   shared folder (or the root) through a link, whoever shares what; a link to its own folder or an
 *   ancestor (a loop) is not followed either. Paths through a link are read-only: a write through one
 *   (or of the link itself) is refused, so each file has exactly one writable name and a lock, an
 *   If-Match or a calendar's UID index taken on that name cannot be bypassed through an alias.
 * - `refuse`: no link is followed; links are invisible (nginx's `disable_symlinks on`).
 * Links that leave their folder (`docs/lnk -> ../private`, `photos -> /mnt/photos`) are never followed:
 * the one rule that holds at every share without asking which folders are shared.
 */
import { closeSync, constants as fsc, open as openCb, openSync, promises as fsp, readlinkSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { promisify } from 'node:util';
import { BackendError } from '../errors.js';

export type SymlinkPolicy = 'follow-inside' | 'refuse';
export const SYMLINK_POLICIES: readonly SymlinkPolicy[] = ['follow-inside', 'refuse'];
export const DEFAULT_SYMLINK_POLICY: SymlinkPolicy = 'follow-inside';

/** Linux's NAME_MAX (bytes of one name) and PATH_MAX (bytes of a path, with its NUL). */
export const NAME_MAX = 255;
export const PATH_MAX = 4096;

export type Access = 'read' | 'write';

/**
 * Linux's O_PATH: a handle on the name alone, to check and stat what a path leads to without read
 * permission and without blocking on a FIFO. Elsewhere a plain read-only open.
 */
export const O_PATH = process.platform === 'linux' ? 0o10000000 : fsc.O_RDONLY;

/** A path opened and verified: `via` reaches the very same file or folder (lookups below it too). */
export interface Opened {
  fh: FileHandle;
  /** Where the opened file or folder is (no link in it). */
  real: string;
  /** `/proc/self/fd/N`: a name for the open handle, that no rename elsewhere can redirect. */
  via: string;
}

/**
 * Tests only: run before and after a path is checked. A test swaps folders here to hold open the
 * window between a check and the use of the path, which a client can only hit by chance.
 */
export const raceHooks: {
  beforeCheck?: (path: string, access: Access) => Promise<void> | void;
  afterCheck?: (path: string, access: Access) => Promise<void> | void;
} = {};

export class Containment {
  constructor(
    /** The root, already a real path (no links in it). */
    private readonly root: string,
    readonly policy: SymlinkPolicy,
    /** The server's state folder (real path) if it lies inside the root: never opened for a client. */
    private readonly stateDir: string | null = null,
  ) {}

  /** Whether a real path is the state folder or inside it (reached through a link, say). */
  private isState(real: string): boolean {
    return this.stateDir !== null && (real === this.stateDir || real.startsWith(this.stateDir + sep));
  }

  /** The file system path of a client path, refused (400/414) if the file system could not hold it. */
  abs(path: string): string {
    if (path === '/') return this.root;
    const segs = path.slice(1).split('/');
    for (const seg of segs) {
      if (Buffer.byteLength(seg) > NAME_MAX) throw new BackendError('InvalidName', path, `a name is longer than ${NAME_MAX} bytes, which the file system cannot store`);
    }
    const abs = join(this.root, ...segs);
    if (Buffer.byteLength(abs) >= PATH_MAX) throw new BackendError('PathTooLong', path, `the path is longer than the file system allows (${PATH_MAX} bytes with the served folder's own)`);
    return abs;
  }

  /**
   * Throws unless every link on the way to `path` may be followed for `access` (Forbidden), or when
   * the links loop (LoopDetected). A path that does not exist (wholly or from some point) passes: what
   * is not there cannot lead anywhere.
   */
  async check(path: string, access: Access): Promise<string | null> {
    await raceHooks.beforeCheck?.(path, access);
    const real = await this.checkNow(path, access);
    await raceHooks.afterCheck?.(path, access);
    return real;
  }

  /**
   * Opens `path` and verifies what was opened, null if it is not there. A check by name followed by
   * an open by name can be raced (a folder renamed in between, so the open goes through a link the
   * check never saw): so the path is checked, then opened, and the open handle's real location
   * (/proc/self/fd/N) must be where the check said the path leads. If not, the path changed under the
   * request: it is treated as not there. Read from the handle (or `via`), never by name again.
   */
  async open(path: string, flags: number): Promise<Opened | null> {
    return (await this.openDirect(path, flags)) ?? this.openChecked(path, flags);
  }

  /**
   * `openDirect` below without a promise, and only ever as a handle on the name alone (O_PATH): open,
   * readlink of /proc/self/fd/N and the descriptor returned, all synchronous (a GET's open and close
   * went through the thread pool, a context switch each on a busy machine). For reading, the caller
   * reopens the verified descriptor through /proc/self/fd/N (as `finish`), so nothing behind a link
   * out of the root is ever opened for reading. Null when this cannot decide (a link on the way, not
   * there, an error, or a test's race hooks are set, which need the awaited path): the caller then
   * takes `open`, whose answers (refusals, errors) stay as they were. The same check as `openDirect`.
   */
  openFast(path: string): { fd: number; real: string } | null {
    if (raceHooks.beforeCheck || raceHooks.afterCheck) return null;
    const abs = this.abs(path);
    if (this.isState(abs)) return null;
    let fd: number;
    try {
      fd = openSync(abs, O_PATH | fsc.O_NONBLOCK);
    } catch {
      return null;
    }
    let real: string | null = null;
    try {
      real = readlinkSync(`/proc/self/fd/${fd}`); // in /proc: answered from the kernel's memory
    } catch {
      // not answered: the checked path decides
    }
    if (real === abs) return { fd, real };
    closeSync(fd);
    return null;
  }

  /**
   * The common case in one open and one readlink, without the realpath before: the path is opened
   * as the client named it, then the kernel says where the handle is. If that is the path itself,
   * character for character, no name on the way was a link (a link would make the kernel's path
   * differ) and the file is inside the root, not the state folder: exactly what `check` would have
   * found, and checked on the handle itself, so no rename before or after the open can change the
   * answer. Anything else (a link on the way, not there, an error, a file renamed since) closes the
   * handle and takes the checked path below, so errors and refusals stay as they were.
   * The first open is of the name alone (O_PATH, see openName): a link to a device or a FIFO outside
   * the root is never opened for reading before it is refused.
   */
  private async openDirect(path: string, flags: number): Promise<Opened | null> {
    const abs = this.abs(path);
    if (this.isState(abs)) return null;
    await raceHooks.beforeCheck?.(path, 'read');
    let named: Named;
    try {
      named = await openName(abs, flags);
    } catch {
      return null;
    }
    // Tests swap folders here: what the handle is checked against is then no longer what was opened.
    await raceHooks.afterCheck?.(path, 'read');
    let real: string | null = null;
    try {
      real = readlinkSync(viaOf(named)); // in /proc: answered from the kernel's memory, never waits on a disk
    } catch {
      // not answered: the checked path decides
    }
    if (real !== abs) {
      await closeName(named);
      return null;
    }
    try {
      return await finish(named, real, flags);
    } catch {
      return null; // not openable so (a file opened as a folder, no permission): the checked path says how
    }
  }

  private async openChecked(path: string, flags: number): Promise<Opened | null> {
    const expected = await this.check(path, 'read');
    let named: Named;
    try {
      named = await openName(this.abs(path), flags);
    } catch (err) {
      if (isMissing(err)) return null;
      if (codeOf(err) === 'ELOOP') throw loop(path);
      throw err;
    }
    let accepted = false;
    try {
      accepted = expected !== null && !this.isState(expected) && (await this.opened(viaOf(named))) === expected;
    } finally {
      if (!accepted) await closeName(named);
    }
    if (!accepted) return null;
    try {
      return await finish(named, expected!, flags);
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  /** Where an open handle is now: the kernel's own path of it (`via`: /proc/self/fd/N). */
  private async opened(via: string): Promise<string> {
    try {
      return readlinkSync(via); // in /proc: answered from the kernel's memory, never waits on a disk
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') throw err;
      throw new Error('the folder backend needs /proc (Linux) to verify what it opened');
    }
  }

  /** Whether a member opened through a verified folder (`via/name`) stays inside that folder. */
  async insideOf(folder: Opened, fh: FileHandle): Promise<boolean> {
    if (this.policy === 'refuse') return false;
    const real = await this.opened(`/proc/self/fd/${fh.fd}`);
    return real.startsWith(folder.real + sep) && !this.isState(real);
  }

  /** The real path `path` leads to (as the policy allows), null if it is not there. */
  private async checkNow(path: string, access: Access): Promise<string | null> {
    const abs = this.abs(path);
    // The common case costs one realpath: no link anywhere on the way.
    try {
      if ((await fsp.realpath(abs)) === abs) return abs;
    } catch (err) {
      const code = codeOf(err);
      if (code === 'ELOOP') throw loop(path);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    }
    return this.walk(path, access);
  }

  /** Name by name from the root, with lstat: which names are links, and where each leads. */
  private async walk(path: string, access: Access): Promise<string | null> {
    let dir = this.root;
    for (const seg of path.slice(1).split('/')) {
      if (!seg) continue;
      const here = join(dir, seg);
      const st = await fsp.lstat(here).catch((err: unknown) => {
        if (isMissing(err)) return null;
        throw err;
      });
      if (!st) return null; // nothing there, and nothing below it
      if (!st.isSymbolicLink()) {
        dir = here;
        continue;
      }
      let real: string | null;
      try {
        real = await fsp.realpath(here);
      } catch (err) {
        if (codeOf(err) === 'ELOOP') throw loop(path);
        if (!isMissing(err)) throw err;
        real = null; // a dangling link
      }
      if (access === 'write') {
        throw new BackendError('Forbidden', path, `"${seg}" is a symbolic link: it can be read through (if it stays in its folder) but not written through or replaced; write to its target's own path`);
      }
      if (real === null) return null; // leads nowhere: the path is simply not there
      if (this.policy === 'refuse') throw new BackendError('Forbidden', path, `"${seg}" is a symbolic link, and this server follows none (symlinks: "refuse")`);
      if (!real.startsWith(dir + sep)) {
        throw new BackendError('Forbidden', path, `"${seg}" is a symbolic link that leads out of the folder holding it; such links are not followed (symlinks: "follow-inside")`);
      }
      dir = real;
    }
    return dir;
  }
}

/**
 * A handle on a name, not yet on what it leads to: the caller's own handle when it asked for O_PATH
 * (stat, listings: never opens anything behind the name), else a bare O_PATH descriptor to be
 * verified and then reopened for reading (finish).
 */
type Named = { fh: FileHandle } | { fd: number };

const openFd = promisify(openCb);

/**
 * Opens `abs` as a handle on the name alone (O_PATH): links on the way are followed, but what they
 * lead to is not opened (no device's driver runs, a FIFO does not wait for a writer); O_DIRECTORY is
 * kept, so a file asked for as a folder fails here as it did. A caller that asked for O_PATH gets
 * this very handle (no second open).
 */
async function openName(abs: string, flags: number): Promise<Named> {
  // Reads and handles only: O_NOFOLLOW would fail on /proc/self/fd/N (a link), O_CREAT or O_WRONLY would
  // fail at the O_PATH open or skip check(path, 'write'); refused rather than dropped.
  if ((flags & ~(O_PATH | fsc.O_DIRECTORY | fsc.O_NONBLOCK)) !== 0) throw new Error(`Containment.open: flags 0o${flags.toString(8)} not supported`);
  if (O_PATH !== fsc.O_RDONLY && (flags & O_PATH) !== 0) return { fh: await fsp.open(abs, flags | fsc.O_NONBLOCK) };
  return { fd: await openFd(abs, O_PATH | fsc.O_NONBLOCK | (flags & fsc.O_DIRECTORY)) };
}

function viaOf(named: Named): string {
  return `/proc/self/fd/${'fh' in named ? named.fh.fd : named.fd}`;
}

async function closeName(named: Named): Promise<void> {
  if ('fh' in named) await named.fh.close();
  else closeSync(named.fd); // an O_PATH descriptor: nothing to flush, nothing to wait for
}

/**
 * The verified handle as the caller asked for it: its own O_PATH one, or the same file opened with
 * `flags` through `/proc/self/fd/N` (the kernel goes straight to that file: no path walk, no link,
 * no rename can intervene). O_NONBLOCK: a FIFO inside the root must not block the open either.
 */
async function finish(named: Named, real: string, flags: number): Promise<Opened> {
  if ('fh' in named) return { fh: named.fh, real, via: viaOf(named) };
  try {
    const fh = await fsp.open(viaOf(named), flags | fsc.O_NONBLOCK);
    return { fh, real, via: `/proc/self/fd/${fh.fd}` };
  } finally {
    closeSync(named.fd);
  }
}

function loop(path: string): BackendError {
  return new BackendError('LoopDetected', path, 'the path runs into a loop of symbolic links');
}

function codeOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

export function isMissing(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Refs, read and updated the way native git does: `<ref>.lock` created exclusively, the current value
 * compared with the expected one, the new value written and fsync'ed, then renamed over the ref. Two
 * gitdav processes, or gitdav and `git update-ref`/`git push`, can share a repository without losing
 * updates (isomorphic-git's writeRef has only an in-process lock and no old-value check).
 *
 * Not written through util/durable-file.ts, on purpose: there the temp file is a private fresh name
 * written in one step, here it is git's lock, created before the old value is read, and checked to
 * be still ours between the fsync and the rename; a fresh temp name would not lock out native git.
 * Durability as git's own: the new value is fsynced before the rename (the committer has fsynced
 * the objects before), the folder is not, so a power cut can at worst undo the last ref move, never
 * leave a ref naming missing objects.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, statSync, type BigIntStats } from 'node:fs';
import { dirname, join } from 'node:path';
import { gitProbe } from './probe.js';

/**
 * A ref lock is held for milliseconds (read, write, fsync, rename). One older than this was left by a
 * writer that died holding it (kill -9, power loss): without breaking it, the branch could not move
 * again until someone deleted it by hand.
 */
export const STALE_LOCK_MS = 3000;

export class RefLockedError extends Error {
  override name = 'RefLockedError';
}

/** True for names git itself would accept (git check-ref-format, the parts that matter here). */
export function isValidRefName(name: string): boolean {
  if (!name || name.length > 255) return false;
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  if (name.includes('..') || name.includes('@{') || name.includes('//')) return false;
  if (name.startsWith('/') || name.endsWith('/') || name.endsWith('.') || name === '@') return false;
  return name.split('/').every((part) => part !== '' && !part.startsWith('.') && !part.endsWith('.lock'));
}

/**
 * A file older than this (by its mtime, against the clock now) is trusted to be told apart from any
 * later version by its stat alone: see FileIdentityCache.
 */
export const SETTLED_MS = 100;

/**
 * The same for a file whose stored times have no sub-second part: a file system keeping whole seconds
 * (ext4 with 128-byte inodes, HFS+, many CIFS/sshfs mounts) or two (FAT). Two versions written in one
 * such tick can share inode (git's lock file and the ref alternate between two inodes), size (a ref is
 * always 41 bytes), mtime and ctime; only once the tick is over can no later version repeat them.
 */
export const SETTLED_COARSE_MS = 2000;

/** What FileIdentityCache needs from the system; replaced in tests to drive coarse timestamps. */
export interface IdentitySource {
  /** A bigint stat of the path, or undefined when it is missing. */
  stat(path: string): BigIntStats | undefined;
  /** Milliseconds since the epoch. */
  now(): number;
}

const systemSource: IdentitySource = {
  // A synchronous stat of one small local file costs microseconds, less than the promise round trip.
  stat: (path) => statSync(path, { bigint: true, throwIfNoEntry: false }),
  now: () => Date.now(),
};

const SECOND_NS = 1_000_000_000n;

/**
 * True when a file stamped `st` cannot be confused with a later version of itself: its times are
 * older than the file system's timestamp tick, so any later write gets later times.
 */
export function isSettled(st: Pick<BigIntStats, 'mtimeNs' | 'ctimeNs'>, nowMs: number): boolean {
  const coarse = st.mtimeNs % SECOND_NS === 0n && st.ctimeNs % SECOND_NS === 0n;
  const window = coarse ? SETTLED_COARSE_MS : SETTLED_MS;
  const newest = st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs;
  return nowMs - Number(newest / 1_000_000n) > window;
}

/**
 * The text of small files (refs, packed-refs) by the file's identity: device, inode, size, mtime and
 * ctime in nanoseconds. Git (and Refs.compareAndSwap) never writes a ref in place: it writes
 * `<ref>.lock` and renames it over, so a new version is a new inode with a new mtime. The one way a
 * stat could repeat is inode reuse within one timestamp tick (a few ms of the kernel's coarse clock,
 * or a whole second or two where the file system keeps no more), so, as git does for "racily clean"
 * index entries, a file changed within the last tick is never cached (isSettled): it is read again
 * until it has settled, and any later version then has later times. Bounded: one entry per file name
 * (a handful of refs).
 */
export class FileIdentityCache {
  private readonly entries = new Map<string, { id: string; text: string }>();

  constructor(private readonly source: IdentitySource = systemSource) {}

  /** The file's text, or null when it is missing; one stat when it has not changed. */
  async read(path: string): Promise<string | null> {
    let st: BigIntStats | undefined;
    try {
      st = this.source.stat(path);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    if (!st) {
      this.entries.delete(path);
      return null;
    }
    const id = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    const cached = this.entries.get(path);
    if (cached?.id === id) return cached.text;
    let text: string;
    try {
      text = await fsp.readFile(path, 'utf8');
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    // Read after the stat: if it changed in between, its times are recent, so it is not cached below.
    if (isSettled(st, this.source.now())) this.entries.set(path, { id, text });
    else this.entries.delete(path);
    return text;
  }
}

export class Refs {
  private readonly files: FileIdentityCache;
  private packedCache: { text: string; map: Map<string, string> } | null = null;

  /** `source`: the stat and clock behind the cache of ref files (tests pass a fake one). */
  constructor(
    private readonly gitdir: string,
    source?: IdentitySource,
  ) {
    this.files = new FileIdentityCache(source);
  }

  /**
   * Resolves a full ref name (`refs/heads/main`) or HEAD to a commit id; null if it does not exist.
   * Costs a stat per file when nothing changed (FileIdentityCache: never stale after a native commit,
   * push, gc or pack-refs, or another process's update, all of which rename a new file into place).
   */
  async read(ref: string, depth = 0, fresh = false): Promise<string | null> {
    if (depth > 5) return null;
    if (depth === 0) gitProbe?.ref(ref);
    const path = join(this.gitdir, ref);
    let text: string | null = null;
    if (fresh) {
      try {
        text = await fsp.readFile(path, 'utf8');
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    } else {
      text = await this.files.read(path);
    }
    if (text !== null) {
      text = text.trim();
      if (text.startsWith('ref: ')) return this.read(text.slice(5).trim(), depth + 1, fresh);
      return /^[0-9a-f]{40}$/.test(text) ? text : null;
    }
    return (await this.packed(fresh)).get(ref) ?? null;
  }

  /** Where HEAD points (`refs/heads/main`), or null for a detached HEAD. */
  async headTarget(): Promise<string | null> {
    const text = (await fsp.readFile(join(this.gitdir, 'HEAD'), 'utf8')).trim();
    return text.startsWith('ref: ') ? text.slice(5).trim() : null;
  }

  /** All refs under a prefix (`refs/heads/`), loose ones winning over packed ones. */
  async list(prefix: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const [name, oid] of await this.packed()) if (name.startsWith(prefix)) out.set(name, oid);
    const walk = async (dir: string): Promise<void> => {
      let names: string[];
      try {
        names = await fsp.readdir(join(this.gitdir, dir));
      } catch {
        return;
      }
      for (const n of names) {
        if (n.endsWith('.lock')) continue;
        const rel = `${dir}/${n}`;
        const st = await fsp.stat(join(this.gitdir, rel)).catch(() => null);
        if (!st) continue;
        if (st.isDirectory()) await walk(rel);
        else {
          const oid = await this.read(rel);
          if (oid) out.set(rel, oid);
        }
      }
    };
    await walk(prefix.replace(/\/$/, ''));
    return out;
  }

  /**
   * Moves `ref` from `expected` (null: must not exist) to `next`. Returns false when the ref holds
   * something else; throws RefLockedError if another writer keeps it locked past `waitMs`. A lock
   * older than `staleMs` (its writer died) is broken.
   */
  async compareAndSwap(ref: string, expected: string | null, next: string, waitMs = 5000, staleMs = STALE_LOCK_MS): Promise<boolean> {
    const path = join(this.gitdir, ref);
    const lock = `${path}.lock`;
    await fsp.mkdir(dirname(path), { recursive: true });
    const deadline = Date.now() + waitMs;
    let fh: fsp.FileHandle | undefined;
    for (let delay = 1; !fh; delay = Math.min(delay * 2, 50)) {
      try {
        fh = await fsp.open(lock, 'wx', 0o644);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (await this.breakIfStale(lock, staleMs)) continue;
        if (Date.now() > deadline) throw new RefLockedError(`${ref} stayed locked for ${waitMs} ms (${lock})`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    const ino = (await fh.stat()).ino;
    // Still our lock? (Only if we held it past `staleMs` could someone have broken it.)
    const stillOurs = async () => (await fsp.stat(lock).catch(() => null))?.ino === ino;
    let done = false;
    try {
      // Read afresh under the lock: the value compared must be the file's, not a remembered one.
      if ((await this.read(ref, 0, true)) !== expected) return false;
      await fh.writeFile(`${next}\n`);
      await fh.sync();
      await fh.close();
      fh = undefined;
      if (!(await stillOurs())) {
        done = true; // the lock there now is someone else's: leave it alone
        throw new RefLockedError(`${ref}: our lock was broken as stale before the update`);
      }
      await fsp.rename(lock, path);
      done = true;
      return true;
    } finally {
      await fh?.close();
      if (!done && (await stillOurs())) await fsp.rm(lock, { force: true });
    }
  }

  /**
   * Removes `lock` if it is older than `staleMs`. It is first renamed aside (atomic), so of several
   * processes breaking the same lock only one succeeds; if what was taken turns out to be a fresh lock
   * (made between our stat and rename), it is put back.
   */
  private async breakIfStale(lock: string, staleMs: number): Promise<boolean> {
    const st = await fsp.stat(lock).catch(() => null);
    if (!st || Date.now() - st.mtimeMs < staleMs) return false;
    const aside = join(this.gitdir, `gitdav-stale-${process.pid}-${randomBytes(6).toString('hex')}.lock`);
    try {
      await fsp.rename(lock, aside);
    } catch {
      return false; // gone already: someone else broke it (or its writer finished)
    }
    const taken = await fsp.stat(aside);
    if (taken.ino !== st.ino) await fsp.link(aside, lock).catch(() => undefined);
    await fsp.rm(aside, { force: true });
    return true;
  }

  /** Removes lock files older than `olderThanMs` left by a crashed writer (called at start). */
  async clearStaleLocks(olderThanMs = STALE_LOCK_MS): Promise<string[]> {
    const cleared: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await fsp.readdir(join(this.gitdir, dir), { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const rel = `${dir}/${e.name}`;
        if (e.isDirectory()) await walk(rel);
        else if (e.name.endsWith('.lock')) {
          if (await this.breakIfStale(join(this.gitdir, rel), olderThanMs)) cleared.push(rel);
        }
      }
    };
    await walk('refs');
    return cleared;
  }

  private async packed(fresh = false): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const path = join(this.gitdir, 'packed-refs');
    let text: string | null;
    try {
      text = fresh ? await fsp.readFile(path, 'utf8') : await this.files.read(path);
    } catch {
      return out;
    }
    if (text === null) return out;
    // Parsed once per version of the file (the same text object while the file is unchanged).
    if (this.packedCache?.text === text) return this.packedCache.map;
    for (const line of text.split('\n')) {
      const m = /^([0-9a-f]{40}) (\S+)$/.exec(line);
      if (m) out.set(m[2]!, m[1]!);
    }
    if (!fresh) this.packedCache = { text, map: out };
    return out;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

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
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { PinnedFile, type Look } from '../util/pinned-file.js';
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
 * How many ref files a Refs keeps pinned (open) at most: the branch the server serves, packed-refs
 * (read when that branch's loose file is gone), HEAD, and one more. Refs read beyond these (another
 * branch looked up now and then) push the least recently read one out, closing its descriptor.
 */
export const PINNED_REF_FILES = 4;

/**
 * The text of small files (refs, packed-refs), read again only when another file stands under the
 * name (backends/util/pinned-file.ts): one stat when nothing changed. Git (and Refs.compareAndSwap)
 * never writes a ref in place: it writes `<ref>.lock` and renames it over, so a new version is a new
 * inode; the file last read is kept open, so its inode number cannot be reused by a later version
 * (which a stat alone, inode and times, could not tell from it within one timestamp tick).
 * `git pack-refs --prune` and `git branch -d` remove a loose ref: the pin is released and the name
 * reads as missing (packed-refs then decides). Bounded: PINNED_REF_FILES descriptors, least recently
 * read closed first.
 */
export class PinnedFiles {
  /** Oldest first (a Map keeps insertion order; a hit is moved to the end). */
  private readonly files = new Map<string, { pin: PinnedFile; text: string | null }>();

  constructor(private readonly max = PINNED_REF_FILES) {}

  /** The file's text, or null when it is missing (or not a file). */
  read(path: string): string | null {
    let f = this.files.get(path);
    if (f) this.files.delete(path);
    else {
      f = { pin: new PinnedFile(path), text: null };
      for (const [oldest, o] of this.files) {
        if (this.files.size < this.max) break;
        o.pin.close();
        this.files.delete(oldest);
      }
    }
    this.files.set(path, f);
    let look: Look;
    try {
      look = f.pin.look();
    } catch (err) {
      if (!isMissing(err)) throw err;
      look = { kind: 'missing' };
    }
    if (look.kind === 'missing') f.text = null;
    else if (look.kind === 'changed') f.text = look.text;
    return f.text;
  }

  /** How many descriptors are held now (tests). */
  get held(): number {
    let n = 0;
    for (const f of this.files.values()) if (f.pin.pinned) n++;
    return n;
  }

  close(): void {
    for (const f of this.files.values()) f.pin.close();
    this.files.clear();
  }
}

export class Refs {
  private readonly files = new PinnedFiles();
  private packedCache: { text: string; map: Map<string, string> } | null = null;

  constructor(private readonly gitdir: string) {}

  /** Closes the ref files held open (the backend's close). */
  close(): void {
    this.files.close();
  }

  /**
   * Resolves a full ref name (`refs/heads/main`) or HEAD to a commit id; null if it does not exist.
   * Costs a stat per file when nothing changed (PinnedFiles: never stale after a native commit,
   * push, gc or pack-refs, or another process's update, all of which rename a new file into place or
   * remove one). `fresh` reads the files by name, remembering nothing (compareAndSwap under its lock,
   * a replay after a failed one, and list()).
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
      text = this.files.read(path);
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

  /**
   * All refs under a prefix (`refs/heads/`), loose ones winning over packed ones; read by name, so a
   * Refs used only for listings (fsck, the default branch at start) holds no descriptor open.
   */
  async list(prefix: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const [name, oid] of await this.packed(true)) if (name.startsWith(prefix)) out.set(name, oid);
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
          const oid = await this.read(rel, 0, true); // by name: a listing pins no descriptor per ref
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
      text = fresh ? await fsp.readFile(path, 'utf8') : this.files.read(path);
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

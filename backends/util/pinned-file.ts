/**
 * A small file that processes replace whole (temp file, rename: a new inode on every save), read again
 * only when another inode stands under its name: one stat per look. The file last read is kept open,
 * so its inode's number cannot be given to another file meanwhile and a replacement is never taken for
 * it (an mtime could not tell two saves within its granularity apart). No clock is involved.
 *
 * Size, mtime and ctime are compared too, so a file written in place (by hand: `echo … > file`) is
 * read again as well; only such an in-place write within one timestamp tick of our read could go
 * unseen, which no writer that replaces the file whole (git, durable-file.ts) can cause.
 */
import { closeSync, constants as fsc, fstatSync, openSync, readFileSync, statSync, type BigIntStats } from 'node:fs';

/** What stands under the name, compared with the file last read. */
export type Look = { kind: 'same' } | { kind: 'missing' } | { kind: 'changed'; text: string };

const SAME: Look = { kind: 'same' };
const MISSING: Look = { kind: 'missing' };

interface Seen {
  fd: number;
  st: BigIntStats;
}

export class PinnedFile {
  /** The file as last read, kept open; null: none read yet (or it went missing). */
  private seen: Seen | null = null;

  constructor(readonly path: string) {}

  /**
   * The file's text when another save replaced the one last read (or at the first look); undefined
   * when it is the same file or there is none. A file that cannot be read gives '' (its content is lost).
   */
  changedText(): string | undefined {
    const fd = this.pin();
    if (fd === 'same' || fd === 'missing') return undefined; // missing: never saved yet, or being replaced
    try {
      return readFileSync(fd, 'utf8');
    } catch {
      return '';
    }
  }

  /**
   * The same look, telling a file that is not there (removed, or not a regular file: a folder) from
   * an unchanged one; a missing file releases the pin. Read errors are thrown (and the pin released,
   * so the next look reads again).
   */
  look(): Look {
    const fd = this.pin();
    if (fd === 'same') return SAME;
    if (fd === 'missing') return MISSING;
    try {
      return { kind: 'changed', text: readFileSync(fd, 'utf8') };
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Whether a file is pinned now (tests: the pin is released when the file goes missing). */
  get pinned(): boolean {
    return this.seen !== null;
  }

  close(): void {
    if (this.seen) closeSync(this.seen.fd);
    this.seen = null;
  }

  /** 'same', 'missing', or the descriptor of another file now pinned (to be read by the caller). */
  private pin(): number | 'same' | 'missing' {
    let st: BigIntStats | undefined;
    try {
      st = statSync(this.path, { bigint: true, throwIfNoEntry: false });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw err;
    }
    if (!st || !st.isFile()) return this.lost();
    // Same inode as the one held open: the same file (its number cannot have been reused).
    if (this.seen && sameFile(this.seen.st, st)) return 'same';
    let fd: number;
    try {
      // O_NONBLOCK: if a FIFO was swapped in since the stat, the open must not wait for a writer.
      fd = openSync(this.path, fsc.O_RDONLY | fsc.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return this.lost();
      throw err;
    }
    const pinned = fstatSync(fd, { bigint: true });
    if (!pinned.isFile()) {
      closeSync(fd);
      return this.lost();
    }
    this.close();
    this.seen = { fd, st: pinned };
    return fd;
  }

  private lost(): 'missing' {
    this.close();
    return 'missing';
  }
}

function sameFile(a: BigIntStats, b: BigIntStats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

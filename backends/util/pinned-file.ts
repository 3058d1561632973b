/**
 * A small file that processes replace whole (temp file, rename: a new inode on every save), read again
 * only when another inode stands under its name: one stat per look. The file last read is kept open,
 * so its inode's number cannot be given to another file meanwhile and a replacement is never taken for
 * it (an mtime could not tell two saves within its granularity apart).
 */
import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';

export class PinnedFile {
  /** The file as last read, kept open; null: none read yet. */
  private seen: { fd: number; dev: bigint; ino: bigint } | null = null;

  constructor(readonly path: string) {}

  /**
   * The file's text when another save replaced the one last read (or at the first look); undefined
   * when it is the same file or there is none. A file that cannot be read gives '' (its content is lost).
   */
  changedText(): string | undefined {
    let st;
    try {
      st = statSync(this.path, { bigint: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return undefined; // never saved yet
    }
    if (this.seen && this.seen.ino === st.ino && this.seen.dev === st.dev) return undefined;
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const pinned = fstatSync(fd, { bigint: true });
    this.close();
    this.seen = { fd, dev: pinned.dev, ino: pinned.ino };
    try {
      return readFileSync(fd, 'utf8');
    } catch {
      return '';
    }
  }

  close(): void {
    if (this.seen) closeSync(this.seen.fd);
    this.seen = null;
  }
}

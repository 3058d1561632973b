/**
 * How several processes on one state dir keep their lock tables equal: an append-only journal,
 * `<stateDir>/locks/journal`, of which lock files changed. Every change is made under the table lock
 * (`locks/table.lock`, backends/util/lock-file.ts): the lock's file is written or removed, then one
 * line naming that file is appended, then the table lock is released, so before a LOCK or UNLOCK is
 * answered its line is in the journal. A reader keeps the journal open and, before it answers from its
 * table, compares the journal's size (fstat of that descriptor) with what it has read: equal means
 * nothing changed, more means it reads the new lines and re-reads just the files they name.
 *
 * Why a size is never stale, where an mtime could be: the file only grows while anyone has it open
 * (appends only; a change always adds bytes), and the descriptor pins its inode, so a replaced or
 * recreated journal can never pass for the one a reader holds; mtimes have a coarse granularity and
 * inode numbers are reused, so neither would do. When the journal passes 1 MiB the writer starts a
 * new one (rename over the old name) and appends `reopen` to the old one: a reader that reads it
 * opens the new journal and reloads the whole table. `*` asks every reader for a whole reload (written
 * after a dead holder's table lock was taken over: its last change may have no line). The journal is
 * never fsynced: it tells live processes about changes; after a crash every process starts afresh
 * from the lock files, which are durable.
 *
 * A check costs one fstat, and at most one per turn of the event loop (the answer is reused until
 * the current run of microtasks ends: whatever caused this turn's work arrived before the check).
 */
import { appendFileSync, closeSync, constants as fsc, existsSync, fstatSync, openSync, readSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/** What changed since the last look: nothing, some lock files (by name), or anything (reload all). */
export type JournalNews = { kind: 'none' } | { kind: 'files'; names: Set<string> } | { kind: 'all' };

const NONE: JournalNews = { kind: 'none' };
const REOPEN = 'reopen';
const ALL = '*';
const LINE = /^[0-9a-f]{32}$/;
/** Past this size the writer starts a new journal. */
const MAX_BYTES = 1024 * 1024;

export class LockJournal {
  private fd = -1;
  /** Bytes of the open journal read so far (always at a line's end). */
  private offset = 0;
  private closed = false;
  /** Set while this turn's answer stands (see the module comment). */
  private checked = false;

  /** `maxBytes`: when to start a new journal (tests make it small). */
  constructor(
    readonly file: string,
    private readonly maxBytes = MAX_BYTES,
  ) {}

  /** What other processes changed since the last call; `force` looks even if this turn already did (under the table lock). */
  news(force = false): JournalNews {
    if (this.closed || (this.checked && !force)) return NONE;
    this.checked = true;
    queueMicrotask(() => (this.checked = false));
    if (this.fd < 0) return this.open() ? { kind: 'all' } : NONE;
    const size = fstatSync(this.fd).size;
    if (size === this.offset) return NONE;
    if (size < this.offset) return this.reopen(); // cut by hand: trust nothing
    const buf = Buffer.alloc(size - this.offset);
    const got = readSync(this.fd, buf, 0, buf.length, this.offset);
    const text = buf.subarray(0, got).toString('latin1');
    const end = text.lastIndexOf('\n');
    if (end < 0) return NONE; // a line being written: next time
    this.offset += end + 1;
    const names = new Set<string>();
    for (const line of text.slice(0, end).split('\n')) {
      if (line === REOPEN) return this.reopen();
      if (!LINE.test(line)) return { kind: 'all' }; // '*', or anything unexpected
      names.add(line);
    }
    return { kind: 'files', names };
  }

  /**
   * Appends the names of lock files just changed (under the table lock, after news(true) was
   * handled, so this process has read everything before its own lines); `all` asks for a reload.
   */
  append(names: string[] | 'all'): void {
    const text = names === 'all' ? `${ALL}\n` : names.map((n) => `${n}\n`).join('');
    if (this.closed) {
      appendFileSync(this.file, text);
      return;
    }
    if (this.fd < 0) {
      this.fd = openSync(this.file, fsc.O_RDWR | fsc.O_APPEND | fsc.O_CREAT, 0o644);
      this.offset = fstatSync(this.fd).size;
    }
    this.offset += writeSync(this.fd, text);
    if (this.offset > this.maxBytes) this.startNew();
  }

  close(): void {
    this.closed = true;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** A new, empty journal under the name; the old one tells its readers to reopen. */
  private startNew(): void {
    const tmp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(tmp, '', { flag: 'wx', mode: 0o644 });
    renameSync(tmp, this.file);
    writeSync(this.fd, `${REOPEN}\n`);
    closeSync(this.fd);
    this.fd = -1;
    this.open();
  }

  private reopen(): JournalNews {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.open();
    return { kind: 'all' };
  }

  /** Opens the journal if there is one, positioned at its end (the caller then reloads everything). */
  private open(): boolean {
    // Most servers never lock anything: no journal, checked per request without a thrown ENOENT (~30 µs).
    if (!existsSync(this.file)) return false;
    try {
      this.fd = openSync(this.file, fsc.O_RDWR | fsc.O_APPEND);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return false; // no journal yet (no lock written)
      throw err;
    }
    this.offset = fstatSync(this.fd).size;
    return true;
  }
}

/**
 * The write journal's file (docs/git-backend.md, "Writing"): `<stateDir>/journal/journal.log`, shared
 * by every process serving the repository. Bytes and strict decoding: ./format.ts.
 *
 * Contract:
 * - The file starts with a header naming the seq of its first record (seq grows for the repository's
 *   life) and the journal's id (random for a fresh file, kept across rotations: trailers name it). Records are framed `[u32 length][u32 crc32][JSON of JournalRecord]`. A record that does not
 *   frame or check is a torn tail: readers stop before it; an appender (holding the lock) truncates it.
 * - `transact` is the only way to append. Under `journal/journal.lock` (backends/util/lock-file.ts) it
 *   first reads what other processes appended (the same as read()), passes that to `build`, appends
 *   what `build` returns with one write and one fdatasync, and releases the lock. The caller answers
 *   its requests after transact resolves (acknowledged = durable). Calls made while one is in progress
 *   in this process are not merged by the journal; the caller groups its own requests.
 * - `read` (no lock) returns the records appended since this instance last read; cheap when nothing
 *   changed (one stat of the file by name). `reset: true` means the file was replaced (a rotation or
 *   a fresh start): drop what was applied from the old file and apply `records` (the whole new file).
 * - `withCommitLock` serialises committers across processes (`journal/commit.lock`), `tryCommitLock`
 *   returns null at once when another holds it.
 * - `rotate(committedSeq)`: under the journal lock, drops the records with seq <= committedSeq: it
 *   replaces the file (temp + fsync + rename + directory fsync) by one whose header names
 *   committedSeq + 1, holding the records after committedSeq (none, when every record is committed),
 *   seqs unchanged. Readers see a reset and read the kept records again. With records kept it does
 *   so only when it pays (the committed part is over ROTATE_PREFIX_BYTES or over half the file), so
 *   steady writes from several processes cannot starve rotation. Returns whether it replaced the file
 *   (or found it empty at committedSeq + 1 already).
 *
 * Details the contract leaves open:
 * - The first read of an instance says `reset: true` (a fresh start: the whole file).
 * - Records this instance appends are returned by `transact`, and records caught up by `transact` or
 *   `rotate` are handed to `build` or kept for the next `read`: each record reaches the caller once,
 *   with one exception: records handed to a `build` still running are also handed (once) to a `read`
 *   made meanwhile, so a read never misses a record that was durable before it began (the caller
 *   drops records it already has, by seq). If `build` throws, the records it was handed come back
 *   from the next `read` (or the next build).
 * - The floor: the caller raises it (`open(dir, { floor })`, `raiseFloor(seq)`) to this journal's committed
 *   seq (its mark and own-id trailers: ../committed-seq.ts), and the journal never numbers a record at or below it, whatever
 *   the file says (a cloned repository or a wiped state directory has a fresh journal at seq 1, and a
 *   record numbered 1 would look committed already and be dropped). A fresh file, or one re-created
 *   after a bad header, starts at floor + 1; a transact whose next seq is not above the floor first
 *   replaces the file (inside the lock) by an empty one at floor + 1. `rotate(c)` raises it to c too.
 *   Seqs never go back: an empty file whose first seq is already past committedSeq + 1 answers false.
 * - The file is created whole (header included) by temp + fsync + link, so two processes creating it
 *   at once end with one file and a reader never sees it without its header. A file whose header does
 *   not check (disk damage, a foreign file) yields no records; the next `transact` moves it aside
 *   (`journal.log.corrupt-<ms>`, for a person to look at) and starts a fresh one.
 * - Bytes a reader may have read are never rewritten in place. An append whose write or fdatasync
 *   fails replaces the file by its good prefix (a new inode: readers reset) or, if even that fails,
 *   leaves its bytes (whole records stay, as if acknowledged: the failed request is indeterminate).
 *   Before cutting a tail the lock holder decodes the file from its header; if its good records do not
 *   end where this instance thought, it reads the file again as a reset instead of cutting.
 * - A read in the process that is appending does not wait for that append's fdatasync (it holds the
 *   lock, so nothing else is new). Bytes past the last good record that did not decode (a dead
 *   writer's) are not read again while the file's size, mtime and ctime stay the same.
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '../../util/durable-file.js';
import { LockFile } from '../../util/lock-file.js';
import { Mutex } from '../../util/mutex.js';
import { readAt, statOrNull, writeAt } from './file-io.js';
import { decodeHeader, decodeRecords, encodeHeader, encodeRecords, framesLength, HEADER_BYTES, isJournalId, newJournalId } from './format.js';
import type { JournalEntry, JournalRecord } from './record.js';

export interface JournalRead {
  records: JournalRecord[];
  reset: boolean;
  /** Seq of the next record to be appended (last seq + 1), as far as this read saw. */
  nextSeq: number;
}

export const JOURNAL_FILE = 'journal.log';
/** rotate drops committed records ahead of uncommitted ones once they take more than this, or half the file. */
export const ROTATE_PREFIX_BYTES = 1024 * 1024;

/** A test seam: tests make an append's write, its fdatasync or the rewrite after a failure fail. Never set otherwise. */
export const journalFaults: {
  /** Called instead of the append's write: writes `bytes` (or a part) with `write`, and may throw. */
  write?: (bytes: Buffer, write: (part: Buffer) => Promise<void>) => Promise<void>;
  datasync?: () => Promise<void>;
  replace?: () => Promise<void>;
} = {};

export interface JournalOptions {
  /** The seq committed as far as the caller knows (its branch's trailers): see Journal.raiseFloor. */
  floor?: number;
}

export class Journal {
  private readonly log: string;
  private readonly journalLock: LockFile;
  private readonly commitLock: LockFile;
  /** Orders this instance's own uses of the fd and the offsets below. */
  private readonly state = new Mutex();

  /** The open file (null before the first read and after close), its identity and header. */
  private fd: FileHandle | null = null;
  private ino = -1;
  private dev = -1;
  private headerOk = false;
  /** End of the last good record: where the next one is read or appended. */
  private offset = 0;
  /** The file's size at the last read (bytes past `offset` are a record being written, or a torn tail). */
  private size = 0;
  private nextSeq = 1;
  /** The seq of the file's first record (its header). */
  private firstSeq = 1;
  private fileId = ''; // the header's journal id (kept across rotations, new for a fresh file); '' before the first read
  /** Set while this instance writes and fdatasyncs an append (reads then do not touch the file). */
  private appending = false;
  /** The stat of a file whose bytes past `offset` did not decode: unchanged, they are not read again. */
  private tail: { offset: number; size: number; mtimeMs: number; ctimeMs: number } | null = null;
  /** No record is numbered at or below it (raiseFloor). */
  private floor = 0;
  /** Records read but not yet handed to the caller (caught up by rotate). */
  private pending: { records: JournalRecord[]; reset: boolean } = { records: [], reset: false };
  /**
   * What a transact caught up and handed to its build, until the build ends. The caller shows them to
   * its readers from inside the build (the live state absorbs them), but a read() in between would find
   * nothing new: another process's acknowledged write missing (two workers accepting one UID). Such a
   * read gets them too, once.
   */
  private inHand: { records: JournalRecord[]; reset: boolean } | null = null;

  private constructor(readonly dir: string) {
    this.log = join(dir, JOURNAL_FILE);
    this.journalLock = new LockFile(join(dir, 'journal.lock'));
    this.commitLock = new LockFile(join(dir, 'commit.lock'));
  }

  /** Opens (creating if missing) `<stateDir>/journal`; with `options.floor`, numbers records above it (raiseFloor). */
  static async open(stateDir: string, options: JournalOptions = {}): Promise<Journal> {
    if (options.floor) return Journal.openAbove(stateDir, options.floor);
    const journal = new Journal(join(stateDir, 'journal'));
    // Only when missing: making one writes a temp file first, which fails on a full disk (the server must still start).
    if (!statOrNull(journal.log)) await journal.create(1);
    return journal;
  }

  /** open() with a floor (its own function so that open's lines stay as i14-jback merged them). */
  private static async openAbove(stateDir: string, floor: number): Promise<Journal> {
    const journal = new Journal(join(stateDir, 'journal'));
    journal.raiseFloor(floor);
    if (!statOrNull(journal.log)) await journal.create(1);
    return journal;
  }

  /**
   * Records committed up to `seq` (the caller's committed seq: its mark, its own-id trailers): no record will be
   * numbered at or below it. A fresh or re-created file starts above it, and the next transact replaces
   * a file whose next seq is not above it by an empty one (its records are committed, by this word).
   */
  raiseFloor(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`journal: bad floor ${seq}`);
    this.floor = Math.max(this.floor, seq);
  }

  /** The file's journal id as of the last read ('' before it): trailers and the committed mark name it. */
  get id(): string { return this.fileId; } // prettier-ignore

  /** The journal file's path (for diagnostics and tests). */
  get file(): string {
    return this.log;
  }

  async read(): Promise<JournalRead> {
    return this.state.run(async () => {
      // While this instance appends it holds the journal lock: nothing else can be new, and the bytes
      // past `offset` are its own. So a read does not wait for its fdatasync.
      if (!this.appending) await this.advance();
      const hand = this.inHand;
      // A replaced file (pending.reset) holds every record not committed by then: nothing to add.
      if (hand && !this.pending.reset && (hand.records.length || hand.reset)) this.pending = { records: [...hand.records, ...this.pending.records], reset: hand.reset };
      if (hand) this.inHand = { records: [], reset: false };
      return this.take();
    });
  }

  async transact<T>(build: (caughtUp: JournalRead) => Promise<{ entries: JournalEntry[]; result: T }>): Promise<{ records: JournalRecord[]; result: T }> {
    return this.journalLock.run(
      async () => {
        const caughtUp = await this.state.run(async () => {
          await this.advanceHeld();
          if (this.headerOk && this.nextSeq <= this.floor) {
            // Every record here is committed (the caller's word): start a file above the floor.
            await writeFileDurably(this.log, encodeHeader(this.floor + 1, this.fileId), { durability: 'fsync' });
            await this.advance(); // a new inode: reset, nothing in it
          }
          return (this.inHand = this.take());
        });
        const { entries, result } = await build(caughtUp).then(
          (built) => ((this.inHand = null), built),
          async (err: unknown) => {
            await this.state.run(async () => ((this.inHand = null), this.putBack(caughtUp)));
            throw err;
          },
        );
        if (entries.length === 0) return { records: [], result };
        const records = await this.append(entries);
        return { records, result };
      },
      { makeDir: true },
    );
  }

  async withCommitLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.commitLock.run(fn, { makeDir: true });
  }

  async tryCommitLock<T>(fn: () => Promise<T>): Promise<{ value: T } | null> {
    return this.commitLock.tryRun(fn, { makeDir: true });
  }

  async rotate(committedSeq: number): Promise<boolean> {
    if (!Number.isSafeInteger(committedSeq) || committedSeq < 0) throw new RangeError(`journal: bad committed seq ${committedSeq}`);
    this.raiseFloor(committedSeq);
    return this.journalLock.run(
      () =>
        this.state.run(async () => {
          await this.advanceHeld(); // what it reads stays pending for the next read
          if (this.nextSeq - 1 > committedSeq) return this.dropCommitted(committedSeq);
          if (this.nextSeq === committedSeq + 1 && this.offset === HEADER_BYTES) return true; // empty, at that seq already
          await writeFileDurably(this.log, encodeHeader(committedSeq + 1, this.fileId), { durability: 'fsync' });
          return true; // this fd stays on the old file: the next read sees the new one and says reset
        }),
      { makeDir: true },
    );
  }

  /**
   * Holding the lock, with records past `committedSeq` in the file: rewrites it keeping only those
   * (their seqs unchanged; the header names the first) when the committed prefix is worth dropping.
   */
  private async dropCommitted(committedSeq: number): Promise<boolean> {
    if (!this.headerOk || this.firstSeq > committedSeq) return false;
    const body = await readAt(this.fd!, HEADER_BYTES, this.offset - HEADER_BYTES);
    const prefix = framesLength(body, committedSeq - this.firstSeq + 1);
    if (prefix <= ROTATE_PREFIX_BYTES && prefix * 2 <= body.length) return false; // not worth a rewrite yet
    const kept = body.subarray(prefix);
    await writeFileDurably(this.log, Buffer.concat([encodeHeader(committedSeq + 1, this.fileId), kept]), { durability: 'fsync' });
    return true; // readers see a new inode: a reset, then the kept records
  }

  async close(): Promise<void> {
    await this.state.run(async () => {
      const fd = this.fd;
      this.fd = null;
      this.ino = -1;
      await fd?.close();
    });
  }

  /** Creates the file with its header (temp + fsync + link + directory fsync) unless it exists; never at or below the floor. */
  private async create(firstSeq: number): Promise<void> {
    await writeFileDurably(this.log, encodeHeader(Math.max(firstSeq, this.floor + 1), newJournalId()), { durability: 'fsync', replace: false }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }

  /** advance(), holding the journal lock: a file whose header does not check is moved aside and replaced. */
  private async advanceHeld(): Promise<void> {
    await this.advance();
    if (this.headerOk && this.size > this.offset) await this.verifyFraming();
    if (this.headerOk) return;
    await fsp.rename(this.log, `${this.log}.corrupt-${Date.now()}`).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await this.create(Math.max(1, this.nextSeq));
    await this.advance();
  }

  /**
   * Holding the lock, before a tail past `offset` is cut: decodes the file afresh from its header, and
   * if its good records do not end exactly at `offset` with `nextSeq` next (the bytes this instance
   * read were rewritten meanwhile), reads it all again as a reset instead of trusting the old offset.
   * Tails are rare (a writer killed mid-append, a failed append), so reading the file whole costs little.
   */
  private async verifyFraming(): Promise<void> {
    const bytes = await readAt(this.fd!, 0, this.size);
    const header = decodeHeader(bytes.subarray(0, HEADER_BYTES));
    const decoded = header && decodeRecords(bytes.subarray(HEADER_BYTES), header.firstSeq);
    if (header && decoded && HEADER_BYTES + decoded.consumed === this.offset && header.firstSeq + decoded.records.length === this.nextSeq) return;
    await this.reopen();
    await this.advance();
  }

  /** Reads what was appended since the last read into `pending` (a replaced file: all of it, reset). */
  private async advance(): Promise<void> {
    let st = statOrNull(this.log); // sync: a few µs, where a trip through the thread pool costs ~40
    if (!st) {
      await this.create(Math.max(1, this.nextSeq));
      st = statOrNull(this.log);
      if (!st) throw new Error(`journal: ${this.log} vanished as it was created`);
    }
    if (this.fd && st.ino === this.ino && st.dev === this.dev && st.size >= this.offset) {
      if (st.size === this.offset || !this.headerOk) return; // nothing new (the usual case)
      const t = this.tail;
      if (t && t.offset === this.offset && t.size === st.size && t.mtimeMs === st.mtimeMs && t.ctimeMs === st.ctimeMs) return; // the same leftover (a dead writer's)
      this.size = st.size;
    } else {
      await this.reopen();
      if (!this.headerOk) return;
    }
    if (this.size === this.offset) return;
    const buf = await readAt(this.fd!, this.offset, this.size - this.offset);
    const decoded = decodeRecords(buf, this.nextSeq);
    this.offset += decoded.consumed;
    this.tail = decoded.rest && st.size === this.size ? { offset: this.offset, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs } : null;
    this.nextSeq += decoded.records.length;
    this.pending.records.push(...decoded.records);
  }

  /** Opens the file by name afresh (a first read, a rotation, a file re-created or cut short): reset. */
  private async reopen(): Promise<void> {
    const old = this.fd;
    this.fd = null;
    await old?.close();
    const fd = await fsp.open(this.log, 'r+');
    const st = await fd.stat();
    this.fd = fd;
    this.ino = st.ino;
    this.dev = st.dev;
    this.size = st.size;
    this.pending = { records: [], reset: true };
    this.tail = null;
    const header = decodeHeader(await readAt(fd, 0, Math.min(HEADER_BYTES, st.size)));
    this.headerOk = header !== null;
    // A bad header: no records until the lock holder replaces the file; seqs never go back.
    if (!header) return;
    this.offset = HEADER_BYTES;
    this.nextSeq = header.firstSeq;
    this.firstSeq = header.firstSeq;
    this.fileId = header.id;
  }

  /** Records handed to a build that threw go back ahead of what was read since (unless the file was replaced since). */
  private putBack(caughtUp: JournalRead): void {
    if (this.pending.reset) return; // a newer file: those records are gone with the old one
    this.pending = { records: [...caughtUp.records, ...this.pending.records], reset: caughtUp.reset };
  }

  private take(): JournalRead {
    const read = { records: this.pending.records, reset: this.pending.reset, nextSeq: this.nextSeq };
    this.pending = { records: [], reset: false };
    return read;
  }

  /**
   * After a failed write or fdatasync. Other processes may have read some of the records already (they
   * are whole and check), so their bytes are never reused in place: the good prefix goes to a new file
   * (temp + fsync + rename + directory fsync), whose new inode makes every reader reset. If even that
   * fails (a full disk), the bytes stay: the next holder keeps the records that are whole (the failed
   * request is then indeterminate, which its 5xx allows) and cuts the rest after checking from the header.
   */
  private async dropFailed(fd: FileHandle): Promise<void> {
    try {
      await journalFaults.replace?.();
      await writeFileDurably(this.log, await readAt(fd, 0, this.offset), { durability: 'fsync' });
    } catch {
      // Left in place: this instance's next read or transact reads them like any other process's.
    }
  }

  /** Appends `entries` numbered from nextSeq (holding the journal lock, caught up): one write, one fdatasync. */
  private async append(entries: JournalEntry[]): Promise<JournalRecord[]> {
    const records = entries.map((entry, i) => ({ ...entry, seq: this.nextSeq + i }));
    const bytes = encodeRecords(records); // throws on a malformed entry: nothing written
    await this.state.run(async () => void (this.appending = true)); // after a read in progress
    const fd = this.fd!;
    try {
      // A torn tail: only the lock holder may cut it, and only once advanceHeld checked the framing from the header.
      if (this.size > this.offset) await fd.truncate(this.offset);
      this.size = this.offset;
      this.tail = null;
      const write = (part: Buffer) => writeAt(fd, part, this.offset);
      await (journalFaults.write ? journalFaults.write(bytes, write) : write(bytes));
      await journalFaults.datasync?.();
      await fd.datasync();
    } catch (err) {
      await this.dropFailed(fd);
      throw err;
    } finally {
      this.appending = false;
    }
    this.offset += bytes.length; // in the same turn as appending = false: no read sees one without the other
    this.size = this.offset;
    this.nextSeq += records.length;
    return records;
  }
}

/**
 * The write journal's file (docs/git-backend.md, "Writing"): `<stateDir>/journal/journal.log`, shared
 * by every process serving the repository. Bytes and strict decoding: ./format.ts.
 *
 * Contract:
 * - The file starts with a header naming the seq of its first record (seq grows for the repository's
 *   life). Records are framed `[u32 length][u32 crc32][JSON of JournalRecord]`. A record that does not
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
 * - `rotate(committedSeq)`: under the journal lock, if every record in the file has seq <= committedSeq,
 *   replaces the file (temp + fsync + rename + directory fsync) by an empty one starting at
 *   committedSeq + 1 and returns true; otherwise changes nothing and returns false.
 *
 * Details the contract leaves open:
 * - The first read of an instance says `reset: true` (a fresh start: the whole file).
 * - Records this instance appends are returned by `transact`, and records caught up by `transact` or
 *   `rotate` are handed to `build` or kept for the next `read`: each record reaches the caller once.
 * - A new journal starts at seq 1. A caller that knows its commits went further sets the seq with
 *   `rotate(committedSeq)` (an empty file whose first seq is lower is replaced). Seqs never go back:
 *   an empty file whose first seq is already past committedSeq + 1 answers false.
 * - The file is created whole (header included) by temp + fsync + link, so two processes creating it
 *   at once end with one file and a reader never sees it without its header. A file whose header does
 *   not check (disk damage, a foreign file) yields no records; the next `transact` moves it aside
 *   (`journal.log.corrupt-<ms>`, for a person to look at) and starts a fresh one.
 */
import { promises as fsp, statSync, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from '../../util/durable-file.js';
import { LockFile } from '../../util/lock-file.js';
import { Mutex } from '../../util/mutex.js';
import { decodeHeader, decodeRecords, encodeHeader, encodeRecords, HEADER_BYTES } from './format.js';
import type { JournalEntry, JournalRecord } from './record.js';

export interface JournalRead {
  records: JournalRecord[];
  reset: boolean;
  /** Seq of the next record to be appended (last seq + 1), as far as this read saw. */
  nextSeq: number;
}

export const JOURNAL_FILE = 'journal.log';

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
  /** Records read but not yet handed to the caller (caught up by rotate). */
  private pending: { records: JournalRecord[]; reset: boolean } = { records: [], reset: false };

  private constructor(readonly dir: string) {
    this.log = join(dir, JOURNAL_FILE);
    this.journalLock = new LockFile(join(dir, 'journal.lock'));
    this.commitLock = new LockFile(join(dir, 'commit.lock'));
  }

  /** Opens (creating if missing) `<stateDir>/journal`. */
  static async open(stateDir: string): Promise<Journal> {
    const journal = new Journal(join(stateDir, 'journal'));
    // Only when missing: making one writes a temp file first, which fails on a full disk (the server must still start).
    if (!statOrNull(journal.log)) await journal.create(1);
    return journal;
  }

  /** The journal file's path (for diagnostics and tests). */
  get file(): string {
    return this.log;
  }

  async read(): Promise<JournalRead> {
    return this.state.run(async () => {
      await this.advance();
      return this.take();
    });
  }

  async transact<T>(build: (caughtUp: JournalRead) => Promise<{ entries: JournalEntry[]; result: T }>): Promise<{ records: JournalRecord[]; result: T }> {
    return this.journalLock.run(
      async () => {
        const caughtUp = await this.state.run(async () => {
          await this.advanceHeld();
          return this.take();
        });
        const { entries, result } = await build(caughtUp);
        if (entries.length === 0) return { records: [], result };
        const records = await this.state.run(() => this.append(entries));
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
    return this.journalLock.run(
      () =>
        this.state.run(async () => {
          await this.advanceHeld(); // what it reads stays pending for the next read
          if (this.nextSeq - 1 > committedSeq) return false;
          if (this.nextSeq === committedSeq + 1 && this.offset === HEADER_BYTES) return true; // empty, at that seq already
          await writeFileDurably(this.log, encodeHeader(committedSeq + 1), { durability: 'fsync' });
          return true; // this fd stays on the old file: the next read sees the new one and says reset
        }),
      { makeDir: true },
    );
  }

  async close(): Promise<void> {
    await this.state.run(async () => {
      const fd = this.fd;
      this.fd = null;
      this.ino = -1;
      await fd?.close();
    });
  }

  /** Creates the file with its header (temp + fsync + link + directory fsync) unless it exists. */
  private async create(firstSeq: number): Promise<void> {
    await writeFileDurably(this.log, encodeHeader(firstSeq), { durability: 'fsync', replace: false }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }

  /** advance(), holding the journal lock: a file whose header does not check is moved aside and replaced. */
  private async advanceHeld(): Promise<void> {
    await this.advance();
    if (this.headerOk) return;
    await fsp.rename(this.log, `${this.log}.corrupt-${Date.now()}`).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await this.create(Math.max(1, this.nextSeq));
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
      this.size = st.size;
    } else {
      await this.reopen();
      if (!this.headerOk) return;
    }
    if (this.size === this.offset) return;
    const buf = await readAt(this.fd!, this.offset, this.size - this.offset);
    const decoded = decodeRecords(buf, this.nextSeq);
    this.offset += decoded.consumed;
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
    const header = decodeHeader(await readAt(fd, 0, Math.min(HEADER_BYTES, st.size)));
    this.headerOk = header !== null;
    // A bad header: no records until the lock holder replaces the file; seqs never go back.
    if (!header) return;
    this.offset = HEADER_BYTES;
    this.nextSeq = header.firstSeq;
  }

  private take(): JournalRead {
    const read = { records: this.pending.records, reset: this.pending.reset, nextSeq: this.nextSeq };
    this.pending = { records: [], reset: false };
    return read;
  }

  /** Appends `entries` numbered from nextSeq (holding the journal lock, caught up): one write, one fdatasync. */
  private async append(entries: JournalEntry[]): Promise<JournalRecord[]> {
    const records = entries.map((entry, i) => ({ ...entry, seq: this.nextSeq + i }));
    const bytes = encodeRecords(records); // throws on a malformed entry: nothing written
    const fd = this.fd!;
    try {
      if (this.size > this.offset) await fd.truncate(this.offset); // a torn tail: only the lock holder may cut it
      this.size = this.offset;
      await writeAt(fd, bytes, this.offset);
      await fd.datasync();
    } catch (err) {
      // Not acknowledged: take the bytes back, so no reader applies a record its writer was told failed.
      await fd.truncate(this.offset).catch(() => undefined);
      throw err;
    }
    this.offset += bytes.length;
    this.size = this.offset;
    this.nextSeq += records.length;
    return records;
  }
}

function statOrNull(file: string): Stats | null {
  try {
    return statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function readAt(fd: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fd.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break; // cut short meanwhile: decode what there is
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

async function writeAt(fd: FileHandle, bytes: Buffer, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await fd.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

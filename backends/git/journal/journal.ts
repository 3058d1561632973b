/**
 * The write journal's file (docs/git-backend.md, "Writing"): `<stateDir>/journal/journal.log`, shared
 * by every process serving the repository. STUB on main: the API the backend is written against; the
 * journal work implements it.
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
 */
import type { JournalEntry, JournalRecord } from './record.js';

export interface JournalRead {
  records: JournalRecord[];
  reset: boolean;
  /** Seq of the next record to be appended (last seq + 1), as far as this read saw. */
  nextSeq: number;
}

export class Journal {
  private constructor(readonly dir: string) {}

  /** Opens (creating if missing) `<stateDir>/journal`. */
  static async open(stateDir: string): Promise<Journal> {
    return new Journal(`${stateDir}/journal`);
  }

  async read(): Promise<JournalRead> {
    throw new Error('journal: not implemented');
  }

  async transact<T>(build: (caughtUp: JournalRead) => Promise<{ entries: JournalEntry[]; result: T }>): Promise<{ records: JournalRecord[]; result: T }> {
    void build;
    throw new Error('journal: not implemented');
  }

  async withCommitLock<T>(fn: () => Promise<T>): Promise<T> {
    void fn;
    throw new Error('journal: not implemented');
  }

  async tryCommitLock<T>(fn: () => Promise<T>): Promise<{ value: T } | null> {
    void fn;
    throw new Error('journal: not implemented');
  }

  async rotate(committedSeq: number): Promise<boolean> {
    void committedSeq;
    throw new Error('journal: not implemented');
  }

  async close(): Promise<void> {}
}

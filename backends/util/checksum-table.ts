/**
 * SHA-1 and MD5 of file contents (ownCloud's `oc:checksums`, which rclone checks), keyed by the
 * content's identity (`recordKey`): git's blob id (its ETag), the folder backend's `Entry.contentKey`
 * (device, inode, size, mtime and ctime in ns). A change by any route (a git push, an edit in the
 * folder even with its time put back, a partial PUT) gives the file a new key, which has no record
 * yet. The limit: a folder on a file system with coarse timestamps (whole seconds: exFAT, some
 * FUSE/NFS mounts, ext4 with 128-byte inodes) may repeat a key when a file of the same size is
 * written twice in one second into the same (reused) inode; there a record can be stale.
 *
 * Kept in `<stateDir>/checksums.log`, shared by every process serving that state dir: one line per
 * record, appended with O_APPEND (a single small write, so lines of two processes never interleave),
 * each line carrying a check of its own text so a torn or corrupt line is skipped, never trusted.
 * A process reads the lines it has not seen only on a miss (a hit is right whatever else was
 * appended since), parsing in slices that let the event loop turn. When the log passes `maxBytes`
 * it is compacted, in the background, under `checksums.log.lock` to its newest half (temp + rename);
 * a reader that finds another inode, or a shorter file, reads it again from the start. An append
 * racing a compaction may land in the replaced file and be lost: a record is only a saving, the
 * hashes are made again on demand.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import type { Entry } from '../backend.js';
import { writeFileDurably } from './durable-file.js';
import { LockFile } from './lock-file.js';

/** Lower-case hex digests of one content. */
export interface ContentHashes {
  sha1: string;
  md5: string;
}

export const CHECKSUM_LOG = 'checksums.log';
/** 4 MiB of log ≈ 38,000 records (≈ 110 bytes a line); the map mirroring it is a few times that. */
const MAX_BYTES = 4 * 1024 * 1024;
const LINE = /^v1 ([\x21-\x7e]{1,128}) ([0-9a-f]{40}) ([0-9a-f]{32}) ([0-9a-f]{8})$/;

/** Lines parsed between two turns of the event loop (a 4 MiB log is ~38,000: ~20 slices). */
const SLICE_LINES = 2000;
const KEY = /^[\x21-\x7e]{1,128}$/;

/** The key of an ETag (`"…"` or `W/"…"` are refused: only strong tags name one content). */
export function contentKey(etag: string): string | null {
  const m = /^"([\x21\x23-\x7e]{1,128})"$/.exec(etag);
  return m ? m[1]! : null;
}

/** The record key of a file's content: the backend's `contentKey`, else its strong ETag's. */
export function recordKey(entry: Pick<Entry, 'etag' | 'contentKey'>): string | null {
  if (entry.contentKey !== undefined) return KEY.test(entry.contentKey) ? entry.contentKey : null;
  return contentKey(entry.etag);
}

/** Calls `each` for every line of `text`, letting the event loop turn every SLICE_LINES lines. */
export async function eachLine(text: string, each: (line: string) => void): Promise<void> {
  let n = 0;
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    each(text.slice(at, end));
    at = end + 1;
    if (++n % SLICE_LINES === 0) await turn();
  }
}

function check(key: string, h: ContentHashes): string {
  return createHash('sha256').update(`${key} ${h.sha1} ${h.md5}`).digest('hex').slice(0, 8);
}

export function formatRecord(key: string, h: ContentHashes): string {
  return `v1 ${key} ${h.sha1} ${h.md5} ${check(key, h)}\n`;
}

/** One line (without its newline) → its record, or null when it is not exactly one well-formed record. */
export function parseRecord(line: string): { key: string; hashes: ContentHashes } | null {
  const m = LINE.exec(line);
  if (!m) return null;
  const hashes = { sha1: m[2]!, md5: m[3]! };
  return check(m[1]!, hashes) === m[4] ? { key: m[1]!, hashes } : null;
}

export class ChecksumTable {
  private readonly records = new Map<string, ContentHashes>();
  /** Where reading stopped in the file of inode `ino`: the end of its last whole line read. */
  private offset = 0;
  private ino: bigint | null = null;
  private reading: Promise<void> | null = null;
  private compacting: Promise<void> | null = null;
  private readonly lock: LockFile;

  constructor(
    readonly file: string,
    private readonly maxBytes = MAX_BYTES,
  ) {
    this.lock = new LockFile(`${file}.lock`);
  }

  /** The hashes recorded under `key` (a `recordKey`), if any. */
  async get(key: string): Promise<ContentHashes | undefined> {
    if (!KEY.test(key)) return undefined;
    const hit = this.records.get(key);
    if (hit) return hit;
    await this.catchUp();
    return this.records.get(key);
  }

  /** Records `hashes` under `key`; a compaction it makes due runs in the background (see `settled`). */
  async record(key: string, hashes: ContentHashes): Promise<void> {
    if (!KEY.test(key) || this.records.get(key)?.sha1 === hashes.sha1) return;
    this.remember(key, hashes);
    await fsp.mkdir(join(this.file, '..'), { recursive: true });
    await fsp.appendFile(this.file, formatRecord(key, hashes));
    const st = await fsp.stat(this.file).catch(() => null);
    if (st && st.size > this.maxBytes) {
      // Not awaited: the request that crossed the bound does not wait for the lock and the rewrite.
      this.compacting ??= this.compact()
        .catch(() => undefined)
        .finally(() => (this.compacting = null));
    }
  }

  /** Resolves once no compaction started by this instance is running (tests). */
  async settled(): Promise<void> {
    while (this.compacting) await this.compacting;
  }

  private remember(key: string, hashes: ContentHashes): void {
    // The map mirrors a log of at most maxBytes; a log grown past it (compaction failing) must not grow memory.
    if (this.records.size > this.maxBytes / 64) this.records.clear();
    this.records.set(key, hashes);
  }

  /** Reads what other processes appended since the last read (one read at a time). */
  private catchUp(): Promise<void> {
    this.reading ??= this.readNew().finally(() => (this.reading = null));
    return this.reading;
  }

  private async readNew(): Promise<void> {
    let fh;
    try {
      fh = await fsp.open(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      const st = await fh.stat({ bigint: true });
      if (st.ino !== this.ino || st.size < BigInt(this.offset)) {
        this.ino = st.ino;
        this.offset = 0;
        this.records.clear();
      }
      const end = Number(st.size);
      if (end <= this.offset) return;
      // At most a few logs' worth at a time (a log may pass maxBytes while compaction is failing).
      const buf = Buffer.alloc(Math.min(end - this.offset, 2 * this.maxBytes));
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
      const text = buf.subarray(0, bytesRead);
      const last = text.lastIndexOf(0x0a);
      if (last < 0) return; // no whole line yet
      // The offset moves first: a catch-up is one at a time, and the lines are this read's alone.
      this.offset += last + 1;
      await eachLine(text.subarray(0, last).toString('latin1'), (line) => {
        const r = parseRecord(line);
        if (r) this.remember(r.key, r.hashes);
      });
    } finally {
      await fh.close();
    }
  }

  /** Keeps the newest half of the records (one process at a time; the others re-read the new file). */
  private async compact(): Promise<void> {
    await this.lock.run(async () => {
      let text: string;
      try {
        text = await fsp.readFile(this.file, 'latin1');
      } catch {
        return;
      }
      if (text.length <= this.maxBytes) return; // another process compacted it already
      const kept = new Map<string, ContentHashes>();
      await eachLine(text, (line) => {
        const r = parseRecord(line);
        if (!r) return;
        kept.delete(r.key);
        kept.set(r.key, r.hashes);
      });
      const newest = [...kept].slice(Math.floor(kept.size / 2));
      await writeFileDurably(this.file, newest.map(([k, h]) => formatRecord(k, h)).join(''), { durability: 'atomic' });
    });
  }
}

/** One table per state dir in a process (few: one per served tree). */
const tables = new Map<string, ChecksumTable>();

export function checksumTable(stateDir: string): ChecksumTable {
  let t = tables.get(stateDir);
  if (!t) {
    if (tables.size >= 1000) tables.clear();
    t = new ChecksumTable(join(stateDir, CHECKSUM_LOG));
    tables.set(stateDir, t);
  }
  return t;
}

/**
 * BlobCache: inflated git blobs kept as plain files (`<gitdir>/gitdav/blob-cache/xx/<oid>`), so a
 * GET of a cached blob is served like the folder backend's (a file streamed, a Range read at an
 * offset, Repr-Digest read from it), without zlib. Content-addressed, so never stale: a file named by
 * an object id holds that object's content for ever, whatever the branch does.
 *
 * - Written once, from a full read that went through BlobBody (type and length checked), into this
 *   process's temp folder, then renamed into place before the response ends (durable later, under a
 *   mark a power loss's next start sweeps: ./blob-pending.ts): readers never see a partial file, a
 *   client that asks again is served from it, and two workers filling one id each rename a complete
 *   copy of the same bytes.
 * - A cached file whose size is not the blob's is a miss and is removed (damage, a truncation).
 * - Bounded by bytes (`maxBytes`) across the processes sharing the folder (`processes`, the workers):
 *   each remembers the files it knows in least-recently-used order and what the folder held at its
 *   last scan. It may add at most its share of the headroom then, (maxBytes − scanned) / (2 ×
 *   processes), bytes (reserved when a fill starts: a fill past it is skipped); then it scans again
 *   (files other workers added or removed) and, when over the bound, unlinks the least recently used
 *   until under 90% of it. So the folder exceeds the bound only while every worker fills at once, and
 *   then by at most half of it (1.5 × maxBytes); a process that underestimates its sharers (a native
 *   reader, a second server) loosens that in proportion. Unlinking a file another process is
 *   streaming is fine on Linux (its open handle keeps the data).
 * - No fill when the file system is short of space (less than `reserveBytes` or twice the blob free):
 *   the cache must never be what turns a PUT into 507.
 * - Objects below `minObjectBytes` are not cached (a few KiB inflate in microseconds; the file's
 *   open/close would cost more), nor above `maxObjectBytes` (one huge file would evict every small
 *   hot one: the bound favours many small hot objects over one large cold one).
 */
import { randomBytes } from 'node:crypto';
import { fstatSync, promises as fsp, createWriteStream, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import type { ByteRange } from '../backend.js';
import { FileBody } from '../util/file-body.js';
import { cachedFiles, DISK_STEPS, MARK_WAIT_MS, PendingMarks, readyWithin, renameInto, SWEEP_RETRY_MS, syncOrRemove, WAIT_FOR_MARK_BYTES } from './blob-pending.js';
import type { FillSteps, PendingMark } from './blob-pending.js';

export interface BlobCacheOptions {
  /** Bytes of cached files kept in all (default 1 GiB); 0 turns the cache off. */
  maxBytes?: number;
  /** Smaller blobs are inflated each time (default 16 KiB). */
  minObjectBytes?: number;
  /** Larger blobs are inflated each time (default: an eighth of maxBytes, less with more than 2 processes). */
  maxObjectBytes?: number;
  /** Processes sharing the folder (the workers, default 1): each fills at most its share of the headroom between scans. */
  processes?: number;
  /** Free space on the file system below which nothing is filled (default 256 MiB). */
  reserveBytes?: number;
}

export const DEFAULT_BLOB_CACHE_BYTES = 1024 ** 3;
export const DEFAULT_MIN_CACHED_BLOB = 16 * 1024;
/** Chunks of the tee that fills the cache: a quarter of the per-chunk overhead of 64 KiB, little memory per client. */
const CHUNK = 256 * 1024;
export const DEFAULT_FREE_SPACE_RESERVE = 256 * 1024 * 1024;
/**
 * Fills at once per process: each holds a chunk or two (the tee's and the file's), however slow its
 * client; past it a read is served inflated without filling (a later one fills).
 */
const MAX_FILLS = 8;
/** The free space is looked at again after this many bytes were filled (a statfs, not one per fill). */
const FREE_CHECK_BYTES = 16 * 1024 * 1024;

export class BlobCache {
  readonly maxBytes: number;
  readonly minObjectBytes: number;
  readonly maxObjectBytes: number;
  /** Files known, least recently used first (a Map keeps insertion order; a hit moves one to the end). */
  private readonly known = new Map<string, number>();
  private bytes = 0;
  readonly processes: number;
  readonly reserveBytes: number;
  private scanned: Promise<void> | null = null;
  /** The folder was scanned once: fills may start. */
  private counted = false;
  /** Bytes in the folder at the last scan (after its trim), and bytes this process filled or is filling since. */
  private bytesAtScan = 0;
  private addedSinceScan = 0;
  private reserved = 0;
  /** Free bytes on the file system when last looked at, and bytes filled since. */
  private free = Number.POSITIVE_INFINITY;
  private filledSinceFreeCheck = Number.POSITIVE_INFINITY;
  private freeCheck: Promise<void> | null = null;
  /** Ids this process is writing now: a second full read of one does not write it twice. */
  private readonly filling = new Set<string>();
  private trimming: Promise<void> | null = null;
  /** Marks of files named before they were durable, whether earlier boots' were swept (nothing is served before), when a sweep failed last. */
  private readonly pending: PendingMarks;
  private swept = false;
  private sweepFailedAt: number | null = null;
  /** Files being renamed into place and counted (tests wait for them: `idle`). */
  private readonly publishing = new Set<Promise<void>>();
  /** The disk steps a fill's durability rests on (a seam: tests inject failures and a mark that hangs). */
  readonly steps: FillSteps & { mark(oid: string): PendingMark; markWaitMs: number; sweepRetryMs: number };

  constructor(
    readonly dir: string,
    /** This process's own temp folder (same file system as `dir`), where files are written before the rename. */
    private readonly tmpDir: () => string,
    options: BlobCacheOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULT_BLOB_CACHE_BYTES;
    this.minObjectBytes = options.minObjectBytes ?? DEFAULT_MIN_CACHED_BLOB;
    this.processes = Math.max(1, options.processes ?? 1);
    // A blob must fit one process's share of the headroom once trimmed to half the bound (see trim).
    this.maxObjectBytes = Math.min(options.maxObjectBytes ?? Math.floor(this.maxBytes / Math.max(8, 4 * this.processes)), this.maxBytes);
    this.reserveBytes = options.reserveBytes ?? DEFAULT_FREE_SPACE_RESERVE;
    this.pending = new PendingMarks(dir);
    this.steps = { ...DISK_STEPS, mark: (oid) => this.pending.mark(oid), markWaitMs: MARK_WAIT_MS, sweepRetryMs: SWEEP_RETRY_MS };
  }

  /** What this process may still fill before it must scan: its share of the headroom at the last scan. */
  private share(): number {
    return (this.maxBytes - this.bytesAtScan) / (2 * this.processes) - this.addedSinceScan - this.reserved;
  }

  /** Looks at the free space again once enough was filled since the last look (a statfs, in the background). */
  private watchFreeSpace(): void {
    if (this.filledSinceFreeCheck < FREE_CHECK_BYTES || this.freeCheck) return;
    this.filledSinceFreeCheck = 0;
    this.freeCheck = fsp
      .statfs(dirname(this.dir))
      .then((st) => void (this.free = st.bavail * st.bsize))
      .catch(() => undefined)
      .finally(() => (this.freeCheck = null));
  }

  /** Whether a blob of this size is kept here. */
  accepts(size: number): boolean {
    return this.maxBytes > 0 && size >= this.minObjectBytes && size <= this.maxObjectBytes;
  }

  private pathOf(oid: string): string {
    return join(this.dir, oid.slice(0, 2), oid.slice(2));
  }

  /** Fills in flight in this process (tests). */
  fillsInFlight(): number {
    return this.filling.size;
  }

  /** Bytes and files this process counts now (tests, statistics). */
  usage(): { bytes: number; files: number } {
    return { bytes: this.bytes, files: this.known.size };
  }

  /**
   * The cached content (or a range of it), or null on a miss. Streamed as a FileBody (synchronous
   * reads, one reused buffer when piped: ../util/file-body.ts). Once open, the file serves the whole
   * body even if it is evicted (unlinked) meanwhile: the descriptor keeps its data. The open and close
   * go through the thread pool: a synchronous open and close measured 0.35× the requests per second
   * under load (issue 13, round 4, as the folder's synchronous reopen in round 3), unexplained.
   */
  async open(oid: string, size: number, range?: ByteRange): Promise<Readable | null> {
    if (!this.swept) return null;
    const path = this.pathOf(oid);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(path, 'r');
    } catch {
      this.forget(oid);
      return null;
    }
    // A synchronous fstat on an open handle: microseconds, and no promise round trip.
    if (fstatSync(fh.fd).size !== size) {
      await fh.close();
      await fsp.rm(path, { force: true }).catch(() => undefined); // a miss either way
      this.forget(oid);
      return null;
    }
    this.note(oid, size);
    return new FileBody({ fd: fh.fd, close: () => void fh.close().catch(() => undefined), start: range ? range.start : 0, end: range ? range.end + 1 : size });
  }

  /**
   * Passes a full, checked read of the blob through, writing it into the cache on the way; the file
   * is renamed into place only if every byte came (a client that went away leaves nothing behind).
   */
  fill(oid: string, size: number, source: Readable): Readable {
    if (this.filling.has(oid) || this.filling.size >= MAX_FILLS) return source;
    this.watchFreeSpace();
    if (this.free < Math.max(this.reserveBytes, 2 * size)) {
      this.filledSinceFreeCheck += size; // skipped reads count too, so the free space is looked at again
      return source;
    }
    if (!this.counted || !this.swept || size > this.share()) {
      // Not swept or counted yet, or this process's share of the headroom is used: count the folder
      // again, and make room, before more. This read is served inflated; a later one fills.
      void (this.swept ? this.trim(size) : this.ready());
      return source;
    }
    this.filling.add(oid);
    this.reserved += size; // now, so fills in flight together cannot pass the share
    this.filledSinceFreeCheck += size;
    const mark = this.steps.mark(oid); // durable while the blob streams (./blob-pending.ts)
    let markDurable = false;
    void mark.ready.then((ok) => (markDurable = ok));
    const tmp = join(this.tmpDir(), `blob-${oid}-${randomBytes(4).toString('hex')}`);
    const out: WriteStream = createWriteStream(tmp, { flags: 'wx' });
    let written = 0;
    let failed = false;
    let waiting: (() => void) | null = null;
    const release = () => {
      const w = waiting;
      waiting = null;
      w?.();
    };
    out.on('error', () => {
      failed = true; // a full disk, say: the client is still served, nothing is cached
      release();
    });
    out.on('drain', release);
    let over = false; // given up or completing: once
    const giveUp = (): Promise<void> => {
      this.reserved -= size;
      out.destroy();
      void this.steps.remove(tmp).catch(() => undefined);
      return mark.clear();
    };
    const publishing = this.publishing;
    /** The source ended: named before `responded()` when its mark is durable already, made durable after. */
    const complete = async (responded: () => void): Promise<void> => {
      over = true;
      this.filling.delete(oid);
      let settling = false; // else given up, whatever failed: reserved bytes back, temp file and mark removed
      try {
        if (failed || written !== size) return;
        // The end callback gets a write error before the 'error' event sets `failed`: both are checked.
        const whole = await new Promise<boolean>((resolve) => out.end((err?: Error | null) => resolve(!err && !failed)));
        if (!whole) return;
        // A large blob's response waits a little for its mark (durable long before, mostly): asked
        // again, it must not be inflated again. A small one's is not held up for it (a few ms of fsync).
        const early = size >= WAIT_FOR_MARK_BYTES ? await readyWithin(mark, this.steps.markWaitMs) : markDurable;
        if (early && !(await this.name(oid, tmp))) return;
        responded();
        settling = true;
        await this.settle(oid, size, tmp, mark, early);
      } finally {
        responded();
        if (!settling) await giveUp(); // idle() sees the mark gone
      }
    };
    const tee = new Transform({
      highWaterMark: CHUNK,
      transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback) {
        written += chunk.length;
        // The file's own back-pressure holds the source too, so a slow disk cannot pile chunks in memory.
        if (failed || out.write(chunk)) return cb(null, chunk);
        waiting = () => cb(null, chunk);
      },
      flush(cb: TransformCallback) {
        // The response ends once the file is in place: a client that saw the whole body, then asks
        // again (any worker), is served from the cache.
        let ended = false;
        const responded = () => void (ended || ((ended = true), cb()));
        const p: Promise<void> = complete(responded)
          .catch(() => undefined)
          .finally(() => publishing.delete(p));
        publishing.add(p); // at once: idle() waits for it from the body's end on
      },
    });
    return pipeline(source, tee, (err) => {
      if (err && !over) {
        over = true;
        this.filling.delete(oid);
        void giveUp();
      }
    });
  }

  /** Renames a complete temp file into place; false when that failed (never throws). */
  private name(oid: string, tmp: string): Promise<boolean> {
    return renameInto(tmp, this.pathOf(oid), this.steps);
  }

  /**
   * After the body was sent (the client does not wait): a file named already (its mark durable) is
   * fsync'ed and its mark removed (a failed fsync removes the file: ./blob-pending.ts syncOrRemove);
   * else the temp file is made durable first and then named, as a file of the right length is trusted
   * for ever (content-addressed): a late writeback error or a crash must not leave one holding zeros.
   */
  private async settle(oid: string, size: number, tmp: string, mark: PendingMark, named: boolean): Promise<void> {
    let clear = true;
    try {
      // Not durable in time for the response: named when it is, or past the wait fsync'ed first.
      const early = named || (await readyWithin(mark, this.steps.markWaitMs));
      if (!early) await this.steps.sync(tmp);
      if (!named && !(await this.name(oid, tmp))) return;
      clear = !early; // a file named before it is durable keeps its mark until it is durable or gone
      await this.counting(oid, size);
      if (!early) return;
      const state = await syncOrRemove(this.pathOf(oid), this.steps);
      if (state !== 'durable') this.forget(oid); // never served from this process again
      clear = state !== 'stuck';
    } catch {
      await this.steps.remove(tmp).catch(() => undefined);
    } finally {
      this.reserved -= size; // counted by now, or given up
      if (clear) await mark.clear();
    }
  }

  /** A file just named, counted; trims when over the bound or this process's share. */
  private async counting(oid: string, size: number): Promise<void> {
    await this.ready();
    this.note(oid, size);
    this.addedSinceScan += size;
    if (this.bytes > this.maxBytes || this.share() <= 0) await this.trim();
  }

  /** Resolves once every fill finished so far is in place and counted (tests). */
  async idle(): Promise<void> {
    while (this.publishing.size) await Promise.all(this.publishing);
    await this.trimming;
  }

  /**
   * The first use sweeps what a power loss may have damaged (./blob-pending.ts: until then nothing
   * is served or filled) and scans the folder: files left by earlier runs and other workers are counted.
   */
  ready(): Promise<void> {
    if (Date.now() - (this.sweepFailedAt ?? Infinity) >= this.steps.sweepRetryMs) this.scanned = this.sweepFailedAt = null;
    this.scanned ??= this.pending.sweep((oid) => this.pathOf(oid)).then(
      () => {
        this.swept = true;
        this.pending.prepare(); // this boot's folder, made durable before the first fill needs it
        return this.trim();
      },
      // Not swept (`pending/` or a marked file that cannot be read or removed): the cache serves and
      // fills nothing, and the sweep is tried again at most once per sweepRetryMs, not per cold read.
      () => void (this.sweepFailedAt = Date.now()),
    );
    return this.scanned;
  }

  private note(oid: string, size: number): void {
    const had = this.known.get(oid);
    if (had !== undefined) {
      this.known.delete(oid);
      this.bytes -= had;
    }
    this.known.set(oid, size);
    this.bytes += size;
  }

  private forget(oid: string): void {
    const had = this.known.get(oid);
    if (had === undefined) return;
    this.known.delete(oid);
    this.bytes -= had;
  }

  /**
   * Scans the folder; when over the bound, or when `room` bytes do not fit this process's share,
   * removes the least recently used files until under 90% of the bound, or lower to make the room
   * (not under half of it: a blob too large for that waits for a later scan).
   */
  trim(room = 0): Promise<void> {
    this.trimming ??= (async () => {
      try {
        await this.scan();
        const target = Math.max(Math.floor(this.maxBytes / 2), Math.min(Math.floor(this.maxBytes * 0.9), this.maxBytes - 2 * this.processes * room));
        if (this.bytes > this.maxBytes || (room > 0 && this.bytes > target)) {
          for (const oid of [...this.known.keys()]) {
            if (this.bytes <= target) break;
            await fsp.rm(this.pathOf(oid), { force: true });
            this.forget(oid);
          }
        }
        this.bytesAtScan = this.bytes;
        this.counted = true;
      } catch {
        // Best effort (a file that cannot be removed, say): the next trim tries again.
      } finally {
        this.trimming = null;
      }
    })();
    return this.trimming;
  }

  /**
   * What is on disk now: files this process knows keep their place in its order; files it did not
   * know (another worker's, an earlier run's) go before them, oldest first; files gone are dropped.
   */
  private async scan(): Promise<void> {
    // Fills in flight stay reserved; one published during the scan may count twice (on the safe side).
    this.addedSinceScan = 0;
    this.filledSinceFreeCheck = 0;
    this.free = await fsp.statfs(dirname(this.dir)).then((st) => st.bavail * st.bsize, () => this.free);
    const found = await cachedFiles(this.dir, (oid) => this.pathOf(oid));
    const order = new Map([...this.known.keys()].map((oid, i) => [oid, i]));
    found.sort((a, b) => (order.get(a.oid) ?? -1) - (order.get(b.oid) ?? -1) || a.mtime - b.mtime);
    this.known.clear();
    this.bytes = 0;
    for (const f of found) this.note(f.oid, f.size);
  }
}

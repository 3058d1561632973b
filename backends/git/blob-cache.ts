/**
 * BlobCache: inflated git blobs kept as plain files (`<gitdir>/gitdav/blob-cache/xx/<oid>`), so a
 * GET of a cached blob is served like the folder backend's (a file streamed, a Range read at an
 * offset, Repr-Digest read from it), without zlib. Content-addressed, so never stale: a file named by
 * an object id holds that object's content for ever, whatever the branch does.
 *
 * - Written once, from a full read that went through BlobBody (type and length checked), into this
 *   process's temp folder, then renamed into place: readers never see a partial file, and two
 *   workers filling the same id at once each rename a complete copy of the same bytes.
 * - A cached file whose size is not the blob's is a miss and is removed (damage, a truncation).
 * - Bounded by bytes (`maxBytes`): each process remembers the files it knows in least-recently-used
 *   order; when its count passes the bound it first scans the folder (files other workers added,
 *   files they removed), then unlinks the least recently used until it is under 90% of it. Unlinking
 *   a file another process is streaming is fine on Linux (its open handle keeps the data).
 * - Objects below `minObjectBytes` are not cached (a few KiB inflate in microseconds; the file's
 *   open/close would cost more), nor above `maxObjectBytes` (one huge file would evict every small
 *   hot one: the bound favours many small hot objects over one large cold one).
 */
import { randomBytes } from 'node:crypto';
import { fstatSync, promises as fsp, createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import type { ByteRange } from '../backend.js';

export interface BlobCacheOptions {
  /** Bytes of cached files kept in all (default 1 GiB); 0 turns the cache off. */
  maxBytes?: number;
  /** Smaller blobs are inflated each time (default 16 KiB). */
  minObjectBytes?: number;
  /** Larger blobs are inflated each time (default: an eighth of maxBytes). */
  maxObjectBytes?: number;
}

export const DEFAULT_BLOB_CACHE_BYTES = 1024 ** 3;
export const DEFAULT_MIN_CACHED_BLOB = 16 * 1024;
/** Read chunks of a cached file: a quarter of the per-chunk overhead of 64 KiB, little memory per client. */
const CHUNK = 256 * 1024;
/** Fills between two scans of the folder even below the bound (other workers' files are counted). */
const SCAN_EVERY = 64;

export class BlobCache {
  readonly maxBytes: number;
  readonly minObjectBytes: number;
  readonly maxObjectBytes: number;
  /** Files known, least recently used first (a Map keeps insertion order; a hit moves one to the end). */
  private readonly known = new Map<string, number>();
  private bytes = 0;
  private scanned: Promise<void> | null = null;
  private fillsSinceScan = 0;
  /** Ids this process is writing now: a second full read of one does not write it twice. */
  private readonly filling = new Set<string>();
  private trimming: Promise<void> | null = null;
  /** Files being renamed into place and counted (tests wait for them: `idle`). */
  private readonly publishing = new Set<Promise<void>>();

  constructor(
    readonly dir: string,
    /** This process's own temp folder (same file system as `dir`), where files are written before the rename. */
    private readonly tmpDir: () => string,
    options: BlobCacheOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULT_BLOB_CACHE_BYTES;
    this.minObjectBytes = options.minObjectBytes ?? DEFAULT_MIN_CACHED_BLOB;
    this.maxObjectBytes = Math.min(options.maxObjectBytes ?? Math.floor(this.maxBytes / 8), this.maxBytes);
  }

  /** Whether a blob of this size is kept here. */
  accepts(size: number): boolean {
    return this.maxBytes > 0 && size >= this.minObjectBytes && size <= this.maxObjectBytes;
  }

  private pathOf(oid: string): string {
    return join(this.dir, oid.slice(0, 2), oid.slice(2));
  }

  /** Bytes and files this process counts now (tests, statistics). */
  usage(): { bytes: number; files: number } {
    return { bytes: this.bytes, files: this.known.size };
  }

  /** The cached content (or a range of it), or null on a miss. */
  async open(oid: string, size: number, range?: ByteRange): Promise<Readable | null> {
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
      await fsp.rm(path, { force: true });
      this.forget(oid);
      return null;
    }
    this.note(oid, size);
    return fh.createReadStream({ highWaterMark: CHUNK, ...(range ? { start: range.start, end: range.end } : {}) });
  }

  /**
   * Passes a full, checked read of the blob through, writing it into the cache on the way; the file
   * is renamed into place only if every byte came (a client that went away leaves nothing behind).
   */
  fill(oid: string, size: number, source: Readable): Readable {
    if (this.filling.has(oid)) return source;
    this.filling.add(oid);
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
    const done = (ok: boolean) => {
      this.filling.delete(oid);
      if (!ok || failed || written !== size) {
        out.destroy();
        void fsp.rm(tmp, { force: true });
        return;
      }
      // The end callback gets a write error before the 'error' event sets `failed`: both are checked.
      const p: Promise<void> = new Promise<boolean>((resolve) => out.end((err?: Error | null) => resolve(!err && !failed)))
        .then((complete) => (complete ? this.publish(oid, size, tmp) : fsp.rm(tmp, { force: true })))
        .finally(() => this.publishing.delete(p));
      this.publishing.add(p);
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
        done(true);
        cb();
      },
    });
    return pipeline(source, tee, (err) => {
      if (err) done(false);
    });
  }

  private async publish(oid: string, size: number, tmp: string): Promise<void> {
    try {
      // Durable before it is named: a file of the right length is trusted for ever (content-addressed),
      // so a late writeback error or a crash must not leave one holding zeros. This runs after the body
      // was sent: the client does not wait for it.
      const fh = await fsp.open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.mkdir(join(this.dir, oid.slice(0, 2)), { recursive: true });
      await fsp.rename(tmp, this.pathOf(oid));
    } catch {
      await fsp.rm(tmp, { force: true });
      return;
    }
    await this.ready();
    this.note(oid, size);
    if (++this.fillsSinceScan >= SCAN_EVERY || this.bytes > this.maxBytes) await this.trim();
  }

  /** Resolves once every fill finished so far is in place and counted (tests). */
  async idle(): Promise<void> {
    while (this.publishing.size) await Promise.all(this.publishing);
    await this.trimming;
  }

  /** The first use scans the folder: files left by earlier runs and other workers are counted. */
  ready(): Promise<void> {
    this.scanned ??= this.scan();
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

  /** Scans the folder, then removes the least recently used files until under 90% of the bound. */
  trim(): Promise<void> {
    this.trimming ??= (async () => {
      try {
        await this.scan();
        if (this.bytes <= this.maxBytes) return;
        const target = Math.floor(this.maxBytes * 0.9);
        for (const oid of [...this.known.keys()]) {
          if (this.bytes <= target) break;
          await fsp.rm(this.pathOf(oid), { force: true });
          this.forget(oid);
        }
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
    this.fillsSinceScan = 0;
    const found: { oid: string; size: number; mtime: number }[] = [];
    const fans = await fsp.readdir(this.dir).catch(() => [] as string[]);
    for (const fan of fans) {
      if (!/^[0-9a-f]{2}$/.test(fan)) continue;
      const names = await fsp.readdir(join(this.dir, fan)).catch(() => [] as string[]);
      for (const name of names) {
        const st = await fsp.stat(join(this.dir, fan, name)).catch(() => null);
        if (st?.isFile()) found.push({ oid: fan + name, size: st.size, mtime: st.mtimeMs });
      }
    }
    const order = new Map([...this.known.keys()].map((oid, i) => [oid, i]));
    found.sort((a, b) => (order.get(a.oid) ?? -1) - (order.get(b.oid) ?? -1) || a.mtime - b.mtime);
    this.known.clear();
    this.bytes = 0;
    for (const f of found) this.note(f.oid, f.size);
  }
}

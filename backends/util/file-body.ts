/**
 * FileBody: a file's bytes (or a byte range of them) from a descriptor the backend opened and checked,
 * as a Readable the DAV layer hands to Koa like any body. What makes it cheaper than
 * `fh.createReadStream`, which it replaces for GET bodies (issue 13, measured on this machine with a
 * bare Node server, bench/node-floor.ts):
 * - **Synchronous reads.** An asynchronous read is a hop to libuv's thread pool and back per chunk;
 *   on a busy 2-core machine each hop is a context switch that costs more than the copy itself (the
 *   profile's `read` was 29–41% of a GET's main-thread time). A read served from the page cache is a
 *   memcpy of microseconds (1 MiB ≈ 0.1–0.3 ms); a read from a cold disk blocks this worker's event
 *   loop for the disk's latency, one chunk at a time, as nginx's own reads do without `aio`.
 * - **One reused buffer per response when piped** (Koa pipes a stream body into the response): a
 *   chunk is read into a buffer from a small pool and written with the destination's write callback;
 *   the next chunk is read into the same buffer only once that write has completed (the kernel has
 *   the bytes), and the buffer goes back to the pool at the end. So a response holds one chunk, and
 *   streaming 100 MiB leaves no garbage behind: before, every 256 KiB chunk was a fresh buffer
 *   waiting for a GC (23–35 MB of them during the bench's 100 MiB GETs).
 * Read any other way (a digest, the parts of a multipart/byteranges body) it is a plain Readable of
 * fresh chunks. The descriptor is closed when the body ends, fails or is destroyed.
 */
import { readSync } from 'node:fs';
import { Readable } from 'node:stream';

/** Largest chunk, and the size of a pooled buffer: one read and one write per MiB. */
export const FILE_CHUNK = 1024 * 1024;
/** Bodies up to this size are read into one fresh buffer (Node's own pool for small ones), not a pooled one. */
const SMALL = 64 * 1024;
/** Free buffers kept for the next responses (at most this many MiB per process when idle). */
const POOL_MAX = 8;
const pool: Buffer[] = [];
/**
 * Pooled buffers held by responses at once, per process: past it a response streams through a
 * fresh buffer of LEAN bytes, as before the pool. A client that stops reading holds its buffer until
 * it goes away, so this bounds what slow clients pin (64 MiB) rather than the connection limits.
 */
const IN_USE_MAX = 64;
const LEAN = 256 * 1024;
let inUse = 0;

function takeBuffer(): Buffer | null {
  if (inUse >= IN_USE_MAX) return null;
  inUse++;
  return pool.pop() ?? Buffer.allocUnsafeSlow(FILE_CHUNK);
}

/** A buffer nothing refers to any more (its last write completed) back into the pool. */
function poolBuffer(buf: Buffer): void {
  if (pool.length < POOL_MAX) pool.push(buf);
}

/** Pooled buffers held by responses now (tests: back to 0 once every body ended or was destroyed). */
export function buffersInUse(): number {
  return inUse;
}

/** Buffers waiting in the pool (tests: a finished or aborted response gives its buffer back or drops it). */
export function pooledBuffers(): number {
  return pool.length;
}

export interface FileBodySource {
  /** An open descriptor of a regular file, owned by the body from now on. */
  fd: number;
  /** Closes it (the backend's own way: a FileHandle must be closed through the handle). */
  close(): void;
  /** First byte and the byte after the last one to send. */
  start: number;
  end: number;
}

export class FileBody extends Readable {
  private readonly fd: number;
  private readonly closeFd: () => void;
  private pos: number;
  private readonly stop: number;
  private fdClosed = false;
  /** Set once `pipe` took over: `_read` is then never used. */
  private piped = false;
  /** The pooled buffer this body holds until it goes back to the pool or is dropped. */
  private held: Buffer | null = null;
  /** This body is one of `inUse`: counted out exactly once, in `_destroy` (which a normal end reaches too). */
  private counted = false;
  /** A write of the held buffer is waiting for its callback. */
  private writing = false;

  constructor(source: FileBodySource) {
    super({ highWaterMark: FILE_CHUNK });
    this.fd = source.fd;
    this.closeFd = source.close;
    this.pos = source.start;
    this.stop = Math.max(source.start, source.end);
  }

  /**
   * Read as a plain stream (a digest, multipart parts): one chunk per turn of the event loop, so a
   * whole file read and hashed here never keeps the worker's other requests waiting (a synchronous
   * read pushed at once would be read again at once, with only microtasks in between).
   */
  override _read(): void {
    setImmediate(() => {
      if (!this.destroyed) this.readChunk();
    });
  }

  private readChunk(): void {
    const want = Math.min(FILE_CHUNK, this.stop - this.pos);
    if (want <= 0) return this.finish();
    const buf = Buffer.allocUnsafe(want);
    const n = this.readInto(buf, want);
    if (n === null) return;
    this.push(n === want ? buf : buf.subarray(0, n));
    if (this.pos >= this.stop) this.finish();
  }

  /**
   * Writes the bytes straight into `dest` from one reused buffer, each read waiting for the previous
   * write's callback. The end is announced as a Readable's ('end'), so `stream.pipeline` (what Koa
   * uses) ends the response and sees errors as usual. A body already being read falls back to
   * Readable's own pipe.
   */
  override pipe<T extends NodeJS.WritableStream>(dest: T, options?: { end?: boolean }): T {
    if (this.piped || this.readableFlowing !== null || this.readableLength > 0 || this.readableEnded) return super.pipe(dest, options);
    this.piped = true;
    const remaining = this.stop - this.pos;
    const pooledBuf = remaining > SMALL ? takeBuffer() : null;
    const buf = pooledBuf ?? Buffer.allocUnsafe(Math.max(Math.min(remaining, LEAN), 1));
    if (pooledBuf) {
      this.held = pooledBuf;
      this.counted = true;
    }
    const step = (): void => {
      if (this.destroyed) {
        this.giveBack(null); // the last write completed: nothing refers to it any more
        return;
      }
      const want = Math.min(buf.length, this.stop - this.pos);
      const n = want > 0 ? this.readInto(buf, want) : 0;
      if (n === null) return; // destroyed with the read's error; the buffer is dropped (_destroy)
      if (this.pos >= this.stop) {
        // The last chunk: written, then 'end' (pipeline ends `dest`, or we do for a plain pipe).
        const last = n > 0 ? buf.subarray(0, n) : null;
        if (last) this.write(dest, last, (err) => this.giveBack(err));
        else this.giveBack(null);
        this.finish();
        if (options?.end !== false) dest.end();
        return;
      }
      this.write(dest, buf.subarray(0, n), (err) => {
        if (!err) return step();
        this.giveBack(err);
        this.destroy(err);
      });
    };
    step();
    return dest;
  }

  /** Reads `want` bytes at the current position into `buf`; null when it failed (the body is destroyed). */
  private readInto(buf: Buffer, want: number): number | null {
    let n: number;
    try {
      n = readSync(this.fd, buf, 0, want, this.pos);
    } catch (err) {
      this.destroy(err as Error);
      return null;
    }
    if (n === 0) {
      // Shorter than its stat said (cut short outside the server): fail, so the client sees a broken body, not a short one.
      this.destroy(new Error('the file ended before the bytes it was stat-ed with'));
      return null;
    }
    this.pos += n;
    return n;
  }

  /** No more bytes: the descriptor is closed now, and the Readable ends. */
  private finish(): void {
    this.release();
    this.push(null);
    if (this.piped) this.resume(); // nothing buffered: lets 'end' fire with no 'data' listener
  }

  private release(): void {
    if (this.fdClosed) return;
    this.fdClosed = true;
    try {
      this.closeFd();
    } catch {
      // closing a descriptor that only was read from cannot lose data
    }
  }

  /** A write of (part of) the buffer; `writing` until its callback, which Node calls, with an error if it never got out. */
  private write(dest: NodeJS.WritableStream, chunk: Buffer, then: (err?: Error | null) => void): void {
    this.writing = true;
    dest.write(chunk, (err?: Error | null) => {
      this.writing = false;
      then(err);
    });
  }

  /**
   * The held buffer back to the pool after a write of it completed without `err`, else dropped; once.
   * The count is not touched here: a write callback may never come (a pipelined response queued behind
   * another when the connection closes, a write after the socket was destroyed), so `_destroy` counts out.
   */
  private giveBack(err: Error | null | undefined): void {
    const buf = this.held;
    this.held = null;
    if (buf && !err) poolBuffer(buf);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.counted) {
      this.counted = false;
      inUse--;
    }
    // No write pending: back to the pool. The last chunk's write pending after the end: its callback
    // (if it ever comes, and without an error) puts it back. A write pending mid-body (the client went
    // away): the socket may still hold it, so it is dropped now, never reused.
    if (!this.writing) this.giveBack(null);
    else if (this.pos < this.stop) this.held = null;
    this.release();
    cb(err);
  }
}

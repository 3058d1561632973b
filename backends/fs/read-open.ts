/**
 * A folder GET's or HEAD's target opened once (FsBackend.openRead): the name is resolved and checked
 * once, as a handle on the name alone (O_PATH, Containment.openFast), the entry comes from that
 * handle's fstat, and the body from the same file reopened through `/proc/self/fd/N` (the kernel goes
 * straight to that inode: no path walk, no link, no rename in between can redirect it). So a GET costs
 * one name resolution and two opens (a HEAD, a 304 or a 412: one), where stats then a read by name
 * cost three resolutions and four opens (CalDAV's GET hook stat'ed, then the method, then the read);
 * and the bytes of a plain or single-range body are those of the file the ETag and length describe,
 * even if it was replaced. (Multipart parts and a Repr-Digest are read by name, lib/dav/methods/get.ts,
 * so they are not covered: rare requests, left as they were.)
 */
import { closeSync, constants as fsc, fstatSync, promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ByteRange, Entry } from '../backend.js';
import type { OpenedRead } from '../capabilities.js';
import { BackendError } from '../errors.js';
import { FileBody } from '../util/file-body.js';
import { mapFsError, toEntry } from './fs-io.js';

/**
 * The entry of a verified O_PATH descriptor, and the descriptor now owned by the result (closed by
 * it, or handed to the body). A collection's descriptor is closed at once: it has no body.
 */
export function openedRead(path: string, fd: number): OpenedRead {
  let entry: Entry;
  try {
    entry = toEntry(path, fstatSync(fd, { bigint: true }));
  } catch (err) {
    closeSync(fd);
    throw mapFsError(err, path);
  }
  if (entry.kind === 'collection') {
    closeSync(fd);
    return { entry, body: () => Promise.reject(new BackendError('IsACollection', path)), close: () => undefined };
  }
  return new PinnedRead(entry, fd);
}

class PinnedRead implements OpenedRead {
  /** The O_PATH descriptor, until closed or reopened for the body (-1 after). */
  private fd: number;

  constructor(
    readonly entry: Entry,
    fd: number,
  ) {
    this.fd = fd;
  }

  async body(range?: ByteRange): Promise<Readable> {
    const fd = this.take();
    if (fd < 0) throw new Error('an opened read gives its body once');
    let fh;
    try {
      // Through the thread pool, as the read's open was: synchronous measured slower under load
      // (notes: issue 13, round 3). O_NONBLOCK: a FIFO inside the root must not block the open.
      fh = await fsp.open(`/proc/self/fd/${fd}`, fsc.O_RDONLY | fsc.O_NONBLOCK);
    } catch (err) {
      throw mapFsError(err, this.entry.path);
    } finally {
      closeSync(fd); // O_PATH: nothing to flush, nothing to wait for
    }
    const close = () => void fh.close().catch(() => undefined);
    // The entry's size, not a new fstat's: the same inode, and what Content-Length and the range said.
    return new FileBody({ fd: fh.fd, close, start: range ? range.start : 0, end: range ? range.end + 1 : this.entry.size });
  }

  close(): void {
    const fd = this.take();
    if (fd >= 0) closeSync(fd);
  }

  private take(): number {
    const fd = this.fd;
    this.fd = -1;
    return fd;
  }
}

/** A body from a descriptor opened for reading by name (FsBackend.read), its size from the descriptor. */
export function fileBody(path: string, fd: number, close: () => void, range?: ByteRange): FileBody {
  let size: number;
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new BackendError('IsACollection', path);
    size = st.size;
  } catch (err) {
    close();
    throw err;
  }
  return new FileBody({ fd, close, start: range ? range.start : 0, end: range ? range.end + 1 : size });
}

/**
 * The folder backend's file-level helpers: streaming a body into a temp file, an entry from a stat,
 * and the mapping of file-system errors to the backend's domain errors.
 */
import { promises as fsp, type BigIntStats } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Entry } from '../backend.js';
import { BackendError } from '../errors.js';

export async function streamInto(body: Readable, file: string, offset?: number): Promise<void> {
  // Opened before streaming: a stream that opens lazily can create the file after a body that failed
  // at once has made the caller delete it, leaving a temp file behind.
  const fh = await fsp.open(file, offset === undefined ? 'wx' : 'r+');
  // `flush` fsyncs before close: the rename that follows must never publish unwritten data.
  try {
    await pipeline(body, fh.createWriteStream({ start: offset ?? 0, flush: true }));
  } catch (err) {
    // A body cut off mid-way can leave the handle open (the stream never closes it): close it here.
    await fh.close().catch(() => undefined);
    throw err;
  }
}

export function toEntry(path: string, st: BigIntStats): Entry {
  const isDir = st.isDirectory();
  const size = isDir ? 0 : Number(st.size);
  return {
    path,
    kind: isDir ? 'collection' : 'file',
    size,
    etag: `"${st.ino.toString(16)}-${st.size.toString(16)}-${st.mtimeNs.toString(16)}"`,
    ...(!isDir && { contentKey: `fs-${st.dev.toString(16)}-${st.ino.toString(16)}-${st.size.toString(16)}-${st.mtimeNs.toString(16)}-${st.ctimeNs.toString(16)}` }),
    modified: new Date(Number(st.mtimeMs)),
    created: new Date(Number(st.birthtimeMs || st.ctimeMs)),
  };
}

/** ENOSPC/EDQUOT → 507, ENAMETOOLONG → 400, ELOOP → 508, EEXIST → 405; anything else as it is. */
export function mapFsError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new BackendError('InsufficientStorage', path, 'no space left on the device', { cause: err });
  if (code === 'ENAMETOOLONG') return new BackendError('InvalidName', path, 'a name or the path is longer than the file system allows', { cause: err });
  if (code === 'ELOOP') return new BackendError('LoopDetected', path, 'the path runs into a loop of symbolic links', { cause: err });
  if (code === 'EEXIST') return new BackendError('AlreadyExists', path, undefined, { cause: err });
  return err;
}

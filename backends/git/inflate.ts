/**
 * Inflating small zlib streams held in memory (packed objects read with one positioned read).
 * Whatever follows the stream in the buffer (the next packed object) is ignored.
 */
import { constants as zc, inflateSync } from 'node:zlib';

/**
 * A whole zlib stream at the start of `buf`, inflated; null when it is cut off or not zlib. `size`,
 * the length it should have, sizes the output buffer: zlib's default 16 KiB per call was most of
 * the garbage of reading a calendar's 1 KB objects (a delta chain inflates one per level).
 */
export function inflateComplete(buf: Buffer, size: number): Buffer | null {
  try {
    // maxOutputLength: a corrupt stream cannot balloon past one byte more than expected (RangeError → null).
    return inflateSync(buf, { chunkSize: chunkFor(size), maxOutputLength: size + 1 });
  } catch {
    return null;
  }
}

/**
 * What the bytes at the start of `buf` inflate to, whether or not the stream ends in them; null when
 * not zlib, or when it inflates past `total` (the whole data's size), which only a corrupt stream does.
 */
export function inflatePrefix(buf: Buffer, size: number, total: number): Buffer | null {
  try {
    return inflateSync(buf, { finishFlush: zc.Z_SYNC_FLUSH, chunkSize: chunkFor(size), maxOutputLength: total + 1 });
  } catch {
    return null;
  }
}

/** One byte more than expected (so the stream's end is seen without another buffer), within zlib's bounds. */
function chunkFor(size: number): number {
  return Math.min(Math.max(size + 1, zc.Z_MIN_CHUNK), 64 * 1024);
}

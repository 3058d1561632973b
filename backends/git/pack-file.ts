/**
 * One pack on disk (objects/pack/*.idx + *.pack, index version 2), never loaded whole: its index in
 * memory (28 bytes per object) with the lookups on it, its shared open handle, headers read through a
 * few cached windows, and object data inflated from an offset (whole objects stream, small ones come
 * in one positioned read). pack.ts resolves ids and deltas across all packs on top of this.
 */
import { promises as fsp, createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createInflate } from 'node:zlib';
import { inflateComplete, inflatePrefix } from './inflate.js';
import { Lru } from '../util/lru.js';
import { cacheCounts } from '../util/stats.js';
import { ZLIB_CHUNK } from './object-format.js';
import { parseEntryHeader, type Header } from './pack-format.js';

/** A pack's index in memory, and what is kept open and cached for its pack file. */
export interface PackIndex {
  name: string;
  packPath: string;
  fanout: Uint32Array;
  shas: Buffer;
  offsets: Buffer;
  large: Buffer;
  /** The open pack file, shared (a promise, so concurrent first reads open it once). */
  fh?: Promise<fsp.FileHandle>;
  /** Recently read windows of the pack, by number: see `headAt`. */
  windows?: Lru<Promise<Buffer>>;
}

export async function loadIndex(idxPath: string): Promise<PackIndex> {
  const buf = await fsp.readFile(idxPath);
  if (buf.readUInt32BE(0) !== 0xff744f63 || buf.readUInt32BE(4) !== 2) throw new Error(`${idxPath}: not a version 2 pack index`);
  const fanout = new Uint32Array(256);
  for (let i = 0; i < 256; i++) fanout[i] = buf.readUInt32BE(8 + i * 4);
  const n = fanout[255]!;
  const shaStart = 8 + 256 * 4;
  const crcStart = shaStart + n * 20;
  const offStart = crcStart + n * 4;
  const largeStart = offStart + n * 4;
  return {
    name: idxPath.slice(idxPath.lastIndexOf('/') + 1),
    packPath: idxPath.replace(/\.idx$/, '.pack'),
    fanout,
    shas: buf.subarray(shaStart, crcStart),
    offsets: buf.subarray(offStart, largeStart),
    large: buf.subarray(largeStart, buf.length - 40),
  };
}

export function search(pack: PackIndex, want: Buffer): number {
  let lo = want[0] === 0 ? 0 : pack.fanout[want[0]! - 1]!;
  let hi = pack.fanout[want[0]!]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = Buffer.compare(pack.shas.subarray(mid * 20, mid * 20 + 20), want);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

export function offsetOf(pack: PackIndex, i: number): number {
  const small = pack.offsets.readUInt32BE(i * 4);
  if (!(small & 0x80000000)) return small;
  return Number(pack.large.readBigUInt64BE((small & 0x7fffffff) * 8));
}

async function handle(pack: PackIndex): Promise<fsp.FileHandle> {
  if (!pack.fh) {
    pack.fh = fsp.open(pack.packPath, 'r');
    pack.fh.catch(() => (pack.fh = undefined)); // a failed open (pack deleted by gc) is retried
  }
  return pack.fh;
}

/** Bytes read at an object's offset: its header and, for most calendar-sized objects, all its data. */
const HEAD_READ = 4096;

/**
 * Headers are read through a few 256 KiB windows per pack (packs never change): listing a calendar of
 * 10,000 small objects in one pack is then ~10 reads, not 10,000 (each costs ~40 µs of event loop).
 */
const WINDOW = 256 * 1024;
const WINDOWS_PER_PACK = 16;

async function headAt(pack: PackIndex, offset: number): Promise<Buffer> {
  const n = Math.floor(offset / WINDOW);
  const start = offset - n * WINDOW;
  if (start + HEAD_READ > WINDOW) {
    const buf = Buffer.allocUnsafe(HEAD_READ);
    const { bytesRead } = await (await handle(pack)).read(buf, 0, HEAD_READ, offset);
    return buf.subarray(0, bytesRead);
  }
  const windows = (pack.windows ??= new Lru<Promise<Buffer>>(WINDOWS_PER_PACK, undefined, cacheCounts('git_pack_windows')));
  const key = String(n);
  let win = windows.get(key);
  if (!win) {
    win = handle(pack).then(async (fh) => {
      const buf = Buffer.allocUnsafe(WINDOW);
      const { bytesRead } = await fh.read(buf, 0, WINDOW, n * WINDOW);
      return buf.subarray(0, bytesRead);
    });
    win.catch(() => windows.delete(key));
    windows.set(key, win);
  }
  const buf = await win;
  return buf.subarray(start, Math.min(buf.length, start + HEAD_READ));
}

/** The header of the object at `offset`. */
export async function readHeader(pack: PackIndex, offset: number): Promise<Header> {
  return parseEntryHeader(await headAt(pack, offset), offset, pack.name);
}

/**
 * The object's data (or its first `size` bytes): inflated from the bytes its header read brought
 * along when they hold it all. Whole data must be exactly the header's size: a stream that ends
 * shorter or longer is a corrupt object, an error rather than a wrong answer.
 */
export function dataOf(pack: PackIndex, h: Header, size = h.size): Promise<Buffer> {
  if (size > 0 && h.rest.length > 0) {
    if (size < h.size) {
      // A prefix (a delta's sizes): what the bytes at hand inflate to, cut off or not.
      const out = inflatePrefix(h.rest, size, h.size);
      if (out && out.length >= size) return Promise.resolve(out.subarray(0, size));
    } else {
      const out = inflateComplete(h.rest, h.size);
      if (out) return exactly(pack, h.dataStart, h.size, out);
    }
  }
  return inflateAt(pack, h.dataStart, size, h.size);
}

function exactly(pack: PackIndex, start: number, size: number, out: Buffer): Promise<Buffer> {
  if (out.length === size) return Promise.resolve(out);
  return Promise.reject(new Error(`object data at ${pack.name}:${start} inflates to ${out.length} bytes, its header says ${size}`));
}

/** A whole (undeltified) object's data as a stream, inflated straight from the pack file. */
export function streamData(pack: PackIndex, h: Header): Readable {
  return createReadStream(pack.packPath, { start: h.dataStart, highWaterMark: 256 * 1024 }).pipe(createInflate({ chunkSize: ZLIB_CHUNK }));
}

/** Objects up to this size are read with one positioned read on the pack's open handle. */
export const SMALL_OBJECT = 64 * 1024;

/** Inflates `size` bytes (of `total`) starting at a pack offset (stops there, whatever follows). */
async function inflateAt(pack: PackIndex, start: number, size: number, total: number): Promise<Buffer> {
  if (size > 0 && size <= SMALL_OBJECT) {
    // Deflate can grow incompressible data a little: size + 1 KiB always holds the whole stream
    // (zlib's worst case is 5 bytes per 16 KiB block plus 11); trailing bytes of the next object are
    // ignored by inflate. One read on the shared handle, instead of an open, a read and a close.
    const buf = Buffer.allocUnsafe(size + 1024);
    const { bytesRead } = await (await handle(pack)).read(buf, 0, buf.length, start);
    const at = buf.subarray(0, bytesRead);
    if (size < total) {
      const out = inflatePrefix(at, size, total);
      if (out && out.length >= size) return out.subarray(0, size);
    } else {
      const out = inflateComplete(at, total);
      if (out) return exactly(pack, start, total, out);
    }
    // else: fall through to the streaming reader, which reports the error properly
  }
  return inflateStreamAt(pack, start, size, total);
}

/**
 * Inflates from a pack offset. A prefix (`size < total`) stops after `size` bytes; whole data
 * (`size === total`) is read to the stream's end and must be exactly `size` bytes: a header that
 * says less than the stream holds is a corrupt object, an error rather than a cut-off body.
 */
function inflateStreamAt(pack: PackIndex, start: number, size: number, total: number): Promise<Buffer> {
  const exact = size >= total;
  return new Promise((resolve, reject) => {
    if (size === 0 && !exact) return resolve(Buffer.alloc(0));
    const chunks: Buffer[] = [];
    let have = 0;
    const file = createReadStream(pack.packPath, { start, highWaterMark: Math.min(Math.max(size + 64, 4096), 1 << 20) });
    const inflate = createInflate({ chunkSize: Math.max(1024, Math.min(size + 64, ZLIB_CHUNK)) }); // small objects, small buffers
    const finish = (err?: Error) => {
      file.destroy();
      inflate.destroy();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks).subarray(0, size));
    };
    const wrongSize = () => new Error(`object data at ${pack.name}:${start} inflates to ${have}${have > size ? '+' : ''} bytes, its header says ${size}`);
    inflate.on('data', (c: Buffer) => {
      chunks.push(c);
      have += c.length;
      if (have > size && exact) finish(wrongSize());
      else if (have >= size && !exact) finish();
    });
    inflate.on('end', () => (have === size || (have > size && !exact) ? finish() : finish(exact ? wrongSize() : new Error(`short object at ${pack.name}:${start}`))));
    inflate.on('error', (e) => finish(e));
    file.on('error', (e) => finish(e));
    file.pipe(inflate);
  });
}

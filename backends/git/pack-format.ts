/**
 * Git's pack formats, without I/O: the header in front of each packed object (type, size, and a
 * delta's base), and the delta encoding (sizes, copy and insert instructions). pack-file.ts reads the
 * bytes these parse; pack.ts resolves delta chains with them.
 */
import type { ObjectType } from './object-format.js';

/** Pack type numbers of whole objects. */
export const TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
export const OFS_DELTA = 6;
export const REF_DELTA = 7;

/** A packed object's header, as read at its offset. */
export interface Header {
  type: number;
  size: number;
  dataStart: number;
  /** The bytes read after the header: for a small object, its whole deflated data. */
  rest: Buffer;
  baseOffset?: number;
  baseOid?: string;
}

/** A packed object, whole (deltas applied). */
export interface PackedObject {
  type: ObjectType;
  content: Buffer;
}

/** Parses the header in `buf`, the bytes read at `offset` of the pack `packName` (named in errors). */
export function parseEntryHeader(buf: Buffer, offset: number, packName: string): Header {
  const bytesRead = buf.length;
  let pos = 0;
  let b = buf[pos++]!;
  const type = (b >> 4) & 7;
  let size = b & 15;
  let shift = 4;
  while (b & 0x80) {
    b = buf[pos++]!;
    size += (b & 0x7f) * 2 ** shift;
    shift += 7;
  }
  const h: Header = { type, size, dataStart: 0, rest: buf };
  if (type === OFS_DELTA) {
    b = buf[pos++]!;
    let dist = b & 0x7f;
    while (b & 0x80) {
      b = buf[pos++]!;
      dist = (dist + 1) * 128 + (b & 0x7f);
    }
    if (dist <= 0 || dist > offset) throw new Error(`delta base at a bad distance ${dist} from ${packName}:${offset}`);
    h.baseOffset = offset - dist;
  } else if (type === REF_DELTA) {
    h.baseOid = buf.subarray(pos, pos + 20).toString('hex');
    pos += 20;
  } else if (!TYPES[type]) {
    throw new Error(`bad object type ${type} at ${packName}:${offset}`);
  }
  if (pos > bytesRead) throw new Error(`truncated object header at ${packName}:${offset}`);
  h.dataStart = offset + pos;
  h.rest = buf.subarray(pos, bytesRead);
  return h;
}

/** A delta's header: the sizes of its base and of its result (little-endian base-128), and where it ends. */
export function deltaSizes(delta: Buffer): { source: number; target: number; end: number } {
  let pos = 0;
  const varint = () => {
    let v = 0;
    let shift = 0;
    let b: number;
    do {
      b = delta[pos++]!;
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return v;
  };
  const source = varint();
  const target = varint();
  return { source, target, end: pos };
}

/** Git's delta format: source size, target size, then copy-from-source and insert instructions. */
export function applyDelta(base: Buffer, delta: Buffer): Buffer {
  const { source, target, end } = deltaSizes(delta);
  if (source !== base.length) throw new Error(`delta expects a ${source}-byte base, got ${base.length}`);
  const out = Buffer.allocUnsafe(target); // every byte is written, or the length check below throws
  let pos = end;
  let o = 0;
  while (pos < delta.length) {
    const op = delta[pos++]!;
    if (op & 0x80) {
      let off = 0;
      let len = 0;
      for (let i = 0; i < 4; i++) if (op & (1 << i)) off |= delta[pos++]! << (8 * i);
      for (let i = 0; i < 3; i++) if (op & (0x10 << i)) len |= delta[pos++]! << (8 * i);
      if (pos > delta.length) throw new Error('delta copy instruction runs past its end'); // missing bytes would read as 0
      off >>>= 0;
      if (len === 0) len = 0x10000;
      if (off + len > base.length || o + len > target) throw new Error('delta copies past its base or its result');
      o += base.copy(out, o, off, off + len);
    } else if (op > 0) {
      if (pos + op > delta.length || o + op > target) throw new Error('delta inserts past its end or its result');
      o += delta.copy(out, o, pos, pos + op);
      pos += op;
    } else {
      throw new Error('delta opcode 0 is reserved');
    }
  }
  if (o !== out.length) throw new Error(`delta produced ${o} bytes, expected ${out.length}`);
  return out;
}

/**
 * The journal file's bytes (./journal.ts): a header, then records framed `[u32 length][u32 crc32][JSON]`
 * (little-endian). Pure functions: encode a header or records, decode what a buffer holds.
 *
 *   header  `GDJL` | u32 version (2) | u64 firstSeq | 16-byte journal id | u32 crc32 of the 32 bytes before it
 *           (36 bytes). The id is random for a fresh file and kept across rotations: a commit's trailer
 *           `Gitdav-Journal: <id as 32 hex digits> <seq>` names the journal its records came from.
 *   record  u32 byte length of the JSON | u32 crc32 of the JSON | JSON of a JournalRecord
 *
 * Decoding is strict: a record is taken only if its frame is complete, its CRC checks, its JSON
 * parses to the record shape (seq, time, meta.op, effects of {path, slot}) and its seq is the one
 * expected (the previous + 1). Anything else ends the good part of the buffer: it is a record still
 * being written, or a torn or corrupt tail, never trusted and never thrown. The writer checks the
 * same shape before it appends (encodeRecords throws), so a record that was written is one that reads.
 */
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import type { Effect, InlineObject, JournalEntry, JournalRecord, RecordMeta, RecordOp, StoredSlot } from './record.js';

export const MAGIC = 'GDJL';
export const VERSION = 2;
export const HEADER_BYTES = 36;
export const ID_BYTES = 16;
export const FRAME_BYTES = 8;
/** A length above this is corruption, not a record (a record names slots by id: it is small). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/**
 * CRC-32 (IEEE, as zlib and gzip): Node's own zlib.crc32 where this Node has it (20.15+), else a
 * table implementation — a dozen lines, where a package would add a dependency for one function on
 * older Node 20 releases only.
 */
export const crc32: (data: Uint8Array) => number = (() => {
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  return typeof native === 'function' ? (data: Uint8Array) => native(data) >>> 0 : tableCrc32;
})();

let table: Uint32Array | undefined;

/** The table-driven CRC-32, exported so tests can check it against zlib's. */
export function tableCrc32(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** A fresh journal id (32 lowercase hex digits). */
export function newJournalId(): string {
  return randomBytes(ID_BYTES).toString('hex');
}

export function isJournalId(id: unknown): id is string {
  return typeof id === 'string' && /^[0-9a-f]{32}$/.test(id);
}

export function encodeHeader(firstSeq: number, id: string): Buffer {
  if (!Number.isSafeInteger(firstSeq) || firstSeq < 1) throw new RangeError(`journal: bad first seq ${firstSeq}`);
  if (!isJournalId(id)) throw new RangeError(`journal: bad id ${String(id)}`);
  const buf = Buffer.alloc(HEADER_BYTES);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(VERSION, 4);
  buf.writeBigUInt64LE(BigInt(firstSeq), 8);
  buf.write(id, 16, 'hex');
  buf.writeUInt32LE(crc32(buf.subarray(0, 32)), 32);
  return buf;
}

/** The header's first seq and id, or null if `buf` does not start with a whole, checking header of this version. */
export function decodeHeader(buf: Uint8Array): { firstSeq: number; id: string } | null {
  if (buf.length < HEADER_BYTES) return null;
  const b = Buffer.from(buf.buffer, buf.byteOffset, HEADER_BYTES);
  if (b.toString('latin1', 0, 4) !== MAGIC || b.readUInt32LE(4) !== VERSION) return null;
  if (b.readUInt32LE(32) !== crc32(b.subarray(0, 32))) return null;
  const seq = b.readBigUInt64LE(8);
  if (seq < 1n || seq > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return { firstSeq: Number(seq), id: b.toString('hex', 16, 32) };
}

/** The frames of `records`, one buffer (appended with one write). Throws if a record has not the record shape. */
export function encodeRecords(records: readonly JournalRecord[]): Buffer {
  const parts: Buffer[] = [];
  for (const record of records) {
    if (!isRecord(record)) throw new TypeError(`journal: not a journal record: ${safeJson(record)}`);
    const json = Buffer.from(JSON.stringify(record), 'utf8');
    if (json.length > MAX_RECORD_BYTES) throw new RangeError(`journal: record ${record.seq} is ${json.length} bytes (max ${MAX_RECORD_BYTES})`);
    const frame = Buffer.alloc(FRAME_BYTES);
    frame.writeUInt32LE(json.length, 0);
    frame.writeUInt32LE(crc32(json), 4);
    parts.push(frame, json);
  }
  return Buffer.concat(parts);
}

export interface Decoded {
  records: JournalRecord[];
  /** Bytes of `buf` taken by those records: where the next record starts, or where a torn tail begins. */
  consumed: number;
  /** Whether bytes remain after `consumed` (a record being written, or a torn or corrupt tail). */
  rest: boolean;
}

/**
 * The complete, checking records at the start of `buf`, numbered from `nextSeq` on. Never throws.
 * Records come without their inline objects (only the committer needs them: ./inline.ts asks with
 * `keepInline`), so a reader holding a long burst's records does not hold its bodies too.
 */
export function decodeRecords(buf: Uint8Array, nextSeq: number, keepInline = false): Decoded {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: JournalRecord[] = [];
  let at = 0;
  while (b.length - at >= FRAME_BYTES) {
    const len = b.readUInt32LE(at);
    if (len === 0 || len > MAX_RECORD_BYTES || b.length - at - FRAME_BYTES < len) break;
    const json = b.subarray(at + FRAME_BYTES, at + FRAME_BYTES + len);
    if (crc32(json) !== b.readUInt32LE(at + 4)) break;
    const record = parseRecord(json);
    if (!record || record.seq !== nextSeq + records.length) break;
    if (!keepInline) delete record.inline;
    records.push(record);
    at += FRAME_BYTES + len;
  }
  return { records, consumed: at, rest: at < b.length };
}

/** Bytes taken by the first `count` frames of `buf` (records that decodeRecords took already). */
export function framesLength(buf: Uint8Array, count: number): number {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  for (let i = 0; i < count && b.length - at >= FRAME_BYTES; i++) at = Math.min(b.length, at + FRAME_BYTES + b.readUInt32LE(at));
  return at;
}

function parseRecord(json: Uint8Array): JournalRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'));
  } catch {
    return null;
  }
  return isRecord(value) ? value : null;
}

const OPS: Record<RecordOp, true> = { PUT: true, DELETE: true, MOVE: true, COPY: true, MKCOL: true, PROPPATCH: true, RESTORE: true, UNLOCK: true };

/** Whether `v` has the JournalRecord shape (fields a later version adds are let through unread). */
export function isRecord(v: unknown): v is JournalRecord {
  if (!isObject(v)) return false;
  return Number.isSafeInteger(v.seq) && (v.seq as number) >= 1 && isEntry(v);
}

export function isEntry(v: unknown): v is JournalEntry {
  if (!isObject(v)) return false;
  return (
    typeof v.time === 'number' &&
    Number.isFinite(v.time) &&
    optional(v.user, 'string') &&
    optional(v.userAgent, 'string') &&
    isMeta(v.meta) &&
    Array.isArray(v.effects) &&
    v.effects.every(isEffect) &&
    (v.inline === undefined || (Array.isArray(v.inline) && v.inline.every(isInline)))
  );
}

function isInline(v: unknown): v is InlineObject {
  return isObject(v) && typeof v.oid === 'string' && OID.test(v.oid) && typeof v.z === 'string' && BASE64.test(v.z);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function isMeta(v: unknown): v is RecordMeta {
  if (!isObject(v)) return false;
  return (
    typeof v.op === 'string' &&
    Object.prototype.hasOwnProperty.call(OPS, v.op) &&
    typeof v.path === 'string' &&
    optional(v.to, 'string') &&
    optional(v.summary, 'string') &&
    optional(v.restoredFrom, 'string') &&
    optional(v.lockedAt, 'number')
  );
}

function isEffect(v: unknown): v is Effect {
  return isObject(v) && typeof v.path === 'string' && v.path.startsWith('/') && (v.slot === null || isSlot(v.slot));
}

function isSlot(v: unknown): v is StoredSlot {
  if (!isObject(v) || typeof v.oid !== 'string' || !OID.test(v.oid)) return false;
  if (v.kind === 'dir') return true;
  return v.kind === 'file' && typeof v.mode === 'string' && MODE.test(v.mode);
}

/** An object id: SHA-1 (40) or SHA-256 (64) hex. */
const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** A git file mode (100644, 100755, 120000, ...). */
const MODE = /^[0-7]{5,6}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Absent, or of `type` (a number finite: JSON writes NaN as null, which would not read back). */
function optional(v: unknown, type: 'string' | 'number'): boolean {
  return v === undefined || (type === 'number' ? Number.isFinite(v) : typeof v === type);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v)?.slice(0, 200) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * A reader for git packfiles (objects/pack/*.idx + *.pack, index version 2) that never loads a pack
 * into memory. Measured: isomorphic-git read a 6-byte file from a 300 MB pack in 2.5 s at 661 MB RSS
 * (it reads the whole .pack); here the index is kept in memory (28 bytes per object), objects are read
 * with positional reads, whole (undeltified) objects stream through inflate, and deltas, which git
 * makes only for objects below core.bigFileThreshold, are resolved in memory with a bounded cache.
 */
import { promises as fsp, createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createInflate, inflateSync } from 'node:zlib';
import { ZLIB_CHUNK, type ObjectType } from './object-format.js';

const TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;

interface PackIndex {
  name: string;
  packPath: string;
  fanout: Uint32Array;
  shas: Buffer;
  offsets: Buffer;
  large: Buffer;
  /** The open pack file, shared (a promise, so concurrent first reads open it once). */
  fh?: Promise<fsp.FileHandle>;
  /** Recently read windows of the pack by number (most recent last): see `headAt`. */
  windows?: Map<number, Promise<Buffer>>;
}

interface Header {
  type: number;
  size: number;
  dataStart: number;
  /** The bytes read after the header: for a small object, its whole deflated data. */
  rest: Buffer;
  baseOffset?: number;
  baseOid?: string;
}

export interface PackedObject {
  type: ObjectType;
  content: Buffer;
}

export class PackReader {
  private packs: PackIndex[] = [];
  private known = new Set<string>();
  private readonly cache = new Map<string, PackedObject>();
  private cacheBytes = 0;

  constructor(
    private readonly packDir: string,
    private readonly cacheLimit = 32 * 1024 * 1024,
  ) {}

  /** Picks up packs that appeared since (after `git gc` or a push); forgets vanished ones. */
  async refresh(): Promise<void> {
    const names = (await fsp.readdir(this.packDir).catch(() => [] as string[])).filter((n) => n.endsWith('.idx'));
    const present = new Set(names);
    for (const p of this.packs.filter((p) => !present.has(p.name))) await p.fh?.then((h) => h.close()).catch(() => undefined);
    this.packs = this.packs.filter((p) => present.has(p.name));
    this.known = new Set(this.packs.map((p) => p.name));
    for (const name of names) {
      if (this.known.has(name)) continue;
      const idx = await loadIndex(join(this.packDir, name)).catch(() => null);
      if (!idx) continue;
      this.packs.push(idx);
      this.known.add(name);
    }
  }

  /** Where an object is, or null. Re-scans the pack folder once on a miss. */
  async locate(oid: string): Promise<{ pack: PackIndex; offset: number } | null> {
    const found = this.find(oid);
    if (found) return found;
    await this.refresh();
    return this.find(oid);
  }

  /** In a pack already known (no folder scan): then the loose copy, if any, need not be tried. */
  knows(oid: string): boolean {
    return this.find(oid) !== null;
  }

  private find(oid: string): { pack: PackIndex; offset: number } | null {
    const want = Buffer.from(oid, 'hex');
    for (const pack of this.packs) {
      const i = search(pack, want);
      if (i >= 0) return { pack, offset: offsetOf(pack, i) };
    }
    return null;
  }

  /** Ids in the packs that start with a hex prefix (for unique-prefix lookups). */
  async matching(prefix: string): Promise<string[]> {
    await this.refresh();
    const out = new Set<string>();
    for (const pack of this.packs) {
      const first = parseInt(prefix.slice(0, 2).padEnd(2, '0'), 16);
      const lo = first === 0 ? 0 : pack.fanout[first - 1]!;
      const hi = pack.fanout[first]!;
      for (let i = lo; i < hi; i++) {
        const sha = pack.shas.subarray(i * 20, i * 20 + 20).toString('hex');
        if (sha.startsWith(prefix)) out.add(sha);
      }
    }
    return [...out];
  }

  /**
   * `git gc` deletes the packs it replaced: one we had listed but never opened is then gone. Scan
   * the folder again and retry once (a pack already open stays readable after the delete).
   */
  private async retryVanished<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await this.refresh();
      return op();
    }
  }

  /** Type and size without reading the content (a delta's first bytes give its result size). */
  async info(oid: string): Promise<{ type: ObjectType; size: number } | null> {
    return this.retryVanished(() => this.infoOnce(oid));
  }

  private async infoOnce(oid: string): Promise<{ type: ObjectType; size: number } | null> {
    const at = await this.locate(oid);
    if (!at) return null;
    const h = await readHeader(at.pack, at.offset);
    if (TYPES[h.type]) return { type: TYPES[h.type]!, size: h.size };
    const { target } = deltaSizes(await dataOf(at.pack, h, Math.min(h.size, 32)));
    return { type: await this.baseType(at.pack, h), size: target };
  }

  /**
   * The size alone, for callers that know the type (a tree entry names a blob): a delta's size is in
   * its first bytes, so the chain down to its base (up to 50 headers after `git gc`) is not walked.
   */
  async size(oid: string): Promise<number | null> {
    return this.retryVanished(async () => {
      const at = await this.locate(oid);
      if (!at) return null;
      const h = await readHeader(at.pack, at.offset);
      if (TYPES[h.type]) return h.size;
      return deltaSizes(await dataOf(at.pack, h, Math.min(h.size, 32))).target;
    });
  }

  /** The type at the bottom of a delta chain, from headers alone. */
  private async baseType(pack: PackIndex, h: Header): Promise<ObjectType> {
    for (let depth = 0; depth < 10_000; depth++) {
      if (TYPES[h.type]) return TYPES[h.type]!;
      if (h.type === OFS_DELTA) h = await readHeader(pack, h.baseOffset!);
      else {
        const at = await this.locate(h.baseOid!);
        if (!at) throw new Error(`delta base ${h.baseOid} is missing`);
        pack = at.pack;
        h = await readHeader(pack, at.offset);
      }
    }
    throw new Error('delta chain too deep');
  }

  /** The whole object in memory (trees, commits, small blobs, deltas). */
  async read(oid: string): Promise<PackedObject | null> {
    return this.retryVanished(() => this.readOnce(oid));
  }

  private async readOnce(oid: string): Promise<PackedObject | null> {
    const at = await this.locate(oid);
    return at ? this.readAt(at.pack, at.offset) : null;
  }

  /** A blob's content as a stream: whole objects inflate straight from the pack file. */
  async stream(oid: string): Promise<{ type: ObjectType; size: number; body: Readable } | null> {
    return this.retryVanished(() => this.streamOnce(oid));
  }

  private async streamOnce(oid: string): Promise<{ type: ObjectType; size: number; body: Readable } | null> {
    const at = await this.locate(oid);
    if (!at) return null;
    const h = await readHeader(at.pack, at.offset);
    if (TYPES[h.type] && h.size <= SMALL_OBJECT) {
      return { type: TYPES[h.type]!, size: h.size, body: Readable.from([await dataOf(at.pack, h)]) };
    }
    if (TYPES[h.type]) {
      const body = createReadStream(at.pack.packPath, { start: h.dataStart, highWaterMark: 256 * 1024 }).pipe(createInflate({ chunkSize: ZLIB_CHUNK }));
      return { type: TYPES[h.type]!, size: h.size, body };
    }
    const obj = await this.readAt(at.pack, at.offset);
    return { type: obj.type, size: obj.content.length, body: Readable.from([obj.content]) };
  }

  private async readAt(pack: PackIndex, offset: number): Promise<PackedObject> {
    const key = `${pack.name}:${offset}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const h = await readHeader(pack, offset);
    let obj: PackedObject;
    if (TYPES[h.type]) {
      obj = { type: TYPES[h.type]!, content: await dataOf(pack, h) };
    } else {
      const delta = await dataOf(pack, h);
      let base: PackedObject | null;
      if (h.type === OFS_DELTA) base = await this.readAt(pack, h.baseOffset!);
      else base = await this.read(h.baseOid!);
      if (!base) throw new Error(`delta base ${h.baseOid} is missing`);
      obj = { type: base.type, content: applyDelta(base.content, delta) };
    }
    this.remember(key, obj);
    return obj;
  }

  private remember(key: string, obj: PackedObject): void {
    if (obj.content.length > this.cacheLimit / 4) return;
    this.cache.set(key, obj);
    this.cacheBytes += obj.content.length;
    for (const [k, v] of this.cache) {
      if (this.cacheBytes <= this.cacheLimit) break;
      this.cache.delete(k);
      this.cacheBytes -= v.content.length;
    }
  }

  async close(): Promise<void> {
    for (const p of this.packs) await p.fh?.then((h) => h.close()).catch(() => undefined);
  }
}

async function loadIndex(idxPath: string): Promise<PackIndex> {
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

function search(pack: PackIndex, want: Buffer): number {
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

function offsetOf(pack: PackIndex, i: number): number {
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
  const windows = (pack.windows ??= new Map());
  let win = windows.get(n);
  if (win) windows.delete(n);
  else {
    win = handle(pack).then(async (fh) => {
      const buf = Buffer.allocUnsafe(WINDOW);
      const { bytesRead } = await fh.read(buf, 0, WINDOW, n * WINDOW);
      return buf.subarray(0, bytesRead);
    });
    win.catch(() => windows.delete(n));
  }
  windows.set(n, win);
  if (windows.size > WINDOWS_PER_PACK) windows.delete(windows.keys().next().value!);
  const buf = await win;
  return buf.subarray(start, Math.min(buf.length, start + HEAD_READ));
}

async function readHeader(pack: PackIndex, offset: number): Promise<Header> {
  const buf = await headAt(pack, offset);
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
    h.baseOffset = offset - dist;
  } else if (type === REF_DELTA) {
    h.baseOid = buf.subarray(pos, pos + 20).toString('hex');
    pos += 20;
  } else if (!TYPES[type]) {
    throw new Error(`bad object type ${type} at ${pack.name}:${offset}`);
  }
  if (pos > bytesRead) throw new Error(`truncated object header at ${pack.name}:${offset}`);
  h.dataStart = offset + pos;
  h.rest = buf.subarray(pos, bytesRead);
  return h;
}

/** The object's data: inflated from the bytes its header read brought along when they hold it all. */
function dataOf(pack: PackIndex, h: Header, size = h.size): Promise<Buffer> {
  if (size > 0 && h.rest.length > 0) {
    try {
      const out = inflateSync(h.rest);
      if (out.length >= size) return Promise.resolve(out.subarray(0, size));
    } catch {
      // cut off inside the stream (a bigger object): read it from the pack
    }
  }
  return inflateAt(pack, h.dataStart, size);
}

/** Inflates `size` bytes starting at a pack offset (stops there, whatever follows). */
/** Objects up to this size are read with one positioned read on the pack's open handle. */
const SMALL_OBJECT = 64 * 1024;

async function inflateAt(pack: PackIndex, start: number, size: number): Promise<Buffer> {
  if (size > 0 && size <= SMALL_OBJECT) {
    // Deflate can grow incompressible data a little: size + 1 KiB always holds the whole stream
    // (zlib's worst case is 5 bytes per 16 KiB block plus 11); trailing bytes of the next object are
    // ignored by inflate. One read on the shared handle, instead of an open, a read and a close.
    const buf = Buffer.alloc(size + 1024);
    const { bytesRead } = await (await handle(pack)).read(buf, 0, buf.length, start);
    try {
      const out = inflateSync(buf.subarray(0, bytesRead));
      if (out.length >= size) return out.subarray(0, size);
    } catch {
      // fall through to the streaming reader, which reports the error properly
    }
  }
  return inflateStreamAt(pack, start, size);
}

function inflateStreamAt(pack: PackIndex, start: number, size: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (size === 0) return resolve(Buffer.alloc(0));
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
    inflate.on('data', (c: Buffer) => {
      chunks.push(c);
      have += c.length;
      if (have >= size) finish();
    });
    inflate.on('end', () => (have >= size ? finish() : finish(new Error(`short object at ${pack.name}:${start}`))));
    inflate.on('error', (e) => finish(e));
    file.on('error', (e) => finish(e));
    file.pipe(inflate);
  });
}

/** A delta's header: the sizes of its base and of its result (little-endian base-128), and where it ends. */
function deltaSizes(delta: Buffer): { source: number; target: number; end: number } {
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
  const out = Buffer.alloc(target);
  let pos = end;
  let o = 0;
  while (pos < delta.length) {
    const op = delta[pos++]!;
    if (op & 0x80) {
      let off = 0;
      let len = 0;
      for (let i = 0; i < 4; i++) if (op & (1 << i)) off |= delta[pos++]! << (8 * i);
      for (let i = 0; i < 3; i++) if (op & (0x10 << i)) len |= delta[pos++]! << (8 * i);
      off >>>= 0;
      if (len === 0) len = 0x10000;
      o += base.copy(out, o, off, off + len);
    } else if (op > 0) {
      o += delta.copy(out, o, pos, pos + op);
      pos += op;
    } else {
      throw new Error('delta opcode 0 is reserved');
    }
  }
  if (o !== out.length) throw new Error(`delta produced ${o} bytes, expected ${out.length}`);
  return out;
}

/**
 * The git object store, all our own code: a crash-safe streaming writer (isomorphic-git buffers whole
 * objects and writes in place, DESIGN.md §3), a streaming loose-object reader, and the pack reader of
 * pack.ts (isomorphic-git reads whole .pack files into memory: docs/git-backend.md). Trees and commits
 * are parsed here and cached by id, which never goes stale.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zc, createDeflate, createInflate, inflateSync } from 'node:zlib';
import { Lru } from './lru.js';
import { PackReader, ZLIB_CHUNK } from './pack.js';
import type { ByteRange } from '../backend.js';
import { BackendError } from '../errors.js';

export type ObjectType = 'blob' | 'tree' | 'commit' | 'tag';

export interface TreeEntry {
  mode: string; // '100644' | '100755' | '120000' | '40000' | '160000'
  name: string;
  oid: string;
}

export interface CommitInfo {
  oid: string;
  tree: string;
  parents: string[];
  author: { name: string; email: string; timestamp: number };
  message: string;
}

export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

export interface WriteObjectOptions {
  /** false: skip the fsync; the caller syncs with `sync()` before anything refers to the object. */
  sync?: boolean;
}

/** The repository's objects: written loose and crash-safe, read loose or packed, behind bounded caches. */
export class ObjectStore {
  readonly packs: PackReader;
  /** Weighed by entries (~100 bytes each): 300,000 is ~30 MB, thirty versions of a 10,000-member folder. */
  private readonly trees = new Lru<TreeEntry[]>(300_000, (t) => t.length + 1);
  private readonly commits = new Lru<CommitInfo>(50_000);
  private readonly sizes = new Lru<number>(200_000);

  constructor(readonly gitdir: string) {
    this.packs = new PackReader(join(gitdir, 'objects', 'pack'));
  }

  private objectPath(oid: string): string {
    return join(this.gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
  }

  private tmpPath(): string {
    return join(this.gitdir, 'objects', `tmp_gitdav_${process.pid}_${randomBytes(6).toString('hex')}`);
  }

  async has(oid: string): Promise<boolean> {
    return (await exists(this.objectPath(oid))) || (await this.packs.locate(oid)) !== null;
  }

  /** A whole object in memory, loose or packed; throws Corrupt when missing or unreadable. */
  async readRaw(oid: string): Promise<{ type: ObjectType; content: Buffer }> {
    let deflated: Buffer | null = null;
    try {
      if (!this.packs.knows(oid)) deflated = await fsp.readFile(this.objectPath(oid));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw corrupt(oid, err);
    }
    try {
      if (deflated) {
        const raw = inflateSync(deflated);
        const nul = raw.indexOf(0);
        const h = parseHeader(oid, raw.subarray(0, nul + 1));
        const content = raw.subarray(nul + 1);
        if (content.length !== h.size) throw new Error(`content is ${content.length} bytes, header says ${h.size}`);
        return { type: h.type as ObjectType, content };
      }
      const packed = await this.packs.read(oid);
      if (!packed) throw new Error('no such object');
      return packed;
    } catch (err) {
      throw corrupt(oid, err);
    }
  }

  /**
   * The first bytes of the loose object, or null when there is none. An object in a known pack is
   * read from there (git's own order): a failed open per packed object costs more than the read.
   */
  private loosePrefix(oid: string): Promise<Buffer | null> {
    return this.packs.knows(oid) ? Promise.resolve(null) : readPrefix(this.objectPath(oid), 512);
  }

  /** The object's type, or null if it does not exist. */
  async typeOf(oid: string): Promise<ObjectType | null> {
    const head = await this.loosePrefix(oid);
    if (head) return parseHeader(oid, inflatePrefix(oid, head)).type as ObjectType;
    return (await this.packs.info(oid).catch(() => null))?.type ?? null;
  }

  /** The full id for a unique hex prefix (4+ digits), or null when none or several match. */
  async expand(prefix: string): Promise<string | null> {
    if (prefix.length === 40) return (await this.has(prefix)) ? prefix : null;
    const found = new Set<string>();
    const dir = join(this.gitdir, 'objects', prefix.slice(0, 2));
    for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
      const oid = prefix.slice(0, 2) + name;
      if (/^[0-9a-f]{40}$/.test(oid) && oid.startsWith(prefix)) found.add(oid);
    }
    for (const oid of await this.packs.matching(prefix)) found.add(oid);
    return found.size === 1 ? [...found][0]! : null;
  }

  // ---- writing ------------------------------------------------------------------------------------

  /**
   * Renames a finished temp file to its object path. `git prune-packed` (run by the background
   * `git gc --auto`) removes fanout folders it empties, even between our mkdir and our rename: on
   * ENOENT make the folder again and retry, as git's own object writer does.
   */
  private async moveIntoPlace(tmp: string, target: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await fsp.mkdir(dirname(target), { recursive: true });
      try {
        await fsp.rename(tmp, target);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5 || !(await exists(tmp))) {
          await fsp.rm(tmp, { force: true });
          throw err;
        }
      }
    }
  }

  /**
   * Writes a small object held in memory, unless it is already stored: then no temp file is made, so
   * on a full disk an object that exists (the placeholder sidecar at start) can still be named.
   */
  async writeBuffer(type: ObjectType, content: Buffer, options?: WriteObjectOptions): Promise<string> {
    const oid = createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
    if (await this.has(oid)) {
      if (type === 'blob') this.sizes.set(oid, content.length);
      return oid;
    }
    return this.writeStream(type, content.length, Readable.from([content]), options);
  }

  /**
   * Streams `size` bytes into a loose object: SHA-1 and deflate on the way into a temp file, fsync,
   * then rename into place (or drop it, if the object already exists). A crash leaves at most a temp
   * file, never a truncated object.
   */
  async writeStream(type: ObjectType, size: number, source: AsyncIterable<Buffer | string>, options: WriteObjectOptions = {}): Promise<string> {
    const tmp = this.tmpPath();
    const hash = createHash('sha1');
    const header = Buffer.from(`${type} ${size}\0`);
    hash.update(header);
    // Level 0 for big bodies: deflating them costs far more than the disk it saves (DESIGN.md §7).
    const deflate = createDeflate({ level: size > 4 * 1024 * 1024 ? 0 : 1, chunkSize: ZLIB_CHUNK });
    async function* framed(): AsyncGenerator<Buffer> {
      yield header;
      let seen = 0;
      for await (const raw of source) {
        const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
        seen += chunk.length;
        if (seen > size) throw new Error(`object body longer than ${size} bytes`);
        hash.update(chunk);
        yield chunk;
      }
      if (seen !== size) throw new Error(`object body has ${seen} bytes, ${size} expected`);
    }
    try {
      await pipeline(framed, deflate, fs.createWriteStream(tmp, { flags: 'wx', mode: 0o444, flush: options.sync !== false }));
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw mapWriteError(err);
    }
    const oid = hash.digest('hex');
    const target = this.objectPath(oid);
    if (await exists(target)) {
      await fsp.rm(tmp, { force: true });
    } else {
      await this.moveIntoPlace(tmp, target);
    }
    if (type === 'blob') this.sizes.set(oid, size);
    return oid;
  }

  async writeTree(entries: TreeEntry[], options?: WriteObjectOptions): Promise<string> {
    const sorted = [...entries].sort(compareTreeEntries);
    const parts: Buffer[] = [];
    for (const e of sorted) {
      parts.push(Buffer.from(`${e.mode} ${e.name}\0`), Buffer.from(e.oid, 'hex'));
    }
    const oid = await this.writeBuffer('tree', Buffer.concat(parts), options);
    this.trees.set(oid, sorted);
    return oid;
  }

  async writeCommit(c: { tree: string; parents: string[]; author: string; committer: string; message: string }, options?: WriteObjectOptions): Promise<string> {
    const lines = [`tree ${c.tree}`, ...c.parents.map((p) => `parent ${p}`), `author ${c.author}`, `committer ${c.committer}`];
    return this.writeBuffer('commit', Buffer.from(lines.join('\n') + '\n\n' + c.message), options);
  }

  /** Makes objects written with `sync: false` durable, all at once (before a ref points at them). */
  async sync(oids: Iterable<string>): Promise<void> {
    await Promise.all(
      [...new Set(oids)].map(async (oid) => {
        const fh = await fsp.open(this.objectPath(oid), 'r').catch(() => null); // packed meanwhile: durable
        if (!fh) return;
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
      }),
    );
  }

  // ---- reading ------------------------------------------------------------------------------------

  async readTree(oid: string): Promise<TreeEntry[]> {
    if (oid === EMPTY_TREE) return [];
    const cached = this.trees.get(oid);
    if (cached) return cached;
    const { type, content } = await this.readRaw(oid);
    if (type !== 'tree') throw corrupt(oid, new Error(`a ${type}, not a tree`));
    const entries = parseTree(oid, content);
    this.trees.set(oid, entries);
    return entries;
  }

  async readCommit(oid: string): Promise<CommitInfo> {
    const cached = this.commits.get(oid);
    if (cached) return cached;
    const { type, content } = await this.readRaw(oid);
    if (type !== 'commit') throw corrupt(oid, new Error(`a ${type}, not a commit`));
    const info = parseCommit(oid, content);
    this.commits.set(oid, info);
    return info;
  }

  /** Size of a blob, from the loose object's header (a few bytes inflated) or the pack. Cached. */
  async blobSize(oid: string): Promise<number> {
    const cached = this.sizes.get(oid);
    if (cached !== undefined) return cached;
    let size: number;
    const head = await this.loosePrefix(oid);
    if (head) {
      size = parseHeader(oid, inflatePrefix(oid, head)).size;
    } else {
      // The tree says it is a blob; reading it checks that (readBlob), a listing needs only the size.
      const packed = await this.packs.size(oid).catch((err: unknown) => {
        throw corrupt(oid, err);
      });
      if (packed === null) throw corrupt(oid, new Error('no such object'));
      size = packed;
    }
    this.sizes.set(oid, size);
    return size;
  }

  /** Streams a blob's content (or a byte range of it). Loose objects stream; packed ones come whole. */
  async readBlob(oid: string, range?: ByteRange): Promise<Readable> {
    const path = this.objectPath(oid);
    // Check the header first: a loose object that is not a blob, or not zlib at all, must fail here,
    // before the response's status is sent, not halfway through the body.
    const head = await this.loosePrefix(oid);
    if (head) {
      const h = parseHeader(oid, inflatePrefix(oid, head));
      if (h.type !== 'blob') throw new BackendError('Corrupt', oid, `${oid} is a ${h.type}, not a blob`);
    }
    const file = head ? fs.createReadStream(path, { highWaterMark: 256 * 1024 }) : null;
    if (file) {
      const inflate = createInflate({ chunkSize: ZLIB_CHUNK });
      const body = new BlobBody(oid, range);
      file.on('error', (e) => body.destroy(e));
      inflate.on('error', (e) => body.destroy(corrupt(oid, e)));
      // Stop inflating once the range is served.
      body.on('close', () => {
        file!.destroy();
        inflate.destroy();
      });
      return file.pipe(inflate).pipe(body);
    }
    const packed = await this.packs.stream(oid).catch((err: unknown) => {
      throw corrupt(oid, err);
    });
    if (!packed) throw corrupt(oid, new Error('no such object'));
    if (packed.type !== 'blob') throw new BackendError('Corrupt', oid, `${oid} is a ${packed.type}, not a blob`);
    const body = new BlobBody(oid, range, packed.size);
    packed.body.on('error', (e) => body.destroy(corrupt(oid, e)));
    body.on('close', () => packed.body.destroy());
    return packed.body.pipe(body);
  }
}

/** Tree content: `<mode> <name>\0<20-byte id>` repeated. */
function parseTree(oid: string, buf: Buffer): TreeEntry[] {
  const out: TreeEntry[] = [];
  let i = 0;
  while (i < buf.length) {
    const space = buf.indexOf(0x20, i);
    const nul = buf.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 21 > buf.length) throw corrupt(oid, new Error('malformed tree'));
    const mode = buf.toString('latin1', i, space);
    // Some writers zero-pad a subtree's mode; git itself (and fsck --strict) uses '40000'.
    out.push({ mode: mode === '040000' ? '40000' : mode, name: buf.toString('utf8', space + 1, nul), oid: buf.toString('hex', nul + 1, nul + 21) });
    i = nul + 21;
  }
  return out;
}

/** Commit content: header lines (continuations start with a space), a blank line, the message. */
function parseCommit(oid: string, buf: Buffer): CommitInfo {
  const text = buf.toString('utf8');
  const split = text.indexOf('\n\n');
  const head = split < 0 ? text : text.slice(0, split);
  const info: CommitInfo = { oid, tree: '', parents: [], author: { name: '', email: '', timestamp: 0 }, message: split < 0 ? '' : text.slice(split + 2) };
  for (const line of head.split('\n')) {
    if (line.startsWith(' ')) continue;
    const sp = line.indexOf(' ');
    const key = line.slice(0, sp);
    const value = line.slice(sp + 1);
    if (key === 'tree') info.tree = value;
    else if (key === 'parent') info.parents.push(value);
    else if (key === 'author') {
      const m = /^(.*) <([^>]*)> (-?\d+) [+-]\d{4}$/.exec(value);
      if (m) info.author = { name: m[1]!, email: m[2]!, timestamp: Number(m[3]) };
    }
  }
  if (!/^[0-9a-f]{40}$/.test(info.tree)) throw corrupt(oid, new Error('commit without a tree'));
  return info;
}

/** The object a tag points at. */
export function tagTarget(content: Buffer): string | null {
  return /^object ([0-9a-f]{40})$/m.exec(content.toString('utf8'))?.[1] ?? null;
}

/** Strips the `blob <size>\0` header from an inflated loose object, then serves the content or a range. */
class BlobBody extends Transform {
  private header: Buffer | null = Buffer.alloc(0);
  private offset = 0;
  private size = -1;

  /** With `knownSize` the input is bare content (from a pack), without a loose object's header. */
  constructor(
    private readonly oid: string,
    private readonly range?: ByteRange,
    knownSize?: number,
  ) {
    super();
    if (knownSize !== undefined) {
      this.header = null;
      this.size = knownSize;
    }
  }

  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    if (this.header) {
      const joined = Buffer.concat([this.header, chunk]);
      const nul = joined.indexOf(0);
      if (nul < 0) {
        if (joined.length > 64) return cb(corrupt(this.oid, new Error('no object header')));
        this.header = joined;
        return cb();
      }
      const h = parseHeader(this.oid, joined.subarray(0, nul + 1));
      if (h.type !== 'blob') return cb(new BackendError('Corrupt', this.oid, `${this.oid} is a ${h.type}, not a blob`));
      this.size = h.size;
      this.header = null;
      chunk = joined.subarray(nul + 1);
    }
    const start = this.offset;
    this.offset += chunk.length;
    if (!this.range) return cb(null, chunk);
    const from = Math.max(this.range.start - start, 0);
    const to = Math.min(this.range.end + 1 - start, chunk.length);
    if (to > from) this.push(chunk.subarray(from, to));
    if (this.offset > this.range.end) {
      this.push(null);
      return;
    }
    cb();
  }

  override _flush(cb: TransformCallback): void {
    if (this.header) return cb(corrupt(this.oid, new Error('truncated object')));
    if (!this.range && this.offset !== this.size) return cb(corrupt(this.oid, new Error(`content is ${this.offset} bytes, header says ${this.size}`)));
    cb();
  }
}

function parseHeader(oid: string, buf: Buffer): { type: string; size: number } {
  const nul = buf.indexOf(0);
  const m = nul > 0 ? /^(blob|tree|commit|tag) (\d+)$/.exec(buf.subarray(0, nul).toString('latin1')) : null;
  if (!m) throw corrupt(oid, new Error('bad object header'));
  return { type: m[1]!, size: Number(m[2]) };
}

function inflatePrefix(oid: string, deflated: Buffer): Buffer {
  try {
    return inflateSync(deflated, { finishFlush: zc.Z_SYNC_FLUSH });
  } catch (err) {
    throw corrupt(oid, err);
  }
}

async function readPrefix(path: string, n: number): Promise<Buffer | null> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fsp.open(path, 'r');
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Git's tree order: byte order of names, with a tree's name compared as if it ended in '/'. */
export function compareTreeEntries(a: TreeEntry, b: TreeEntry): number {
  const ka = Buffer.from(a.mode === '40000' ? a.name + '/' : a.name);
  const kb = Buffer.from(b.mode === '40000' ? b.name + '/' : b.name);
  return Buffer.compare(ka, kb);
}

function corrupt(oid: string, err: unknown): BackendError {
  if (err instanceof BackendError) return err;
  return new BackendError('Corrupt', oid, `git object ${oid} cannot be read: ${(err as Error)?.message ?? err}`, { cause: err });
}

export function mapWriteError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new BackendError('InsufficientStorage', '/', 'no space left on the device', { cause: err });
  return err;
}

async function exists(path: string): Promise<boolean> {
  try {
    await fsp.access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Loose objects (`objects/xx/yyyy…`), all our own code: a crash-safe streaming writer (isomorphic-git
 * buffers whole objects and writes in place: docs/git-backend.md, "Writing"), whole reads, header
 * peeks that inflate a few bytes, and a streaming blob reader. No caches: objects.ts holds them and
 * decides whether a pack or the loose copy is asked.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zc, createDeflate, createInflate, deflateSync, inflateSync } from 'node:zlib';
import type { ByteRange } from '../backend.js';
import { BackendError } from '../errors.js';
import { BlobBody } from './blob-body.js';
import { corrupt, objectHeader, parseHeader, ZLIB_CHUNK, type ObjectType } from './object-format.js';

/** Bytes read to parse a loose object's header (type, size): its deflated start holds it many times over. */
const HEAD_BYTES = 512;

export interface WriteObjectOptions {
  /** false: skip the fsync; the caller syncs with `sync()` before anything refers to the object. */
  sync?: boolean;
}

/** The loose objects of one repository (`<gitdir>/objects`). */
export class LooseObjects {
  constructor(private readonly objectsDir: string) {}

  private path(oid: string): string {
    return join(this.objectsDir, oid.slice(0, 2), oid.slice(2));
  }

  private tmpPath(): string {
    return join(this.objectsDir, `tmp_gitdav_${process.pid}_${randomBytes(6).toString('hex')}`);
  }

  has(oid: string): Promise<boolean> {
    return exists(this.path(oid));
  }

  /** The whole object in memory, or null when there is no loose copy; throws Corrupt when unreadable. */
  async read(oid: string): Promise<{ type: ObjectType; content: Buffer } | null> {
    let deflated: Buffer;
    try {
      deflated = await fsp.readFile(this.path(oid));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw corrupt(oid, err);
    }
    try {
      const raw = inflateSync(deflated);
      const nul = raw.indexOf(0);
      const h = parseHeader(oid, raw.subarray(0, nul + 1));
      const content = raw.subarray(nul + 1);
      if (content.length !== h.size) throw new Error(`content is ${content.length} bytes, header says ${h.size}`);
      return { type: h.type, content };
    } catch (err) {
      throw corrupt(oid, err);
    }
  }

  /** Type and size from the first bytes (a few inflated), or null when there is no loose copy. */
  async header(oid: string): Promise<{ type: ObjectType; size: number } | null> {
    const head = await readPrefix(this.path(oid), HEAD_BYTES);
    return head ? parseHeader(oid, inflatePrefix(oid, head)) : null;
  }

  /**
   * Opens a loose object once: its header read from the handle, its body streamed from the same
   * handle, so a `git gc --prune` that removes the file between the two cannot cut a response whose
   * status is already sent. Null when there is no loose copy (the caller looks in the packs).
   */
  async open(oid: string): Promise<{ type: ObjectType; size: number; stream(range?: ByteRange): Readable; close(): Promise<void> } | null> {
    let fh: fs.promises.FileHandle;
    try {
      fh = await fsp.open(this.path(oid), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw corrupt(oid, err);
    }
    try {
      const head = parseHeader(oid, inflatePrefix(oid, await readStart(fh, HEAD_BYTES)));
      return { ...head, stream: (range) => this.stream(oid, range, fh), close: () => fh.close() };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Streams a blob's content (or a range) from `fh` (closed when the stream ends) or by path; the caller has checked the header. */
  stream(oid: string, range?: ByteRange, fh?: fs.promises.FileHandle): Readable {
    const file = fh ? fh.createReadStream({ start: 0, highWaterMark: 256 * 1024 }) : fs.createReadStream(this.path(oid), { highWaterMark: 256 * 1024 });
    const inflate = createInflate({ chunkSize: ZLIB_CHUNK });
    const body = new BlobBody(oid, range);
    file.on('error', (e) => body.destroy(e));
    inflate.on('error', (e) => body.destroy(corrupt(oid, e)));
    // Stop inflating once the range is served.
    body.on('close', () => {
      file.destroy();
      inflate.destroy();
    });
    return file.pipe(inflate).pipe(body);
  }

  /** Loose ids that start with a hex prefix (2+ digits). */
  async matching(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const dir = join(this.objectsDir, prefix.slice(0, 2));
    for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
      const oid = prefix.slice(0, 2) + name;
      if (/^[0-9a-f]{40}$/.test(oid) && oid.startsWith(prefix)) out.push(oid);
    }
    return out;
  }

  /**
   * Streams `size` bytes into a loose object: SHA-1 and deflate on the way into a temp file, fsync,
   * then rename into place (or drop it, if the object already exists). A crash leaves at most a temp
   * file, never a truncated object.
   */
  async write(type: ObjectType, size: number, source: AsyncIterable<Buffer | string>, options: WriteObjectOptions = {}): Promise<string> {
    const tmp = this.tmpPath();
    const hash = createHash('sha1');
    const header = objectHeader(type, size);
    hash.update(header);
    // Level 0 for big bodies: deflating them costs far more than the disk it saves (docs/git-backend.md).
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
    const target = this.path(oid);
    // The file there may be a small blob written without fsync by a PUT that then failed (no record
    // carries it): a write that promises durability makes the copy it keeps durable.
    if ((await exists(target)) && (options.sync === false || (await this.syncIfPresent(oid)))) {
      await fsp.rm(tmp, { force: true });
    } else {
      await this.moveIntoPlace(tmp, target);
    }
    return oid;
  }

  /**
   * A small object written at once, synchronously and WITHOUT fsync (a PUT of a small file: a few
   * page-cache writes cost less than two trips through the thread pool). Returns the loose file's
   * bytes: the caller puts them in its journal record, whose fdatasync makes the write durable, and
   * the committer makes the file durable (settle) before a commit refers to it. An object already
   * there is left as it is.
   */
  writeSmallSync(type: ObjectType, content: Buffer): { oid: string; bytes: Buffer } {
    const header = objectHeader(type, content.length);
    const oid = createHash('sha1').update(header).update(content).digest('hex');
    const bytes = deflateSync(Buffer.concat([header, content]), { level: 1 });
    const target = this.path(oid);
    if (fs.existsSync(target)) return { oid, bytes };
    const tmp = this.tmpPath();
    try {
      fs.writeFileSync(tmp, bytes, { flag: 'wx', mode: 0o444 });
      for (let attempt = 0; ; attempt++) {
        fs.mkdirSync(dirname(target), { recursive: true });
        try {
          fs.renameSync(tmp, target);
          break;
        } catch (err) {
          // A fanout folder removed by `git prune-packed` between mkdir and rename: as moveIntoPlace.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw err;
        }
      }
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw mapWriteError(err);
    }
    return { oid, bytes };
  }

  /**
   * Makes a loose object written by writeSmallSync durable before a commit refers to it (its folder's
   * entry is left to the file system's journal, as for every loose object): fsynced when
   * its file holds a good copy; written again from `bytes` (temp + fsync + rename over it) when the
   * file is missing or does not read back as the object (a crash of the machine lost page-cache writes).
   * `packed`: whether a pack holds the object (then a missing loose copy is fine: packs are durable).
   */
  async settle(oid: string, bytes: Buffer, packed: () => Promise<boolean>): Promise<'synced' | 'packed' | 'rewritten'> {
    const target = this.path(oid);
    const fh = await fsp.open(target, 'r').catch(() => null);
    if (fh) {
      try {
        const held = await fh.readFile();
        if (held.equals(bytes) || holds(oid, held)) {
          await fh.sync();
          return 'synced';
        }
      } finally {
        await fh.close();
      }
    } else if (await packed()) {
      return 'packed';
    }
    const tmp = this.tmpPath();
    try {
      const out = await fsp.open(tmp, 'wx', 0o444);
      try {
        await out.writeFile(bytes);
        await out.sync();
      } finally {
        await out.close();
      }
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw mapWriteError(err);
    }
    await this.moveIntoPlace(tmp, target);
    return 'rewritten';
  }

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

  /** Makes objects written with `sync: false` durable, all at once (before a ref points at them). */
  async sync(oids: Iterable<string>): Promise<void> {
    await Promise.all([...new Set(oids)].map((oid) => this.syncIfPresent(oid))); // packed meanwhile: durable
  }

  /** fsyncs the loose copy of `oid`; false when there is none. */
  async syncIfPresent(oid: string): Promise<boolean> {
    const fh = await fsp.open(this.path(oid), 'r').catch(() => null);
    if (!fh) return false;
    try {
      await fh.sync();
      return true;
    } finally {
      await fh.close();
    }
  }
}

/** A full disk or quota is the client's 507 (InsufficientStorage); other errors pass unchanged. */
export function mapWriteError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new BackendError('InsufficientStorage', '/', 'no space left on the device', { cause: err });
  return err;
}

/** Whether a loose file's bytes inflate to an object whose id is `oid` (another writer's deflate of it). */
function holds(oid: string, deflated: Buffer): boolean {
  try {
    return createHash('sha1').update(inflateSync(deflated)).digest('hex') === oid;
  } catch {
    return false;
  }
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
    return await readStart(fh, n);
  } finally {
    await fh.close();
  }
}

/** The first `n` bytes of an open file (fewer when it is shorter). */
async function readStart(fh: fs.promises.FileHandle, n: number): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  const { bytesRead } = await fh.read(buf, 0, n, 0);
  return buf.subarray(0, bytesRead);
}

async function exists(path: string): Promise<boolean> {
  try {
    await fsp.access(path);
    return true;
  } catch {
    return false;
  }
}

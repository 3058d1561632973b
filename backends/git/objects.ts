/**
 * ObjectStore, the facade over a repository's objects: it asks the packs (pack.ts) or the loose
 * objects (loose.ts) in git's own order, and holds the caches of parsed trees, commits and blob sizes
 * (keyed by id, so never stale). Formats live in object-format.ts; this module re-exports what callers
 * of the store need, so they import from here alone.
 */
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ByteRange } from '../backend.js';
import { BackendError } from '../errors.js';
import { BlobBody } from './blob-body.js';
import type { BlobCache } from './blob-cache.js';
import { LooseObjects, type WriteObjectOptions } from './loose.js';
import { Lru } from '../util/lru.js';
import { WholeBody } from '../util/whole-body.js';
import { cacheCounts } from '../util/stats.js';
import {
  compareTreeEntries,
  corrupt,
  EMPTY_TREE,
  markIfGitOrdered,
  objectId,
  parseCommit,
  parseTree,
  serialiseCommit,
  serialiseTree,
  type CommitFields,
  type CommitInfo,
  type ObjectType,
  type TreeEntry,
} from './object-format.js';
import { PackReader } from './pack.js';
import { SMALL_OBJECT } from './pack-file.js';
import { gitProbe } from './probe.js';

export { compareTreeEntries, EMPTY_TREE, isGitOrdered, searchTreeEntry, tagTarget, type CommitInfo, type ObjectType, type TreeEntry } from './object-format.js';
export { mapWriteError, type WriteObjectOptions } from './loose.js';

const TREE_ENTRY_BYTES = 150;
const TREE_CACHE_BYTES = 24 * 1024 * 1024;

/** The repository's objects: written loose and crash-safe, read loose or packed, behind bounded caches. */
export class ObjectStore {
  readonly packs: PackReader;
  private readonly loose: LooseObjects;
  /**
   * Weighed in bytes (a parsed entry, its name and id strings: ~144 bytes measured): 24 MB is one
   * version of a 160,000-member folder, or ten of a 10,000-member one. Counting entries (300,000)
   * let a calendar upload keep 30 versions of its folder, ~45 MB of trees no request read again.
   */
  private readonly trees = new Lru<TreeEntry[]>(TREE_CACHE_BYTES, (t) => TREE_ENTRY_BYTES * (t.length + 1), cacheCounts('git_trees'));
  private readonly commits = new Lru<CommitInfo>(50_000, undefined, cacheCounts('git_commits'));
  private readonly sizes = new Lru<number>(200_000, undefined, cacheCounts('git_blob_sizes'));

  /** Inflated blobs as plain files (./blob-cache.ts), when the backend keeps them. */
  blobCache: BlobCache | null = null;

  constructor(readonly gitdir: string) {
    this.packs = new PackReader(join(gitdir, 'objects', 'pack'));
    this.loose = new LooseObjects(join(gitdir, 'objects'));
  }

  async has(oid: string): Promise<boolean> {
    return (await this.loose.has(oid)) || (await this.packs.locate(oid)) !== null;
  }

  /** A whole object in memory, loose or packed; throws Corrupt when missing or unreadable. */
  async readRaw(oid: string): Promise<{ type: ObjectType; content: Buffer }> {
    const loose = this.packs.knows(oid) ? null : await this.loose.read(oid);
    if (loose) return loose;
    try {
      const packed = await this.packs.read(oid);
      if (!packed) throw new Error('no such object');
      return packed;
    } catch (err) {
      throw corrupt(oid, err);
    }
  }

  /**
   * The loose object's type and size, or null when there is none. An object in a known pack is
   * read from there (git's own order): a failed open per packed object costs more than the read.
   */
  private looseHeader(oid: string): Promise<{ type: ObjectType; size: number } | null> {
    return this.packs.knows(oid) ? Promise.resolve(null) : this.loose.header(oid);
  }

  /** The object's type, or null if it does not exist. */
  async typeOf(oid: string): Promise<ObjectType | null> {
    const head = await this.looseHeader(oid);
    if (head) return head.type;
    return (await this.packs.info(oid).catch(() => null))?.type ?? null;
  }

  /** The full id for a unique hex prefix (4+ digits), or null when none or several match. */
  async expand(prefix: string): Promise<string | null> {
    if (prefix.length === 40) return (await this.has(prefix)) ? prefix : null;
    const found = new Set<string>(await this.loose.matching(prefix));
    for (const oid of await this.packs.matching(prefix)) found.add(oid);
    return found.size === 1 ? [...found][0]! : null;
  }

  // ---- writing ------------------------------------------------------------------------------------

  /**
   * Writes a small object held in memory, unless it is already stored: then no temp file is made, so
   * on a full disk an object that exists (the placeholder sidecar at start) can still be named.
   */
  async writeBuffer(type: ObjectType, content: Buffer, options?: WriteObjectOptions): Promise<string> {
    const oid = objectId(type, content);
    if (await this.has(oid)) {
      if (type === 'blob') this.sizes.set(oid, content.length);
      // A loose copy may be a small blob written without fsync (see LooseObjects.write).
      if (options?.sync !== false) await this.loose.syncIfPresent(oid);
      return oid;
    }
    return this.writeStream(type, content.length, Readable.from([content]), options);
  }

  /** Streams `size` bytes into a loose object, crash-safe (see LooseObjects.write). */
  async writeStream(type: ObjectType, size: number, source: AsyncIterable<Buffer | string>, options: WriteObjectOptions = {}): Promise<string> {
    const oid = await this.loose.write(type, size, source, options);
    if (type === 'blob') this.sizes.set(oid, size);
    return oid;
  }

  /** A small blob written synchronously without fsync (LooseObjects.writeSmallSync): the caller journals `bytes`. */
  writeSmallBlob(content: Buffer): { oid: string; bytes: Buffer } {
    const written = this.loose.writeSmallSync('blob', content);
    this.sizes.set(written.oid, content.length);
    return written;
  }

  /** Before a commit refers to a blob written by writeSmallBlob: durable, from `bytes` if need be (LooseObjects.settle). */
  settle(oid: string, bytes: Buffer): Promise<'synced' | 'packed' | 'rewritten'> {
    return this.loose.settle(oid, bytes, async () => (await this.packs.locate(oid)) !== null);
  }

  async writeTree(entries: TreeEntry[], options?: WriteObjectOptions): Promise<string> {
    const sorted = [...entries].sort(compareTreeEntries);
    markIfGitOrdered(sorted);
    const oid = await this.writeBuffer('tree', serialiseTree(sorted), options);
    this.trees.set(oid, sorted);
    return oid;
  }

  async writeCommit(c: CommitFields, options?: WriteObjectOptions): Promise<string> {
    return this.writeBuffer('commit', serialiseCommit(c), options);
  }

  /** Makes objects written with `sync: false` durable, all at once (before a ref points at them). */
  sync(oids: Iterable<string>): Promise<void> {
    return this.loose.sync(oids);
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
    gitProbe?.commit(oid);
    const cached = this.commits.get(oid);
    if (cached) return cached;
    const { type, content } = await this.readRaw(oid);
    if (type !== 'commit') throw corrupt(oid, new Error(`a ${type}, not a commit`));
    const info = parseCommit(oid, content);
    this.commits.set(oid, info);
    return info;
  }

  /** The blob's size if it is in the cache, without reading anything. */
  knownBlobSize(oid: string): number | undefined {
    return this.sizes.get(oid);
  }

  /** Size of a blob, from the loose object's header (a few bytes inflated) or the pack. Cached. */
  async blobSize(oid: string): Promise<number> {
    const cached = this.sizes.get(oid);
    if (cached !== undefined) return cached;
    let size: number;
    const head = await this.looseHeader(oid);
    if (head) {
      size = head.size;
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

  /**
   * Streams a blob's content (or a byte range of it): from the blob cache when it holds it, else
   * inflated (and a full read of a blob the cache takes is written into it on the way).
   */
  async readBlob(oid: string, range?: ByteRange): Promise<Readable> {
    const small = await this.smallBlob(oid);
    if (small) return bodyOf(small, range);
    const cache = this.blobCache;
    if (!cache) return this.inflateBlob(oid, range);
    // The size is known from the stat a GET made first (the sizes cache); it names the file's length.
    const size = this.sizes.get(oid) ?? (await this.blobSize(oid));
    if (!cache.accepts(size)) return this.inflateBlob(oid, range);
    const cached = await cache.open(oid, size, range);
    if (cached) return cached;
    const body = await this.inflateBlob(oid, range);
    return range ? body : cache.fill(oid, size, body);
  }

  /**
   * A small packed blob's content, whole: one positioned read, inflated in memory, deltas applied
   * (the packs' object cache keeps what chains share), no stream. Null when the blob is bigger, is
   * one the blob cache keeps, or is not in a pack known yet (loose, or the packs not scanned since
   * the start: the stream path below looks there and scans them). Either copy of an object has the
   * same bytes (content-addressed), so reading the packed one first never gives another answer.
   */
  private async smallBlob(oid: string): Promise<Buffer | null> {
    if (!this.packs.knows(oid)) return null;
    const cache = this.blobCache;
    const fits = (size: number) => size <= SMALL_OBJECT && !(cache?.accepts(size) ?? false);
    const packed = await this.packs.readSmall(oid, fits).catch((err: unknown) => {
      throw corrupt(oid, err);
    });
    if (!packed) return null; // gone since (`git gc` made it loose? never; a pruned pack): the stream path decides
    if (!('content' in packed)) {
      if (packed.size !== undefined) this.sizes.set(oid, packed.size);
      return null;
    }
    if (packed.type !== 'blob') throw new BackendError('Corrupt', oid, `${oid} is a ${packed.type}, not a blob`);
    this.sizes.set(oid, packed.content.length);
    return packed.content;
  }

  /** Streams a blob's content (or a byte range of it). Loose objects stream; packed ones come whole. */
  private async inflateBlob(oid: string, range?: ByteRange): Promise<Readable> {
    // Check the header first: a loose object that is not a blob, or not zlib at all, must fail here,
    // before the response's status is sent, not halfway through the body.
    const loose = this.packs.knows(oid) ? null : await this.loose.open(oid);
    if (loose) {
      if (loose.type !== 'blob') {
        await loose.close();
        throw new BackendError('Corrupt', oid, `${oid} is a ${loose.type}, not a blob`);
      }
      return loose.stream(range);
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

/** A blob held whole as a body, or the byte range of it (ranges are checked against the size before). */
function bodyOf(content: Buffer, range?: ByteRange): Readable {
  return new WholeBody(range ? content.subarray(range.start, range.end + 1) : content);
}

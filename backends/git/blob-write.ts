/**
 * Request bodies into blobs: streamed when the length is known, spooled first when it is not (a blob's
 * header needs it), and partial writes joined with the bytes they keep of the current blob.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackendError } from '../errors.js';
import { mapWriteError, type ObjectStore } from './objects.js';
import type { TreeEditor } from './tree.js';
import type { InlineObject } from './journal/record.js';

/**
 * Bodies up to this size (known length) are written without an fsync of their own and carried in the
 * journal record (./journal/record.ts InlineObject): one fdatasync per PUT instead of two.
 */
export const INLINE_BLOB_MAX = 64 * 1024;

export class BlobWriter {
  /** `spoolDir`: a folder for bodies of unknown length, on the repository's file system. */
  constructor(
    private readonly store: ObjectStore,
    private readonly spoolDir: string,
  ) {}

  /** Streams a body into a blob; a body of unknown length is spooled first. */
  async write(body: Readable, length?: number): Promise<string> {
    if (length !== undefined) return this.store.writeStream('blob', length, body);
    const spool = this.spoolName();
    try {
      await pipeline(body, fs.createWriteStream(spool, { flags: 'wx' })).catch((err: unknown) => Promise.reject(mapWriteError(err)));
      const { size } = await fsp.stat(spool);
      return await this.store.writeStream('blob', size, fs.createReadStream(spool));
    } finally {
      await fsp.rm(spool, { force: true });
    }
  }

  /**
   * A body of known length up to INLINE_BLOB_MAX: read whole (it is small), written as a loose object
   * without fsync. The returned inline copy must go into the journal record that names the blob.
   */
  async writeSmall(body: Readable, length: number): Promise<{ oid: string; inline: InlineObject }> {
    if (length > INLINE_BLOB_MAX) throw new RangeError(`a body of ${length} bytes is not small`);
    const content = Buffer.allocUnsafe(length);
    let seen = 0;
    for await (const raw of body as AsyncIterable<Buffer | string>) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
      if (seen + chunk.length > length) throw new Error(`object body longer than ${length} bytes`);
      chunk.copy(content, seen);
      seen += chunk.length;
    }
    if (seen !== length) throw new Error(`object body has ${seen} bytes, ${length} expected`);
    const { oid, bytes } = this.store.writeSmallBlob(content);
    return { oid, inline: { oid, z: bytes.toString('base64') } };
  }

  private spoolName(): string {
    // Removed from under us (by hand, or by an older gitdav taking it for a stray file): made again.
    if (!fs.existsSync(this.spoolDir)) fs.mkdirSync(this.spoolDir, { recursive: true });
    return join(this.spoolDir, randomBytes(8).toString('hex'));
  }

  /** A new blob: `path`'s bytes in `editor` with the body written over them from `offset`. */
  async patched(path: string, body: Readable, offset: number, editor: TreeEditor): Promise<{ oid: string; basis: string | null }> {
    const slot = await editor.get(path);
    const basis = slot?.kind === 'file' ? slot.oid : null;
    const oldSize = basis ? await this.store.blobSize(basis) : 0;
    if (offset > oldSize) throw new BackendError('InvalidRange', path, `offset ${offset} is past the end (${oldSize})`);
    const spool = this.spoolName();
    try {
      await pipeline(body, fs.createWriteStream(spool, { flags: 'wx' })).catch((err: unknown) => Promise.reject(mapWriteError(err)));
      const chunk = (await fsp.stat(spool)).size;
      const size = Math.max(oldSize, offset + chunk);
      const store = this.store;
      async function* joined(): AsyncGenerator<Buffer> {
        if (basis && offset > 0) yield* (await store.readBlob(basis, { start: 0, end: offset - 1 })) as AsyncIterable<Buffer>;
        yield* fs.createReadStream(spool) as AsyncIterable<Buffer>;
        if (basis && offset + chunk < oldSize) yield* (await store.readBlob(basis, { start: offset + chunk, end: oldSize - 1 })) as AsyncIterable<Buffer>;
      }
      return { oid: await this.store.writeStream('blob', size, joined()), basis };
    } finally {
      await fsp.rm(spool, { force: true });
    }
  }
}

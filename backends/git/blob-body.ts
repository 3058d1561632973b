/**
 * BlobBody: the stream transform that turns an object's inflated bytes into a blob's content, or a
 * byte range of it. From a loose object it strips and checks the `blob <size>\0` header; from a pack
 * it takes bare content of a known size. It checks the length, and ends as soon as a range is served.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { ByteRange } from '../backend.js';
import { BackendError } from '../errors.js';
import { corrupt, parseHeader } from './object-format.js';

/** Strips the `blob <size>\0` header from an inflated loose object, then serves the content or a range. */
export class BlobBody extends Transform {
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

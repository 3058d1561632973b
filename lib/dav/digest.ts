/**
 * Representation digests (RFC 9530). Digests are remembered by ETag (a strong ETag names one exact
 * content), so a `Want-Repr-Digest` GET reads the file at most once per version; PUT fills the cache
 * for free because it hashes while it streams.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { parseDictionary } from 'structured-headers';
import { Lru } from '../../backends/util/lru.js';
import { cacheCounts } from '../../backends/util/stats.js';

export type DigestAlgorithm = 'sha-256' | 'sha-512';
/** What a PUT may hash on the way: RFC 9530's algorithms, and ownCloud's checksums (hex, `OC-Checksum`). */
export type HashAlgorithm = DigestAlgorithm | 'sha1' | 'md5';
const NODE_NAME: Record<HashAlgorithm, string> = { 'sha-256': 'sha256', 'sha-512': 'sha512', sha1: 'sha1', md5: 'md5' };

/**
 * The least recently used digests past `capacity` entries are forgotten. Weighed by count: every
 * entry is an ETag and a base64 digest (a few hundred bytes), so 10,000 entries are about 3 MB.
 */
export class DigestCache {
  private readonly lru: Lru<string>;
  constructor(capacity = 10_000) {
    this.lru = new Lru<string>(capacity, undefined, cacheCounts('dav_digests'));
  }

  get(etag: string, alg: DigestAlgorithm): string | undefined {
    return this.lru.get(`${alg} ${etag}`);
  }

  set(etag: string, alg: DigestAlgorithm, base64: string): void {
    this.lru.set(`${alg} ${etag}`, base64);
  }
}

/** A `Repr-Digest` or `Content-Digest` field that is not an RFC 8941 dictionary of digests. */
export class DigestHeaderError extends Error {
  override name = 'DigestHeaderError';
}

const DIGEST_BYTES: Record<DigestAlgorithm, number> = { 'sha-256': 32, 'sha-512': 64 };

/**
 * `sha-256=:…:, sha-512=:…:` (RFC 9530 §2: an RFC 8941 dictionary of byte sequences) → the digests
 * of the algorithms we know. Parsed strictly (structured-headers, RFC 8941 §4.2): a field that does
 * not parse, or a known algorithm whose value is not a byte sequence of its digest's length, throws
 * DigestHeaderError (a client that sent an integrity check it cannot have meant gets a 400, not
 * silence); unknown algorithms are ignored whatever their value (RFC 9530 §5).
 */
export function parseDigestHeader(header: string, name = 'Digest'): Map<DigestAlgorithm, Buffer> {
  const out = new Map<DigestAlgorithm, Buffer>();
  let dict;
  try {
    dict = parseDictionary(header);
  } catch (err) {
    throw new DigestHeaderError(`malformed ${name} header (RFC 9530: a dictionary like sha-256=:base64:): ${(err as Error).message}`);
  }
  for (const [key, [value]] of dict) {
    if (key !== 'sha-256' && key !== 'sha-512') continue;
    if (!(value instanceof ArrayBuffer) || value.byteLength !== DIGEST_BYTES[key]) {
      throw new DigestHeaderError(`malformed ${name} header: ${key} must be a byte sequence of ${DIGEST_BYTES[key]} bytes, as :base64:`);
    }
    out.set(key, Buffer.from(value));
  }
  return out;
}

/** `Want-Repr-Digest: sha-256=1, sha-512=3` → the preferred algorithm we support, if any. */
export function preferredDigest(header: string | undefined): DigestAlgorithm | undefined {
  if (!header) return undefined;
  let best: DigestAlgorithm | undefined;
  let bestWeight = 0;
  for (const member of header.split(',')) {
    const m = /^\s*([a-z0-9-]+)\s*(?:=\s*(\d+))?\s*$/i.exec(member);
    if (!m) continue;
    const alg = m[1]!.toLowerCase();
    const weight = m[2] === undefined ? 1 : Number(m[2]);
    if ((alg === 'sha-256' || alg === 'sha-512') && weight > bestWeight) {
      best = alg;
      bestWeight = weight;
    }
  }
  return best;
}

/** A pass-through stream that hashes what flows through it. */
export class HashingStream extends Transform {
  private readonly hashes: Map<HashAlgorithm, Hash>;
  /** Base64 digests, once the body has ended. */
  readonly digests = new Map<HashAlgorithm, string>();
  bytes = 0;

  constructor(
    algorithms: HashAlgorithm[],
    private readonly options: { maxBytes?: number; onEnd?: (self: HashingStream) => Error | undefined } = {},
  ) {
    super();
    this.hashes = new Map(algorithms.map((a) => [a, createHash(NODE_NAME[a])]));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.options.maxBytes !== undefined && this.bytes > this.options.maxBytes) {
      cb(Object.assign(new Error(`body larger than ${this.options.maxBytes} bytes`), { status: 413 }));
      return;
    }
    for (const h of this.hashes.values()) h.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    for (const [a, h] of this.hashes) this.digests.set(a, h.digest('base64'));
    cb(this.options.onEnd?.(this) ?? null);
  }
}

/** A digest as lower-case hex (ownCloud's form), from its base64. */
export function hexDigest(base64: string): string {
  return Buffer.from(base64, 'base64').toString('hex');
}

export async function digestOfStream(stream: AsyncIterable<Buffer>, alg: DigestAlgorithm): Promise<string> {
  const h = createHash(NODE_NAME[alg]);
  for await (const chunk of stream) h.update(chunk);
  return h.digest('base64');
}

/**
 * Representation digests (RFC 9530). Digests are remembered by ETag (a strong ETag names one exact
 * content), so a `Want-Repr-Digest` GET reads the file at most once per version; PUT fills the cache
 * for free because it hashes while it streams.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export type DigestAlgorithm = 'sha-256' | 'sha-512';
const NODE_NAME: Record<DigestAlgorithm, string> = { 'sha-256': 'sha256', 'sha-512': 'sha512' };

export class DigestCache {
  private readonly map = new Map<string, string>();
  constructor(private readonly capacity = 10_000) {}

  get(etag: string, alg: DigestAlgorithm): string | undefined {
    const key = `${alg} ${etag}`;
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v); // keep recently used entries at the end
    }
    return v;
  }

  set(etag: string, alg: DigestAlgorithm, base64: string): void {
    const key = `${alg} ${etag}`;
    this.map.delete(key);
    this.map.set(key, base64);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }
}

/** `sha-256=:…:, sha-512=:…:` (an RFC 8941 dictionary of byte sequences) → the ones we know. */
export function parseDigestHeader(header: string): Map<DigestAlgorithm, string> {
  const out = new Map<DigestAlgorithm, string>();
  for (const member of header.split(',')) {
    const m = /^\s*([a-z0-9-]+)\s*=\s*:([A-Za-z0-9+/=]*):\s*$/i.exec(member);
    if (!m) continue;
    const alg = m[1]!.toLowerCase();
    if (alg === 'sha-256' || alg === 'sha-512') out.set(alg, m[2]!);
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
  private readonly hashes: Map<DigestAlgorithm, Hash>;
  readonly digests = new Map<DigestAlgorithm, string>();
  bytes = 0;

  constructor(
    algorithms: DigestAlgorithm[],
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

export async function digestOfStream(stream: AsyncIterable<Buffer>, alg: DigestAlgorithm): Promise<string> {
  const h = createHash(NODE_NAME[alg]);
  for await (const chunk of stream) h.update(chunk);
  return h.digest('base64');
}

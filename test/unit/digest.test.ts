import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestCache, DigestHeaderError, HashingStream, parseDigestHeader, preferredDigest, digestOfStream } from '../../lib/dav/digest.js';

// RFC 9530 §2 / Appendix B: the representation {"hello": "world"}
const HELLO = '{"hello": "world"}';
const HELLO_SHA256 = 'X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=';
const HELLO_SHA512 = 'WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==';
// FIPS 180-2 test vector "abc"
const ABC_SHA256 = 'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=';
const EMPTY_SHA256 = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';

async function run(stream: HashingStream, chunks: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks),
    stream,
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        out.push(chunk);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

describe('RFC 9530 digests: lib/dav/digest', () => {
  describe('§2 Repr-Digest / Content-Digest: parseDigestHeader', () => {
    const b64 = (m: Map<string, Buffer>, alg: string) => m.get(alg)?.toString('base64');

    it('parses the RFC 9530 example', () => {
      const m = parseDigestHeader(`sha-256=:${HELLO_SHA256}:, sha-512=:${HELLO_SHA512}:`);
      assert.equal(m.size, 2);
      assert.equal(b64(m, 'sha-256'), HELLO_SHA256);
      assert.equal(b64(m, 'sha-512'), HELLO_SHA512);
    });

    it('skips algorithms it does not support, whatever their value (§5: unknown algorithms are ignored)', () => {
      const m = parseDigestHeader(`md5=:HUXZLQLMuI/KZ5KDcJPcOA==:, sha-256=:${ABC_SHA256}:, unixsum=:MTIz:, crc32c=7, new-alg="x"`);
      assert.deepEqual([...m.keys()], ['sha-256']);
      assert.equal(parseDigestHeader('md5=:HUXZLQLMuI/KZ5KDcJPcOA==:').size, 0);
    });

    it('tolerates whitespace between members and parameters (RFC 8941 §4.2.2)', () => {
      assert.equal(b64(parseDigestHeader(`  sha-256=:${ABC_SHA256}:;x=1 ,\tmd5=:AA==:  `), 'sha-256'), ABC_SHA256);
    });

    it('a malformed field is an error, not ignored: RFC 8941 syntax, or a value no sha digest can be', () => {
      const bad = [
        `sha-256=${ABC_SHA256}`, // not a byte sequence (a token would not even parse)
        `sha-256="${ABC_SHA256}"`, // a string
        `sha-256=:${ABC_SHA256}`, // unterminated
        'sha-256=:a*b:', // not base64
        'sha-256', // a boolean true
        'sha-256=::', // 0 bytes
        'sha-256=:AAAA:', // 3 bytes, not 32
        `sha-512=:${ABC_SHA256}:`, // 32 bytes, not 64
        `SHA-256=:${ABC_SHA256}:`, // keys are lower case (RFC 8941 §3.2)
        `sha-256 = :${ABC_SHA256}:`,
        `sha-256=:${ABC_SHA256}:,`,
        `md5=:not base64!:, sha-256=:${ABC_SHA256}:`, // one bad member spoils the field (§4.2)
        ';;;',
      ];
      for (const h of bad) assert.throws(() => parseDigestHeader(h, 'Repr-Digest'), (err: unknown) => err instanceof DigestHeaderError && /Repr-Digest/.test(err.message), h);
    });

    it('an empty field names no digest', () => {
      assert.equal(parseDigestHeader('').size, 0);
    });

    it('a later member for the same algorithm wins (RFC 8941 §4.2.2: last duplicate key wins)', () => {
      assert.equal(b64(parseDigestHeader(`sha-256=:${HELLO_SHA256}:, sha-256=:${ABC_SHA256}:`), 'sha-256'), ABC_SHA256);
    });
  });

  describe('§4 Want-Repr-Digest: preferredDigest', () => {
    it('picks the highest weight among supported algorithms (RFC 9530 §4 example)', () => {
      assert.equal(preferredDigest('sha-256=1, sha-512=3'), 'sha-512');
      assert.equal(preferredDigest('sha-256=5, sha-512=3'), 'sha-256');
    });

    it('ignores unsupported algorithms however strongly they are wanted', () => {
      assert.equal(preferredDigest('unixsum=10, sha-256=1'), 'sha-256');
      assert.equal(preferredDigest('md5=10, unixsum=9'), undefined);
    });

    it('weight 0 means "not acceptable"', () => {
      assert.equal(preferredDigest('sha-256=0'), undefined);
      assert.equal(preferredDigest('sha-256=0, sha-512=0'), undefined);
      assert.equal(preferredDigest('sha-512=0, sha-256=1'), 'sha-256');
    });

    it('the first of equally weighted algorithms wins', () => {
      assert.equal(preferredDigest('sha-512=2, sha-256=2'), 'sha-512');
      assert.equal(preferredDigest('sha-256=2, sha-512=2'), 'sha-256');
    });

    it('a bare algorithm name counts as weight 1', () => {
      assert.equal(preferredDigest('sha-256'), 'sha-256');
      assert.equal(preferredDigest('sha-256, sha-512=2'), 'sha-512');
    });

    it('is case-insensitive and tolerates whitespace', () => {
      assert.equal(preferredDigest('  SHA-512 = 4 ,sha-256=1'), 'sha-512');
    });

    it('nothing wanted, nothing chosen', () => {
      assert.equal(preferredDigest(undefined), undefined);
      assert.equal(preferredDigest(''), undefined);
      assert.equal(preferredDigest('sha-256=x'), undefined);
    });
  });

  describe('HashingStream', () => {
    it('passes the bytes through unchanged and computes every requested digest', async () => {
      const s = new HashingStream(['sha-256', 'sha-512']);
      const out = await run(s, [Buffer.from(HELLO.slice(0, 5)), Buffer.from(HELLO.slice(5))]);
      assert.equal(out.toString(), HELLO);
      assert.equal(s.digests.get('sha-256'), HELLO_SHA256);
      assert.equal(s.digests.get('sha-512'), HELLO_SHA512);
      assert.equal(s.bytes, Buffer.byteLength(HELLO));
    });

    it('computes only the requested algorithms', async () => {
      const s = new HashingStream(['sha-256']);
      await run(s, [Buffer.from('abc')]);
      assert.deepEqual([...s.digests.entries()], [['sha-256', ABC_SHA256]]);
    });

    it('digests an empty body', async () => {
      const s = new HashingStream(['sha-256']);
      await run(s, []);
      assert.equal(s.digests.get('sha-256'), EMPTY_SHA256);
      assert.equal(s.bytes, 0);
    });

    it('has no digests before the stream ends', () => {
      assert.equal(new HashingStream(['sha-256']).digests.size, 0);
    });

    it('accepts exactly maxBytes', async () => {
      const s = new HashingStream(['sha-256'], { maxBytes: 3 });
      const out = await run(s, [Buffer.from('ab'), Buffer.from('c')]);
      assert.equal(out.toString(), 'abc');
      assert.equal(s.digests.get('sha-256'), ABC_SHA256);
    });

    it('fails with status 413 once more than maxBytes flowed', async () => {
      const s = new HashingStream(['sha-256'], { maxBytes: 3 });
      await assert.rejects(run(s, [Buffer.from('ab'), Buffer.from('cd')]), (err: Error & { status?: number }) => {
        assert.equal(err.status, 413);
        assert.match(err.message, /larger than 3 bytes/);
        return true;
      });
      assert.equal(s.digests.size, 0, 'no digest of a truncated body');
    });

    it('maxBytes 0 refuses any byte', async () => {
      await assert.rejects(run(new HashingStream([], { maxBytes: 0 }), [Buffer.from('x')]), /larger than 0 bytes/);
      await run(new HashingStream([], { maxBytes: 0 }), []);
    });

    it('onEnd sees the final digests and can fail the stream', async () => {
      let seen: string | undefined;
      const ok = new HashingStream(['sha-256'], {
        onEnd: (self) => {
          seen = self.digests.get('sha-256');
          return undefined;
        },
      });
      await run(ok, [Buffer.from('abc')]);
      assert.equal(seen, ABC_SHA256);

      const mismatch = new HashingStream(['sha-256'], {
        onEnd: (self) => (self.digests.get('sha-256') === HELLO_SHA256 ? undefined : new Error('digest mismatch')),
      });
      await assert.rejects(run(mismatch, [Buffer.from('abc')]), /digest mismatch/);
    });
  });

  describe('digestOfStream', () => {
    it('hashes an async iterable of buffers', async () => {
      assert.equal(await digestOfStream(Readable.from([Buffer.from('a'), Buffer.from('bc')]), 'sha-256'), ABC_SHA256);
      assert.equal(await digestOfStream(Readable.from([Buffer.from(HELLO)]), 'sha-512'), HELLO_SHA512);
    });
  });

  describe('DigestCache', () => {
    it('remembers digests per etag and algorithm', () => {
      const c = new DigestCache();
      c.set('"e1"', 'sha-256', 'A');
      c.set('"e1"', 'sha-512', 'B');
      c.set('"e2"', 'sha-256', 'C');
      assert.equal(c.get('"e1"', 'sha-256'), 'A');
      assert.equal(c.get('"e1"', 'sha-512'), 'B');
      assert.equal(c.get('"e2"', 'sha-256'), 'C');
      assert.equal(c.get('"e2"', 'sha-512'), undefined);
      assert.equal(c.get('"e3"', 'sha-256'), undefined);
    });

    it('overwrites an existing entry', () => {
      const c = new DigestCache();
      c.set('"e"', 'sha-256', 'old');
      c.set('"e"', 'sha-256', 'new');
      assert.equal(c.get('"e"', 'sha-256'), 'new');
    });

    it('evicts the least recently set entry beyond capacity', () => {
      const c = new DigestCache(2);
      c.set('"a"', 'sha-256', 'A');
      c.set('"b"', 'sha-256', 'B');
      c.set('"c"', 'sha-256', 'C');
      assert.equal(c.get('"a"', 'sha-256'), undefined);
      assert.equal(c.get('"b"', 'sha-256'), 'B');
      assert.equal(c.get('"c"', 'sha-256'), 'C');
    });

    it('get refreshes recency (LRU, not FIFO)', () => {
      const c = new DigestCache(2);
      c.set('"a"', 'sha-256', 'A');
      c.set('"b"', 'sha-256', 'B');
      assert.equal(c.get('"a"', 'sha-256'), 'A');
      c.set('"c"', 'sha-256', 'C');
      assert.equal(c.get('"b"', 'sha-256'), undefined, 'b was least recently used');
      assert.equal(c.get('"a"', 'sha-256'), 'A');
      assert.equal(c.get('"c"', 'sha-256'), 'C');
    });

    it('re-setting an entry refreshes its recency', () => {
      const c = new DigestCache(2);
      c.set('"a"', 'sha-256', 'A');
      c.set('"b"', 'sha-256', 'B');
      c.set('"a"', 'sha-256', 'A2');
      c.set('"c"', 'sha-256', 'C');
      assert.equal(c.get('"b"', 'sha-256'), undefined);
      assert.equal(c.get('"a"', 'sha-256'), 'A2');
    });

    it('a miss does not disturb the order', () => {
      const c = new DigestCache(2);
      c.set('"a"', 'sha-256', 'A');
      c.set('"b"', 'sha-256', 'B');
      assert.equal(c.get('"zzz"', 'sha-256'), undefined);
      c.set('"c"', 'sha-256', 'C');
      assert.equal(c.get('"a"', 'sha-256'), undefined);
      assert.equal(c.get('"b"', 'sha-256'), 'B');
    });

    it('holds exactly capacity entries', () => {
      const c = new DigestCache(100);
      for (let i = 0; i < 150; i++) c.set(`"${i}"`, 'sha-256', String(i));
      let present = 0;
      for (let i = 0; i < 150; i++) if (c.get(`"${i}"`, 'sha-256') !== undefined) present++;
      assert.equal(present, 100);
      assert.equal(c.get('"149"', 'sha-256'), '149');
    });
  });
});

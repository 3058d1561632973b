/**
 * What a request body claims about itself must hold or be refused, never stored as is:
 * `Transfer-Encoding: gzip, chunked` passes Node's parser (chunked is last) and its gzip bytes were
 * stored undecoded; now any transfer-coding but chunked alone is a 501 (as Apache answers), before
 * the body is read, on every method. A malformed `Repr-Digest` or `Content-Digest` (RFC 9530) is a
 * 400 rather than ignored; a well-formed one of an unknown algorithm is ignored; a mismatching one
 * is a 400 and nothing is stored. Raw HTTP; both backends.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { lockBody, raw, startTestServer, type TestServer } from '../helpers/server.js';
import { forEachBackend } from '../helpers/backends.js';

/** Sends bytes as they are on a fresh connection; resolves with everything the server answered. */
function exchange(url: string, bytes: Buffer | string, waitMs = 15_000): Promise<string> {
  const port = Number(new URL(url).port);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect(port, '127.0.0.1', () => sock.write(bytes));
    const timer = setTimeout(() => sock.destroy(), waitMs);
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      // One answer is all we wait for: its head and its declared body.
      const text = Buffer.concat(chunks).toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const len = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, head))?.[1];
      if (head >= 0 && len !== undefined && text.length >= head + 4 + Number(len)) sock.end();
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    sock.on('error', reject);
  });
}

/** A chunked body of one chunk (and the last). */
const chunked = (body: Buffer) => Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
const sha256 = (s: string) => createHash('sha256').update(s).digest('base64');

forEachBackend((backend) => describe(`request codings and digests (${backend} backend)`, function () {
  this.timeout(30_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend });
    assert.equal((await raw(s.url, '/kept.txt', { method: 'PUT', body: 'kept' })).status, 201);
  });
  after(() => s.close());

  describe('Transfer-Encoding other than chunked → 501', () => {
    it('PUT with Transfer-Encoding: gzip, chunked is a 501 with a clear body; nothing is stored', async () => {
      const gz = gzipSync(Buffer.from('hello gzip'));
      const head = 'PUT /gz.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n';
      const reply = await exchange(s.url, Buffer.concat([Buffer.from(head), chunked(gz)]));
      assert.match(reply, /^HTTP\/1.1 501 /);
      assert.match(reply, /Transfer-Encoding "gzip, chunked" is not supported/);
      assert.match(reply, /\r\nconnection: close\r\n/i);
      assert.equal((await raw(s.url, '/gz.txt')).status, 404);
    });

    it('an existing file is left as it was', async () => {
      const head = 'PUT /kept.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: deflate, chunked\r\n\r\n';
      const reply = await exchange(s.url, Buffer.concat([Buffer.from(head), chunked(Buffer.from('xx'))]));
      assert.match(reply, /^HTTP\/1.1 501 /);
      assert.equal((await raw(s.url, '/kept.txt')).text, 'kept');
    });

    it('every method with a body: PROPPATCH, LOCK, MKCOL, REPORT, PROPFIND', async () => {
      for (const method of ['PROPPATCH', 'LOCK', 'MKCOL', 'REPORT', 'PROPFIND']) {
        const head = `${method} /kept.txt HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nTransfer-Encoding: gzip, chunked\r\n\r\n`;
        const reply = await exchange(s.url, Buffer.concat([Buffer.from(head), chunked(gzipSync(lockBody()))]));
        assert.match(reply, /^HTTP\/1.1 501 /, method);
      }
      assert.equal((await raw(s.url, '/kept.txt', { method: 'PUT', body: 'kept' })).status, 204, 'no lock was taken');
    });

    it('chunked alone (any case) still works', async () => {
      const head = 'PUT /plain.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n';
      const reply = await exchange(s.url, Buffer.concat([Buffer.from(head), chunked(Buffer.from('plain'))]));
      assert.match(reply, /^HTTP\/1.1 201 /);
      assert.equal((await raw(s.url, '/plain.txt')).text, 'plain');
    });

    it('gzip alone (chunked not last) never reaches a handler: Node refuses it (400) and nothing is stored', async () => {
      const head = 'PUT /gz-only.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n';
      const reply = await exchange(s.url, Buffer.concat([Buffer.from(head), gzipSync(Buffer.from('x'))]), 3_000);
      assert.match(reply, /^HTTP\/1.1 (400|501) /);
      assert.equal((await raw(s.url, '/gz-only.txt')).status, 404);
    });
  });

  describe('RFC 9530 Repr-Digest and Content-Digest on PUT', () => {
    for (const header of ['Repr-Digest', 'Content-Digest']) {
      it(`a malformed ${header} is a 400 naming it, before the body is read; nothing is stored`, async () => {
        for (const bad of ['sha-256=abc', 'sha-256', 'sha-256=:AAAA:', 'SHA-256=:' + sha256('x') + ':', ';;;', `sha-256=:${sha256('x')}`]) {
          const r = await raw(s.url, '/dg.txt', { method: 'PUT', body: 'x', headers: { [header]: bad } });
          assert.equal(r.status, 400, `${header}: ${bad}`);
          assert.match(r.text, new RegExp(`malformed ${header}`));
        }
        assert.equal((await raw(s.url, '/dg.txt')).status, 404);
      });

      it(`a well-formed ${header} of an unknown algorithm is ignored (201)`, async () => {
        const r = await raw(s.url, `/unknown-${header}.txt`, { method: 'PUT', body: 'x', headers: { [header]: 'md5=:HUXZLQLMuI/KZ5KDcJPcOA==:, unixsum=3' } });
        assert.equal(r.status, 201);
      });

      it(`a mismatching ${header} is a 400 and nothing is stored (nor replaced)`, async () => {
        const r = await raw(s.url, '/kept.txt', { method: 'PUT', body: 'other', headers: { [header]: `sha-256=:${sha256('not other')}:` } });
        assert.equal(r.status, 400);
        assert.match(r.text, /does not match its sha-256 digest/);
        assert.equal((await raw(s.url, '/kept.txt')).text, 'kept');
        const created = await raw(s.url, '/mismatch.txt', { method: 'PUT', body: 'other', headers: { [header]: `sha-256=:${sha256('x')}:` } });
        assert.equal(created.status, 400);
        assert.equal((await raw(s.url, '/mismatch.txt')).status, 404);
      });

      it(`a matching ${header} is accepted`, async () => {
        const r = await raw(s.url, `/match-${header}.txt`, { method: 'PUT', body: 'good', headers: { [header]: `sha-256=:${sha256('good')}:` } });
        assert.equal(r.status, 201);
      });
    }
  });
}));

// Answered by the HTTP layer before any backend is asked: one backend is enough.
describe('request codings: a refused body does not stall the connection', () => {
  it('the 501 comes before the client sends its body (Expect: 100-continue)', async function () {
    this.timeout(20_000);
    const s = await startTestServer();
    try {
      const head = 'PUT /x.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: gzip, chunked\r\n\r\n';
      const reply = await exchange(s.url, head);
      assert.match(reply, /^HTTP\/1.1 501 /);
      assert.doesNotMatch(reply, /100 Continue/);
    } finally {
      await s.close();
    }
  });
});

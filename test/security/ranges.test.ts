/**
 * Overlapping ranges must not amplify a GET: 64 × `bytes=0-` on a 10 MiB file once sent 671 MB.
 * Overlapping and adjacent ranges are coalesced, several ranges covering the whole file get it once
 * (200), and ordinary multi-range requests still get multipart/byteranges. Both backends.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';
import { forEachBackend } from '../helpers/backends.js';

const SIZE = 4 * 1024 * 1024;

/** GETs `path`, counting the body's bytes without keeping them; gives up past `cap` bytes. */
function countBody(base: string, path: string, headers: Record<string, string>, cap: number): Promise<{ status: number; bytes: number; type?: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const r = request({ host: url.hostname, port: url.port, path, headers }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes > cap) {
          res.destroy();
          resolve({ status: res.statusCode!, bytes, type: res.headers['content-type'] });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode!, bytes, type: res.headers['content-type'] }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end();
  });
}

forEachBackend((backend) => describe(`range amplification (${backend} backend)`, function () {
  this.timeout(60_000);
  let s: TestServer;
  const content = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i++) content[i] = i % 251;

  before(async () => {
    s = await startTestServer({ backend });
    assert.equal((await raw(s.url, '/big.bin', { method: 'PUT', body: content })).status, 201);
  });
  after(() => s.close());

  it('64 × bytes=0- sends the file once (200), not 64 times', async () => {
    const header = 'bytes=' + Array.from({ length: 64 }, () => '0-').join(',');
    const r = await countBody(s.url, '/big.bin', { Range: header }, 2 * SIZE);
    assert.equal(r.bytes, SIZE, `${r.bytes} bytes received for a ${SIZE}-byte file`);
    assert.equal(r.status, 200);
  });

  it('64 overlapping ranges inside the file send each byte once (one coalesced range)', async () => {
    const header = 'bytes=' + Array.from({ length: 64 }, (_, i) => `${i * 1000}-${SIZE / 2}`).join(',');
    const r = await raw(s.url, '/big.bin', { headers: { Range: header } });
    assert.equal(r.status, 206);
    assert.equal(r.headers['content-range'], `bytes 0-${SIZE / 2}/${SIZE}`);
    assert.ok(r.body.equals(content.subarray(0, SIZE / 2 + 1)));
  });

  it('ordinary disjoint ranges still get 206 multipart/byteranges, in the order asked', async () => {
    const r = await raw(s.url, '/big.bin', { headers: { Range: 'bytes=1000-1009,0-4,-3' } });
    assert.equal(r.status, 206);
    const type = r.headers['content-type'] as string;
    assert.match(type, /^multipart\/byteranges; boundary=/);
    const boundary = /boundary=(\S+)/.exec(type)![1]!;
    const parts = r.body.toString('latin1').split(`--${boundary}`).slice(1, -1);
    assert.deepEqual(
      parts.map((p) => /Content-Range: bytes (\S+)/.exec(p)![1]),
      [`1000-1009/${SIZE}`, `0-4/${SIZE}`, `${SIZE - 3}-${SIZE - 1}/${SIZE}`],
    );
    assert.ok(parts[0]!.endsWith(`\r\n\r\n${content.subarray(1000, 1010).toString('latin1')}\r\n`));
    assert.equal(Number(r.headers['content-length']), r.body.length);
  });
}));

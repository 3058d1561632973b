/**
 * A folder GET opens its target once (FsBackend.openRead, backends/fs/read-open.ts): one open by
 * name (O_PATH, verified) for the entry, the body from that same file reopened through
 * /proc/self/fd/N, and every descriptor closed exactly once whatever the request ends in (HEAD, 304,
 * 412, ranges, a trailing slash, a client that goes away mid-body).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Containment } from '../backends/fs/containment.js';
import { FsBackend } from '../backends/fs/index.js';
import { buffersInUse, FileBody } from '../backends/util/file-body.js';
import { raw, startTestServer, type TestServer } from './helpers/server.js';
import { openOn } from './helpers/steps.js';


/** Waits (bounded by steps, not time) until nothing is open on `file`; closes are asynchronous. */
async function settled(file: string): Promise<number> {
  let n = await openOn(file);
  for (let step = 0; step < 200 && n > 0; step++) {
    await new Promise((r) => setTimeout(r, 5));
    n = await openOn(file);
  }
  return n;
}

/** Waits (bounded by steps, not time) until `ok()`; whether it became true. */
async function until(ok: () => boolean): Promise<boolean> {
  for (let step = 0; step < 400 && !ok(); step++) await new Promise((r) => setTimeout(r, 5));
  return ok();
}

async function readAll(body: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of body) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('FsBackend.openRead: one open per GET', () => {
  let root: string;
  let file: string;
  let b: FsBackend;
  const data = Buffer.alloc(3 * 1024 * 1024 + 7, 'x');
  for (let i = 0; i < data.length; i += 4096) data[i] = i & 0xff;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'read-open-'));
    file = join(root, 'f.bin');
    await writeFile(file, data);
    b = await FsBackend.open({ root });
  });
  after(async () => {
    await b.close();
    await rm(root, { recursive: true, force: true });
  });

  it('gives the entry, then the bytes or a range from the same handle; closes once', async () => {
    const opened = (await b.openRead('/f.bin'))!;
    assert.equal(opened.entry.size, data.length);
    assert.deepEqual(opened.entry, await b.stat('/f.bin'));
    assert.equal(await openOn(file), 1, 'the O_PATH handle');
    assert.deepEqual(await readAll(await opened.body()), data);
    opened.close(); // after body(): nothing left to close
    assert.equal(await settled(file), 0);
    await assert.rejects(opened.body(), /once/);

    const part = (await b.openRead('/f.bin'))!;
    assert.deepEqual(await readAll(await part.body({ start: 4095, end: 8192 })), data.subarray(4095, 8193));
    assert.equal(await settled(file), 0);
  });

  it('HEAD-like use: close() at once, and again, closes the one handle', async () => {
    const opened = (await b.openRead('/f.bin'))!;
    opened.close();
    opened.close();
    assert.equal(await openOn(file), 0);
  });

  it('sends the file it opened, even if another is renamed over the name before the body', async () => {
    const opened = (await b.openRead('/f.bin'))!;
    await writeFile(join(root, 'new.tmp'), 'other');
    await rename(join(root, 'new.tmp'), file);
    assert.deepEqual(await readAll(await opened.body()), data);
    assert.notEqual((await b.stat('/f.bin'))!.etag, opened.entry.etag);
    await writeFile(file, data);
    assert.equal(await settled(file), 0);
  });

  it('a folder: its entry, no handle held, no body; nothing there: null', async () => {
    const opened = (await b.openRead('/'))!;
    assert.equal(opened.entry.kind, 'collection');
    await assert.rejects(opened.body(), (err: Error & { code?: string }) => err.code === 'IsACollection');
    opened.close();
    assert.equal(await b.openRead('/missing'), null);
    assert.equal(await b.openRead('/.gitdav'), null);
  });
});

describe('folder GET/HEAD over HTTP: one open by name, every descriptor closed once', () => {
  let s: TestServer;
  let file: string;
  let huge: string;
  let etag: string;
  const size = 2 * 1024 * 1024;
  const proto = Containment.prototype as unknown as { openFast: (...a: unknown[]) => unknown; open: (...a: unknown[]) => unknown };
  const originals = { openFast: proto.openFast, open: proto.open };
  const calls = { fast: 0, open: 0 };

  before(async () => {
    s = await startTestServer({ backend: 'fs' });
    file = join(s.root, 'big.bin');
    await writeFile(file, Buffer.alloc(size, 'a'));
    huge = join(s.root, 'huge.bin');
    await writeFile(huge, '');
    await truncate(huge, 64 * 1024 * 1024); // sparse: larger than any socket buffer, cheap to make
    etag = (await raw(s.url, '/big.bin', { method: 'HEAD' })).headers.etag as string;
    proto.openFast = function (this: unknown, ...a: unknown[]) {
      if (a[0] === '/big.bin') calls.fast++;
      return originals.openFast.apply(this, a);
    };
    proto.open = function (this: unknown, ...a: unknown[]) {
      if (a[0] === '/big.bin') calls.open++;
      return originals.open.apply(this, a);
    };
  });
  after(async () => {
    Object.assign(proto, originals);
    await s.close();
  });

  const cases: [string, Record<string, string>, string, number][] = [
    ['GET', {}, 'GET', 200],
    ['HEAD', {}, 'HEAD', 200],
    ['304', { 'If-None-Match': '*' }, 'GET', 304],
    ['412', { 'If-Match': '"other"' }, 'GET', 412],
    ['a range', { Range: 'bytes=10-20' }, 'GET', 206],
    ['two ranges', { Range: 'bytes=0-1,100-200' }, 'GET', 206],
    ['a range with If-Range not matching', { Range: 'bytes=0-1', 'If-Range': '"old"' }, 'GET', 200],
  ];
  for (const [name, headers, method, status] of cases) {
    it(`${name}: ${status}, one open by name (none unverified), nothing left open`, async () => {
      calls.fast = calls.open = 0;
      const r = await raw(s.url, '/big.bin', { method, headers: { ...headers, 'If-Match': headers['If-Match'] ?? etag } });
      assert.equal(r.status, status);
      assert.equal(calls.fast, 1);
      assert.equal(calls.open, name === 'two ranges' ? 2 : 0, 'only multipart parts are read by name');
      assert.equal(await settled(file), 0);
    });
  }

  it('a trailing slash on a file: 404, closed', async () => {
    assert.equal((await raw(s.url, '/big.bin/')).status, 404);
    assert.equal(await settled(file), 0);
  });

  it('a client that goes away mid-body (a file larger than any socket buffer): the file is closed, the buffer counted out', async () => {
    const base = buffersInUse();
    await new Promise<void>((resolve, reject) => {
      const req = request(`${s.url}/huge.bin`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.once('error', reject);
      req.end();
    });
    assert.equal(await settled(huge), 0);
    assert.equal(await until(() => buffersInUse() === base), true, `in use ${buffersInUse()}, was ${base}`);
  });

  const pipes = { n: 0 };
  const pipe = FileBody.prototype.pipe;
  before(() => {
    FileBody.prototype.pipe = function (this: FileBody, ...a: Parameters<typeof pipe>) {
      pipes.n++;
      return pipe.apply(this, a);
    } as typeof pipe;
  });
  after(() => {
    FileBody.prototype.pipe = pipe;
  });
  for (const midSize of [512 * 1024, 3 * 1024 * 1024 + 5]) {
    it(`two pipelined GETs (64 MiB, then ${midSize} bytes) read by nobody, then the connection closes: nothing left open or counted, round after round`, async () => {
      const mid = join(s.root, `mid-${midSize}.bin`);
      await writeFile(mid, Buffer.alloc(midSize, 'm'));
      const base = buffersInUse();
      for (let round = 0; round < 4; round++) {
        const sock = connect(Number(new URL(s.url).port), '127.0.0.1');
        sock.pause(); // reads nothing
        await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
        const host = `Host: ${new URL(s.url).host}\r\n`;
        const piped = pipes.n;
        sock.write(`GET /huge.bin HTTP/1.1\r\n${host}\r\nGET /mid-${midSize}.bin HTTP/1.1\r\n${host}\r\n`);
        // Both bodies piped (the second into a response queued behind the first), then the client goes.
        const both = await until(() => pipes.n === piped + 2);
        sock.destroy();
        assert.equal(both, true, `round ${round}: ${pipes.n - piped} bodies piped`);
        assert.equal(await settled(mid), 0, `round ${round}: the queued response's file is closed`);
        assert.equal(await settled(huge), 0);
        assert.equal(await until(() => buffersInUse() === base), true, `round ${round}: in use ${buffersInUse()}, was ${base}`);
      }
    });
  }
});

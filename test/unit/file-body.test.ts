/**
 * backends/util/file-body.ts: a GET body from a descriptor. Piped (as Koa pipes a body, through
 * stream.pipeline) it reuses one buffer per response, so what must hold is that no chunk is
 * overwritten before its write completed; read as a stream it is a plain Readable. Either way: the
 * exact bytes of the range, the descriptor closed once, errors surfaced rather than a short body.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, closeSync, rmSync, writeFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { buffersInUse, FileBody, FILE_CHUNK, pooledBuffers } from '../../backends/util/file-body.js';

/** A destination that completes each write a little later, checking the chunk did not change meanwhile. */
class SlowSink extends Writable {
  readonly parts: Buffer[] = [];
  changedBeforeDone = 0;
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const copy = Buffer.from(chunk);
    setImmediate(() => {
      if (!chunk.equals(copy)) this.changedBeforeDone++;
      this.parts.push(copy);
      cb();
    });
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

describe('FileBody', () => {
  let dir: string;
  let file: string;
  const size = 3 * FILE_CHUNK + 12345;
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >> 12)) & 0xff;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'file-body-'));
    file = join(dir, 'f');
    writeFileSync(file, data);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const open = (start: number, end: number) => {
    const fd = openSync(file, 'r');
    const closes = { n: 0 };
    const body = new FileBody({ fd, start, end, close: () => (closes.n++, closeSync(fd)) });
    return { body, closes };
  };

  const spans: [number, number][] = [[0, 0], [0, 1], [0, 64 * 1024], [0, 64 * 1024 + 1], [5, FILE_CHUNK + 7], [0, size], [size - 3, size], [FILE_CHUNK, 2 * FILE_CHUNK]];

  for (const [start, end] of spans) {
    it(`piped, bytes ${start}–${end}: the exact bytes, no chunk changed before its write completed, closed once`, async () => {
      const { body, closes } = open(start, end);
      const sink = new SlowSink();
      await pipeline(body, sink);
      assert.deepEqual(sink.bytes(), data.subarray(start, end));
      assert.equal(sink.changedBeforeDone, 0);
      assert.equal(closes.n, 1);
    });

    it(`read as a stream, bytes ${start}–${end}: the exact bytes, closed once`, async () => {
      const { body, closes } = open(start, end);
      const parts: Buffer[] = [];
      for await (const c of body) parts.push(c as Buffer);
      assert.deepEqual(Buffer.concat(parts), data.subarray(start, end));
      assert.equal(closes.n, 1);
    });
  }

  it('a destination that fails mid-way: the pipeline fails and the descriptor is closed once', async () => {
    const { body, closes } = open(0, size);
    let writes = 0;
    const sink = new Writable({
      write(_c, _e, cb) {
        if (++writes === 2) cb(new Error('client went away'));
        else setImmediate(cb);
      },
    });
    await assert.rejects(pipeline(body, sink), /client went away/);
    assert.equal(closes.n, 1);
  });

  it('a destination destroyed while a write is pending: the body is destroyed and closed once', async () => {
    const { body, closes } = open(0, size);
    const sink = new Writable({
      write(_c, _e, _cb) {
        setImmediate(() => sink.destroy()); // the write never completes
      },
    });
    await assert.rejects(pipeline(body, sink));
    assert.equal(body.destroyed, true);
    assert.equal(closes.n, 1);
  });

  it('a file cut shorter than its stat: an error, not a short body', async () => {
    const short = join(dir, 'short');
    writeFileSync(short, data.subarray(0, 2 * FILE_CHUNK));
    const fd = openSync(short, 'r');
    truncateSync(short, FILE_CHUNK + 10);
    const body = new FileBody({ fd, start: 0, end: 2 * FILE_CHUNK, close: () => closeSync(fd) });
    await assert.rejects(pipeline(body, new SlowSink()), /ended before/);
  });

  it('keeps a bounded pool: many bodies at once leave at most 8 buffers behind', async () => {
    const runs = Array.from({ length: 20 }, () => pipeline(open(0, 2 * FILE_CHUNK).body, new SlowSink()));
    await Promise.all(runs);
    assert.ok(pooledBuffers() > 0 && pooledBuffers() <= 8, `pooled ${pooledBuffers()}`);
    assert.equal(buffersInUse(), 0);
  });

  it('bounds the pooled buffers held at once: clients that never read take lean buffers past 64', async () => {
    const stuck: { body: FileBody; sink: Writable }[] = [];
    let biggest = 0;
    for (let i = 0; i < 70; i++) {
      const { body } = open(0, size);
      const sink = new Writable({
        highWaterMark: 1,
        write(c: Buffer, _e, _cb) {
          biggest = i >= 64 ? Math.max(biggest, c.length) : biggest; // never completes: a client that stopped reading
        },
      });
      body.pipe(sink);
      stuck.push({ body, sink });
    }
    assert.equal(buffersInUse(), 64);
    assert.ok(biggest > 0 && biggest < FILE_CHUNK, `past the bound a chunk is ${biggest} bytes`);
    for (const { body, sink } of stuck) {
      sink.destroy();
      body.destroy();
    }
    assert.equal(buffersInUse(), 0, 'each body aborted mid-write counted out once');
  });

  it('the last chunk\'s write callback never comes (a pipelined response queued when the connection closed): counted out anyway, not reused', async () => {
    const before = buffersInUse();
    const pooled = pooledBuffers();
    for (let i = 0; i < 70; i++) {
      const { body, closes } = open(0, 512 * 1024); // one chunk: the body ends while its only write is pending
      const sink = new Writable({ highWaterMark: 1, write: () => undefined }); // never calls back
      body.pipe(sink);
      await new Promise<void>((resolve) => body.once('close', () => resolve())); // ended, autoDestroyed
      assert.equal(closes.n, 1);
    }
    assert.equal(buffersInUse(), before, 'each body counted out once, at its end');
    assert.ok(pooledBuffers() <= pooled, 'a buffer whose write never completed is not put back');
  });

  it('read as a stream (a digest), it gives the event loop a turn between chunks', async () => {
    const { body } = open(0, size);
    let turns = 0;
    let reading = true;
    const tick = () => {
      turns++;
      if (reading) setImmediate(tick);
    };
    setImmediate(tick);
    let chunks = 0;
    for await (const _ of body) chunks++;
    reading = false;
    assert.ok(chunks >= 4);
    assert.ok(turns >= chunks - 1, `${turns} turns for ${chunks} chunks`);
  });
});

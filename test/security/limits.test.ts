/**
 * Connection limits against slow and greedy clients: a slow-loris head is cut at the header timeout,
 * a stalled body at the idle timeout, one address cannot hold more than its share of connections,
 * an oversized head gets 431, a server full of idle connections sheds the oldest for a new client —
 * while a client from another address keeps being served promptly.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { readdir, readlink } from 'node:fs/promises';
import { tempFilesIn } from '../helpers/backends.js';
import { join } from 'node:path';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';

/** A TCP connection from a chosen loopback address (Linux answers on all of 127/8). */
function open(url: string, from: string): Promise<Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port), localAddress: from }, () => resolve(s));
    s.on('error', reject);
  });
}

const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

describe('connection limits (slow-loris and friends)', function () {
  this.timeout(30_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: 'fs', connectionLimits: { headersTimeoutMs: 1000, idleTimeoutMs: 1500, maxConnectionsPerAddress: 8 } });
    await raw(s.url, '/file.txt', { method: 'PUT', body: 'served' });
  });
  after(() => s.close());

  it('slow-loris heads from one address: 8 connections held at most, all cut by the header timeout; others served meanwhile', async () => {
    const sockets: Socket[] = [];
    for (let i = 0; i < 20; i++) {
      const sock = await open(s.url, '127.0.0.2').catch(() => null);
      if (!sock) continue;
      sock.on('error', () => undefined);
      sock.write('GET /file.txt HTTP/1.1\r\nHost: x\r\n');
      sockets.push(sock);
    }
    const dribble = setInterval(() => {
      for (const sock of sockets) if (!sock.destroyed) sock.write('X-Slow: 1\r\n');
    }, 200);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const alive = sockets.filter((x) => !x.destroyed).length;
      assert.ok(alive <= 8, `${alive} slow connections still open from one address`);
      // Served meanwhile: each answer comes (a hang limit, not a speed test: generous for a loaded
      // 2-core machine), each sent while the slow heads hold their connections (checked above).
      for (let i = 0; i < 10; i++) {
        const r = await Promise.race([raw(s.url, '/file.txt'), new Promise<never>((_, no) => setTimeout(() => no(new Error('another client was not served')), 15_000))]);
        assert.equal(r.text, 'served');
      }
      await Promise.race([Promise.all(sockets.map(closed)), new Promise((_, no) => setTimeout(() => no(new Error('slow heads were not cut')), 4000))]);
    } finally {
      clearInterval(dribble);
      for (const sock of sockets) sock.destroy();
    }
  });

  it('a body that stalls is cut at the idle timeout, and nothing is stored', async () => {
    const sock = await open(s.url, '127.0.0.3');
    sock.on('error', () => undefined);
    sock.write('PUT /stalled.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a little');
    const t = performance.now();
    await closed(sock);
    const waited = performance.now() - t;
    assert.ok(waited > 1000 && waited < 5000, `cut after ${waited.toFixed(0)} ms`);
    assert.equal((await raw(s.url, '/stalled.txt')).status, 404);
  });

  it('an oversized request head gets 431', async () => {
    const r = await raw(s.url, '/file.txt', { headers: { 'X-Big': 'x'.repeat(20_000) } });
    assert.equal(r.status, 431);
    assert.equal((await raw(s.url, '/file.txt')).text, 'served');
  });
});

describe('minimum request body rate (a body dribbled in below the idle timeout)', function () {
  this.timeout(30_000);
  let s: TestServer;
  before(async () => {
    // The idle timer alone would never cut these: every byte resets it.
    s = await startTestServer({ backend: 'fs', connectionLimits: { idleTimeoutMs: 60_000, bodyTimeoutMs: 2000, minBodyRate: 200 } });
  });
  after(() => s.close());

  const dribble = async (path: string, total: number, chunk: number, everyMs: number, expect = false) => {
    const sock = await open(s.url, '127.0.0.4');
    sock.on('error', () => undefined);
    let answer = '';
    // The final answer (an interim 100 Continue is not one).
    const answered = new Promise<void>((r) =>
      sock.on('data', (d: Buffer) => {
        answer += d.toString('latin1');
        if (/HTTP\/1\.1 [2-5]\d\d /.test(answer)) r();
      }),
    );
    sock.write(`PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n${expect ? 'Expect: 100-continue\r\n' : ''}\r\n`);
    let sent = 0;
    const t = performance.now();
    const timer = setInterval(() => {
      if (sock.destroyed || sent >= total) return clearInterval(timer);
      const n = Math.min(chunk, total - sent);
      sock.write('x'.repeat(n));
      sent += n;
    }, everyMs);
    await Promise.race([closed(sock), answered, new Promise((r) => setTimeout(r, 8000))]);
    clearInterval(timer);
    const ms = performance.now() - t;
    sock.destroy();
    return { answer, ms, sent };
  };

  /** Files of the server (this process) open under its root: temp files of uploads, mostly. */
  const openUnderRoot = async () => {
    const fds = await readdir('/proc/self/fd');
    const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
    return targets.filter((t) => t.startsWith(s.root));
  };

  it('a body at 3 bytes a second is cut after bodyTimeoutMs with 408; nothing is stored, no file left open', async () => {
    const { answer, ms, sent } = await dribble('/slow.txt', 1000, 1, 300);
    assert.match(answer, /^HTTP\/1\.1 408 /, answer);
    assert.ok(ms > 1500 && ms < 6000, `cut after ${ms.toFixed(0)} ms`);
    assert.ok(sent < 1000);
    assert.equal((await raw(s.url, '/slow.txt')).status, 404);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await openUnderRoot(), [], 'the upload’s temp file is closed');
    assert.deepEqual(await tempFilesIn(join(s.root, '.gitdav', 'tmp')), [], 'and removed');
  });

  it('a body the server answered early (404) cannot be dribbled in either', async () => {
    const sock = await open(s.url, '127.0.0.5');
    sock.on('error', () => undefined);
    let answer = '';
    sock.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    sock.write('PROPPATCH /nope HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\nContent-Length: 1000000\r\n\r\n<');
    const timer = setInterval(() => sock.destroyed || sock.write('x'), 300);
    const t = performance.now();
    await Promise.race([closed(sock), new Promise((r) => setTimeout(r, 8000))]);
    clearInterval(timer);
    const ms = performance.now() - t;
    const open_ = !sock.destroyed;
    sock.destroy();
    assert.ok(!open_ && ms < 7000, `the connection stayed open ${ms.toFixed(0)} ms; answer: ${answer.slice(0, 80)}`);
  });

  it('the same with Expect: 100-continue (the clock starts with the 100 Continue)', async () => {
    const { answer, ms, sent } = await dribble('/slow2.txt', 1000, 1, 300, true);
    assert.match(answer, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 408 /, answer);
    assert.ok(ms > 1500 && ms < 6000, `cut after ${ms.toFixed(0)} ms`);
    assert.ok(sent < 1000);
    assert.equal((await raw(s.url, '/slow2.txt')).status, 404, 'nothing stored');
  });

  it('a body slow but above the rate (1,000 bytes a second for 4 s) is stored', async () => {
    const { answer } = await dribble('/steady.txt', 4000, 250, 250);
    assert.match(answer, /^HTTP\/1\.1 201 /, answer);
    assert.equal((await raw(s.url, '/steady.txt')).text, 'x'.repeat(4000));
  });
});

describe('a full server (maxConnections) sheds its oldest idle connections for a new client', function () {
  this.timeout(60_000);
  let s: TestServer;
  const LIMIT = 50;
  before(async () => {
    // Long timers: here only the connection limit may cut anything.
    s = await startTestServer({ backend: 'fs', connectionLimits: { maxConnections: LIMIT, headersTimeoutMs: 60_000, idleTimeoutMs: 60_000, keepAliveTimeoutMs: 60_000 } });
    await raw(s.url, '/file.txt', { method: 'PUT', body: 'served' });
  });
  after(() => s.close());

  const connections = () => new Promise<number>((r, no) => s.running.server.getConnections((err, n) => (err ? no(err) : r(n))));
  const settle = async (n: number) => {
    for (let i = 0; i < 200 && (await connections()) !== n; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(await connections(), n);
  };
  const keepAliveResponse = (sock: Socket) => new Promise<void>((r) => sock.on('data', (d: Buffer) => /served$/.test(d.toString()) && r()));

  it('filled with idle connections from 10 addresses (silent, half a head, idle keep-alive): a normal client’s requests all succeed', async () => {
    const idle: Socket[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const sock = await open(s.url, `127.0.0.${10 + (i % 10)}`);
      sock.on('error', () => undefined);
      if (i % 3 === 1) sock.write('GET /file.txt HTTP/1.1\r\nHost: x\r\n'); // a head never finished
      if (i % 3 === 2) {
        const answered = keepAliveResponse(sock);
        sock.write('GET /file.txt HTTP/1.1\r\nHost: x\r\n\r\n'); // one request, then idle keep-alive
        await answered;
      }
      idle.push(sock);
    }
    try {
      await settle(LIMIT);
      for (let i = 0; i < 20; i++) {
        const r = await raw(s.url, '/file.txt');
        assert.equal(r.text, 'served', `request ${i}`);
      }
      await new Promise((r) => setTimeout(r, 200));
      const shed = idle.map((x) => x.destroyed);
      const first = shed.indexOf(false);
      assert.ok(first >= 1, 'some idle connection was shed');
      assert.ok(shed.slice(first).every((x) => !x), `the oldest went first: ${shed.map(Number).join('')}`);
    } finally {
      for (const sock of idle) sock.destroy();
    }
  });

  it('connections with a request under way are never shed: with all of them busy a new one is refused, and they all complete', async () => {
    await settle(0);
    const uploads: { sock: Socket; answer: Promise<string> }[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const sock = await open(s.url, `127.0.0.${30 + (i % 10)}`);
      sock.on('error', () => undefined);
      let text = '';
      const answer = new Promise<string>((r) => {
        sock.on('data', (d: Buffer) => {
          text += d.toString('latin1');
          if (/^HTTP\/1\.1 \d{3} /.test(text)) r(text);
        });
        sock.on('close', () => r(text));
      });
      sock.write(`PUT /upload${i}.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf `);
      uploads.push({ sock, answer });
    }
    try {
      await settle(LIMIT);
      await new Promise((r) => setTimeout(r, 100)); // every head parsed: each a request under way
      await assert.rejects(raw(s.url, '/file.txt'), 'a new connection is refused when none is idle');
      for (const u of uploads) u.sock.write('done!');
      const answers = await Promise.all(uploads.map((u) => u.answer));
      assert.ok(answers.every((a) => a.startsWith('HTTP/1.1 201 ')), answers.filter((a) => !a.startsWith('HTTP/1.1 201 ')).join('|'));
      assert.equal((await raw(s.url, '/upload7.txt')).text, 'half done!');
    } finally {
      for (const u of uploads) u.sock.destroy();
    }
  });
});

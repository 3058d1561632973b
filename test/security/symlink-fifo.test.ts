/**
 * A link inside the served folder to a FIFO outside it (backends/fs/containment.ts): refused as any
 * link out of the root, and never opened for reading on the way to the refusal. Opening a FIFO for
 * reading wakes a writer blocked in its own open: a writer process waits on the FIFO, and the
 * kernel's word for where it waits (/proc/PID/wchan: wait_for_partner until a reader comes) must be
 * unchanged after every request, the writer must not have exited, and at the end the test itself must
 * be the reader its byte goes to. A read open without O_NONBLOCK would also hang the request (mocha's
 * timeout catches that).
 */
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants as fsc, openSync, readFileSync, readSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Containment, O_PATH } from '../../backends/fs/containment.js';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';

/** Where `pid` sleeps in the kernel ('0' when it is running or runnable), or null if it is gone. */
function wchan(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/wchan`, 'utf8').trim();
  } catch {
    return null;
  }
}

describe('a link to a FIFO out of the root (folder backend)', function () {
  this.timeout(30_000);
  let outside: string;
  let root: string;
  let fifo: string;
  let writer: ChildProcess | undefined;
  let s: TestServer | undefined;

  beforeEach(async () => {
    outside = await mkdtemp(join(tmpdir(), 'gitdav-fifo-outside-'));
    root = await mkdtemp(join(tmpdir(), 'gitdav-fifo-root-'));
    fifo = join(outside, 'pipe');
    execFileSync('mkfifo', [fifo]);
    await mkdir(join(root, 'docs'));
    await writeFile(join(root, 'docs', 'plain.txt'), 'plain');
    await symlink(fifo, join(root, 'docs', 'pipe-lnk'));
    await symlink(outside, join(root, 'docs', 'out'));
  });
  afterEach(async () => {
    writer?.kill('SIGKILL');
    writer = undefined;
    await s?.close();
    s = undefined;
    await rm(outside, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  });

  let woken = false;
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /**
   * A process opening the FIFO for writing: it blocks until a reader opens it, then writes one byte
   * and exits (killed by SIGPIPE if that reader has gone). Resolves once the kernel shows it waiting
   * for a reader (/proc/PID/wchan); the test is skipped where /proc does not say so, since nothing
   * else tells that the writer is in its open before the requests are made.
   */
  async function blockedWriter(ctx: Mocha.Context): Promise<number> {
    const child = (writer = spawn('sh', ['-c', 'exec 3>"$0"; printf x >&3', fifo], { stdio: 'ignore' }));
    woken = false;
    exited = new Promise((r) => child.once('exit', (code, signal) => ((woken = true), r({ code, signal }))));
    for (let i = 0; i < 500; i++) {
      const where = wchan(child.pid!);
      if (where === 'wait_for_partner') return child.pid!;
      assert.ok(where !== null && !woken, 'the writer ended before any request');
      await new Promise((r) => setTimeout(r, 10));
    }
    ctx.skip(); // wchan hidden (kptr_restrict, a hardened kernel) or named otherwise: cannot tell the writer is waiting
  }

  const noReader = (pid: number, what: string) => {
    assert.equal(woken, false, `${what}: the writer was woken (the FIFO was opened for reading)`);
    assert.equal(wchan(pid), 'wait_for_partner', `${what}: the FIFO was opened for reading`);
  };

  /**
   * The proof that nothing opened the FIFO for reading before us: we open it now (non-blocking), the
   * writer, still in its open, wakes, writes its byte to us and exits cleanly. Had a request opened it
   * and closed it, the writer would have written to that reader (or died of SIGPIPE) and be gone, and
   * we would read nothing.
   */
  const firstReaderIsUs = async () => {
    assert.equal(woken, false, 'the writer was woken before the last check');
    const fd = openSync(fifo, fsc.O_RDONLY | fsc.O_NONBLOCK);
    try {
      assert.deepEqual(await exited, { code: 0, signal: null }, 'the writer wrote its byte to us');
      const buf = Buffer.alloc(8);
      assert.equal(buf.toString('latin1', 0, readSync(fd, buf)), 'x', 'the byte came to our read end');
    } finally {
      closeSync(fd);
    }
  };

  it('Containment.open for reading refuses it without opening it (and O_PATH too)', async function () {
    const pid = await blockedWriter(this);
    const paths = new Containment(root, 'follow-inside');
    for (const [path, flags] of [
      ['/docs/pipe-lnk', fsc.O_RDONLY],
      ['/docs/pipe-lnk', O_PATH],
      ['/docs/out/pipe', fsc.O_RDONLY],
      ['/docs/out/pipe', O_PATH],
    ] as const) {
      await assert.rejects(paths.open(path, flags), (err: Error & { code?: string }) => err.name === 'BackendError' && /leads out of the folder/.test(err.message), `${path} (${flags})`);
      noReader(pid, `open ${path} (${flags})`);
    }
    // Flags beyond reading and handles are refused, not dropped (containment.ts openName).
    await assert.rejects(paths.open('/docs/plain.txt', fsc.O_WRONLY), /not supported/);
    await assert.rejects(paths.open('/docs/plain.txt', fsc.O_RDONLY | fsc.O_NOFOLLOW), /not supported/);
    // A plain file inside is still read as before (verified, then opened for reading).
    const plain = await paths.open('/docs/plain.txt', fsc.O_RDONLY);
    assert.ok(plain);
    try {
      assert.equal((await plain.fh.readFile()).toString(), 'plain');
    } finally {
      await plain.fh.close();
    }
    await firstReaderIsUs();
  });

  // Main's code already passed this (its stat opened O_PATH first); it guards that no read path opens
  // what a link out of the root leads to before refusing it (the writer would be woken: it fails then).
  it('GET, HEAD, PROPFIND and COPY through the link: refused (403), no hang, nothing opened it', async function () {
    const pid = await blockedWriter(this);
    s = await startTestServer({ backend: 'fs', root });
    for (const path of ['/docs/pipe-lnk', '/docs/out/pipe']) {
      for (const method of ['GET', 'HEAD']) {
        const r = await raw(s.url, path, { method });
        assert.equal(r.status, 403, `${method} ${path} → ${r.status} ${r.text}`);
        noReader(pid, `${method} ${path}`);
      }
      const copy = await raw(s.url, path, { method: 'COPY', headers: { Destination: `${s.url}/docs/copied` } });
      assert.equal(copy.status, 403, `COPY ${path} → ${copy.status} ${copy.text}`);
      noReader(pid, `COPY ${path}`);
    }
    const listing = await raw(s.url, '/docs', { method: 'PROPFIND', headers: { Depth: '1' } });
    assert.equal(listing.status, 207);
    noReader(pid, 'PROPFIND Depth 1');
    assert.equal((await raw(s.url, '/docs/plain.txt')).text, 'plain');
    await firstReaderIsUs();
  });
});

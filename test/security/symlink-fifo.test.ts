/**
 * A link inside the served folder to a FIFO outside it (backends/fs/containment.ts): refused as any
 * link out of the root, and never opened for reading on the way to the refusal. Opening a FIFO for
 * reading wakes a writer blocked in its own open: a writer process waits on the FIFO, and the
 * kernel's word for where it waits (/proc/PID/wchan: wait_for_partner until a reader comes) must be
 * unchanged after every request. A read open without O_NONBLOCK would also hang the request
 * (mocha's timeout catches that).
 */
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { constants as fsc, readFileSync } from 'node:fs';
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

  /**
   * A process opening the FIFO for writing: it blocks until a reader opens it. Resolves once the
   * kernel shows it waiting for that reader; undefined where /proc does not say (then only the
   * status and the absence of a hang are checked).
   */
  async function blockedWriter(): Promise<number | undefined> {
    writer = spawn('sh', ['-c', 'exec 3>"$0"; echo a reader opened it', fifo], { stdio: 'ignore' });
    const pid = writer.pid!;
    for (let i = 0; i < 500; i++) {
      const where = wchan(pid);
      if (where === 'wait_for_partner') return pid;
      if (where === null) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    return undefined;
  }

  const noReader = (pid: number | undefined, what: string) => {
    if (pid !== undefined) assert.equal(wchan(pid), 'wait_for_partner', `${what}: the FIFO was opened for reading`);
  };

  it('Containment.open for reading refuses it without opening it (and O_PATH too)', async () => {
    const pid = await blockedWriter();
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
    // A plain file inside is still read as before (verified, then opened for reading).
    const plain = await paths.open('/docs/plain.txt', fsc.O_RDONLY);
    assert.ok(plain);
    try {
      assert.equal((await plain.fh.readFile()).toString(), 'plain');
    } finally {
      await plain.fh.close();
    }
  });

  it('GET, HEAD, PROPFIND and COPY through the link: refused (403), no hang, nothing opened it', async () => {
    const pid = await blockedWriter();
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
  });
});

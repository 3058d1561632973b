/**
 * Workers that die: kill -9 of one worker during a storm of PUTs (the supervisor replaces it; every
 * acknowledged PUT is there; git fsck --strict is clean), SIGTERM to one worker (it drains, nothing
 * fails), and start failures, which end `gitdav serve --workers 2` with the one-line reason that the
 * one-process server prints.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { Agent } from 'node:http';
import { runCli } from '../helpers/cli.js';
import { tool } from '../helpers/tools.js';
import { http, serveWorkers, workersThatServed, startUpload, stopAfterEach, type Served } from './helpers.js';

const fresh = () => mkdtemp(join(tmpdir(), 'gitdav-crash-'));

/** Each of `clients` writes `each` files; resolves with the acknowledged ones (path → body) and the failures. */
async function storm(url: string, clients: number, each: number, onProgress: (done: number) => void): Promise<{ acked: Map<string, string>; failed: number }> {
  const acked = new Map<string, string>();
  let failed = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; i < each; i++) {
        const path = `/storm/c${c}/f${i}.txt`;
        const body = `client ${c} file ${i} ${'y'.repeat((i * 37) % 3000)}`;
        try {
          const r = await http(url, path, { method: 'PUT', body, agent });
          if (r.status === 201 || r.status === 204) acked.set(path, body);
          else failed++;
        } catch {
          failed++; // on the worker that was killed: not acknowledged, so not promised
        }
        onProgress(++done);
      }
      agent.destroy();
    }),
  );
  return { acked, failed };
}

describe('gitdav serve --workers 2: workers that die', function () {
  this.timeout(300_000);
  let s: Served | undefined;
  stopAfterEach(() => s, () => (s = undefined));

  for (const backend of ['git', 'fs'] as const) {
    it(`kill -9 of a worker during a PUT storm (${backend}): replaced, every acknowledged PUT there${backend === 'git' ? ', git fsck --strict clean' : ''}`, async () => {
      const root = join(await fresh(), 'data');
      s = await serveWorkers(['--root', root, '--backend', backend, '--workers', '2', '--no-caldav']);
      await http(s.url, '/storm', { method: 'MKCOL' });
      for (let c = 0; c < 8; c++) await http(s.url, `/storm/c${c}`, { method: 'MKCOL' });
      const [victim] = s.workerPids();
      let killed = false;
      const result = await storm(s.url, 8, 25, (done) => {
        if (!killed && done >= 40) {
          killed = true;
          process.kill(victim!, 'SIGKILL');
        }
      });
      const exited = await s.waitFor((r) => r.msg === 'worker exited' && r.signal === 'SIGKILL');
      assert.equal(exited.how, 'crashed');
      assert.equal(exited.restartInMs, 0);
      await s.waitFor((r) => r.msg === 'worker ready' && Number(r.worker) > 2);
      assert.equal(s.workerPids().length, 2);
      assert.ok(!s.workerPids().includes(victim!));
      assert.ok(result.acked.size >= 100, `only ${result.acked.size} acknowledged, ${result.failed} failed`);
      for (const [path, body] of result.acked) assert.equal((await http(s.url, path)).body.toString(), body, path);
      // The replacement serves, writes included.
      for (let i = 0; i < 4; i++) assert.equal((await http(s.url, `/after${i}.txt`, { method: 'PUT', body: 'after', agent: new Agent({ keepAlive: false }) })).status, 201);
      assert.equal(await s.stop(), 0);
      s = undefined;
      if (backend === 'git') {
        const fsck = await tool('git', ['-C', root, 'fsck', '--strict', '--no-progress']);
        assert.equal(fsck.code, 0, fsck.stdout + fsck.stderr);
        assert.doesNotMatch(fsck.stdout + fsck.stderr, /error|missing|broken/i);
      }
    });
  }

  it('SIGTERM to one worker: it drains (nothing in flight fails) and another takes its place', async () => {
    const root = join(await fresh(), 'data');
    s = await serveWorkers(['--root', root, '--workers', '2', '--no-caldav']);
    await http(s.url, '/storm', { method: 'MKCOL' });
    for (let c = 0; c < 4; c++) await http(s.url, `/storm/c${c}`, { method: 'MKCOL' });
    const [first] = s.workerPids();
    let signalled = false;
    const result = await storm(s.url, 4, 30, (done) => {
      if (!signalled && done >= 20) {
        signalled = true;
        process.kill(first!, 'SIGTERM');
      }
    });
    assert.equal(result.failed, 0);
    const exited = await s.waitFor((r) => r.msg === 'worker exited' && r.pid === first);
    assert.equal(exited.how, 'drained');
    assert.equal(exited.code, 0);
    await s.waitFor((r) => r.msg === 'worker ready' && r.worker === 3);
    for (const [path, body] of result.acked) assert.equal((await http(s.url, path)).body.toString(), body, path);
    assert.ok(workersThatServed(s.records()).has(1));
  });

  it('SIGTERM to the supervisor: an upload in flight finishes, then every worker stops and it exits 0', async () => {
    const { randomBytes } = await import('node:crypto');
    s = await serveWorkers(['--root', join(await fresh(), 'data'), '--workers', '2', '--no-caldav']);
    const chunks = Array.from({ length: 32 }, () => randomBytes(64 * 1024));
    const put = startUpload(`${s.url}/up.bin`, 32 * 64 * 1024);
    const { write, answered } = put;
    for (const c of chunks.slice(0, 16)) await write(c);
    const before = s.records().length;
    s.child.kill('SIGTERM');
    await s.waitFor((r) => r.msg === 'shutting down', before);
    for (const c of chunks.slice(16)) await write(c);
    put.end();
    assert.equal(await answered, 201);
    assert.equal(await s.exit, 0);
    const stopped = s.records().filter((r) => r.msg === 'stopped');
    assert.equal(stopped.length, 1);
    assert.equal(stopped[0]!.requests, 1);
    s = undefined;
  });

  describe('start failures: one line, exit 1, as with one process', () => {
    let dir: string;
    beforeEach(async () => (dir = await fresh()));
    const serve = (args: string[]) => runCli(['serve', '--port', '0', '--workers', '2', ...args]);
    const oneLine = (out: string, pattern: RegExp) => {
      const lines = out.trim().split('\n');
      assert.equal(lines.length, 1, out);
      assert.match(lines[0]!, pattern);
    };

    for (const backend of ['git', 'fs']) {
      it(`a root that cannot be created (${backend})`, async () => {
        await writeFile(join(dir, 'a-file'), 'x');
        const p = serve(['--root', join(dir, 'a-file', 'root'), '--backend', backend]);
        assert.equal(await p.exit, 1);
        oneLine(p.output(), /^gitdav: cannot create .*a-file.*\(ENOTDIR\)/);
      });
    }

    it('a TLS certificate that is missing', async () => {
      const p = serve(['--root', join(dir, 'r'), '--tls-cert', join(dir, 'missing.pem'), '--tls-key', join(dir, 'missing.key')]);
      assert.equal(await p.exit, 1);
      oneLine(p.output(), /cannot read the TLS certificate .*missing\.pem: no such file or folder \(ENOENT\)/);
    });

    it('the port, or the metrics port, in use', async () => {
      const taken: Server = createServer();
      await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
      const port = String((taken.address() as { port: number }).port);
      try {
        const p = serve(['--root', join(dir, 'r'), '--port', port]);
        assert.equal(await p.exit, 1);
        oneLine(p.output(), new RegExp(`^gitdav: port ${port} on 127\\.0\\.0\\.1 is in use \\(EADDRINUSE\\)`));
        const q = serve(['--root', join(dir, 'r'), '--metrics-port', port]);
        assert.equal(await q.exit, 1);
        oneLine(q.output(), new RegExp(`^gitdav: metrics port ${port} on 127\\.0\\.0\\.1 is in use \\(EADDRINUSE\\)`));
      } finally {
        taken.close();
      }
    });

    it('workers that fail on start', async () => {
      const { pathToFileURL } = await import('node:url');
      const { resolve } = await import('node:path');
      const marker = join(dir, 'fail');
      await writeFile(marker, '');
      const p = runCli(['serve', '--port', '0', '--workers', '2', '--root', join(dir, 'r'), '--log-level', 'warn'], { NODE_OPTIONS: `--import=${pathToFileURL(resolve('dist/test/helpers/worker-start-hook.js')).href}`, GITDAV_TEST_WORKER_FAILS_IF: marker });
      assert.equal(await p.exit, 1);
      assert.match(p.output(), /^gitdav: worker 1 exited \(code 3\) before it was ready$/m);
    });
  });
});

/**
 * Graceful reload with workers: a bounded load of GETs, PUTs and PROPFINDs on keep-alive connections
 * while the server is reloaded 10 times sees no failed request, no reset and no lost write; an
 * upload in progress across a reload is stored whole; a reload that cannot be done (a bad config
 * file, an unusable TLS key, workers that fail on start) is refused and the old workers keep serving.
 * Bounded by counts (reloads, requests), never by time: mocha's timeout is the hang detector.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Agent } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CLI } from '../helpers/cli.js';
import { tool } from '../helpers/tools.js';
import { tlsFiles } from '../helpers/server.js';
import { http, serveWorkers, workersThatServed, startUpload, stopAfterEach, type Served } from './helpers.js';

const fresh = () => mkdtemp(join(tmpdir(), 'gitdav-reload-'));
const HOOK = pathToFileURL(resolve('dist/test/helpers/worker-start-hook.js')).href;

/** SIGHUP, then the supervisor's verdict: its next 'reloaded' or 'reload refused' record. */
async function reload(s: Served): Promise<Record<string, unknown>> {
  const before = s.records().length;
  process.kill(s.pid, 'SIGHUP');
  return s.waitFor((r) => r.msg === 'reloaded' || String(r.msg).startsWith('reload refused'), before);
}

/** The heap flags on a process's command line (Linux /proc). */
const heapFlagsOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => /^--(max|min)-.*-size=/.test(a));

const gitdavReload = (root: string) => tool(process.execPath, [CLI, 'reload', '--root', root]);

describe('gitdav serve --workers 2: graceful reload', function () {
  this.timeout(300_000);
  let s: Served | undefined;
  stopAfterEach(() => s, () => (s = undefined));

  for (const backend of ['git', 'fs'] as const) {
    it(`10 reloads under keep-alive load (${backend}): 0 failed requests, 0 resets, 0 lost writes`, async () => {
      const root = join(await fresh(), 'data');
      s = await serveWorkers(['--root', root, '--backend', backend, '--workers', '2', '--no-caldav']);
      const url = s.url;
      await http(url, '/dir', { method: 'MKCOL' });
      for (let i = 0; i < 8; i++) assert.equal((await http(url, `/dir/seed${i}.txt`, { method: 'PUT', body: `seed ${i}` })).status, 201);
      const failures: string[] = [];
      const acknowledged = new Map<string, string>();
      let reloadsDone = false;
      let requests = 0;
      const MIN_REQUESTS_PER_CLIENT = 60;
      const client = async (c: number) => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        for (let n = 0; !reloadsDone || n < MIN_REQUESTS_PER_CLIENT; n++) {
          const kind = n % 3;
          try {
            if (kind === 0) {
              const r = await http(url, `/dir/seed${n % 8}.txt`, { agent });
              if (r.status !== 200 || r.body.toString() !== `seed ${n % 8}`) failures.push(`GET ${r.status}`);
            } else if (kind === 1) {
              const path = `/dir/c${c}-${n}.txt`;
              const body = `client ${c} write ${n} ${'x'.repeat(n % 200)}`;
              const r = await http(url, path, { method: 'PUT', body, agent });
              if (r.status === 201 || r.status === 204) acknowledged.set(path, body);
              else failures.push(`PUT ${r.status} ${r.body.toString().slice(0, 200)}`);
            } else {
              const r = await http(url, '/dir/', { method: 'PROPFIND', headers: { Depth: '1' }, agent });
              if (r.status !== 207) failures.push(`PROPFIND ${r.status}`);
            }
          } catch (err) {
            failures.push(`${['GET', 'PUT', 'PROPFIND'][kind]}: ${(err as Error).message}`); // a reset, a refusal
          }
          requests++;
        }
        agent.destroy();
      };
      const clients = Promise.all([0, 1, 2, 3].map(client));
      const outcomes: unknown[] = [];
      for (let i = 0; i < 10; i++) {
        // Each reload starts while the clients are busy: a few requests after the last one.
        const at = requests;
        while (requests < at + 8) await new Promise((r) => setTimeout(r, 5));
        outcomes.push((await reload(s)).msg);
      }
      reloadsDone = true;
      await clients;
      assert.deepEqual(outcomes, Array(10).fill('reloaded'));
      assert.deepEqual(failures, [], `${failures.length} failed requests of ${requests}`);
      // Every acknowledged write is there, as written.
      for (const [path, body] of acknowledged) assert.equal((await http(url, path)).body.toString(), body, path);
      assert.ok(acknowledged.size >= 80);
      // The load went to the workers of several generations, and the old ones exited drained.
      assert.ok(workersThatServed(s.records()).size >= 6);
      const exited = s.records().filter((r) => r.msg === 'worker exited');
      assert.equal(exited.length, 20);
      assert.ok(exited.every((r) => r.how === 'drained' && r.code === 0), JSON.stringify(exited));
    });
  }

  it('an upload in progress across a reload completes and is stored whole', async () => {
    const root = join(await fresh(), 'data');
    s = await serveWorkers(['--root', root, '--workers', '2', '--no-caldav']);
    const chunks = Array.from({ length: 64 }, () => randomBytes(64 * 1024)); // 4 MiB
    const whole = Buffer.concat(chunks);
    const put = startUpload(`${s.url}/big.bin`, whole.length);
    const { write, answered } = put;
    for (const c of chunks.slice(0, 32)) await write(c);
    assert.equal((await reload(s)).msg, 'reloaded'); // the old worker is draining, the upload half sent
    for (const c of chunks.slice(32)) await write(c);
    put.end();
    assert.equal(await answered, 201);
    const back = await http(s.url, '/big.bin');
    assert.equal(createHash('sha256').update(back.body).digest('hex'), createHash('sha256').update(whole).digest('hex'));
  });

  it('a config file that does not load is refused; gitdav reload says why; the old workers keep serving', async () => {
    const dir = await fresh();
    const root = join(dir, 'data');
    const config = join(dir, 'gitdav.json');
    await writeFile(config, JSON.stringify({ caldav: false }));
    s = await serveWorkers(['--root', root, '--workers', '2', '--config', config]);
    const pids = s.workerPids().sort();
    await writeFile(config, '{ "caldav": fals');
    const refused = await reload(s);
    assert.equal(refused.msg, 'reload refused: the running workers keep serving');
    assert.match(String(refused.reason), /config file .*gitdav\.json is not a JSON object/);
    await writeFile(config, JSON.stringify({ backend: 'fs' }));
    const cli = await gitdavReload(root);
    assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    assert.match(cli.stderr, /reload refused, the running workers keep serving: backend cannot change on a reload/);
    assert.deepEqual(s.workerPids().sort(), pids);
    assert.equal((await http(s.url, '/x.txt', { method: 'PUT', body: 'still here' })).status, 201);
    for (const pid of pids) assert.deepEqual(heapFlagsOf(pid), ['--max-old-space-size=1024', '--max-semi-space-size=2']);
    // The reload brings new heap limits: only new workers can have them (V8 reads them at start).
    await writeFile(config, JSON.stringify({ caldav: false, logLevel: 'debug', limits: { maxOldSpaceMB: 0, maxSemiSpaceMB: 4 } }));
    const ok = await gitdavReload(root);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /gitdav: reloaded \(generation 1, 2 workers\)/);
    const started = s.workerPids().filter((pid) => !pids.includes(pid));
    assert.equal(started.length, 2);
    for (const pid of started) assert.deepEqual(heapFlagsOf(pid), ['--max-semi-space-size=4']);
    assert.equal((await http(s.url, '/x.txt')).body.toString(), 'still here');
  });

  it('a TLS key replaced by garbage is refused on reload; the old workers keep the old certificate', async () => {
    const dir = await fresh();
    const { cert, key } = await tlsFiles();
    const myKey = join(dir, 'key.pem');
    await writeFile(myKey, readFileSync(key));
    s = await serveWorkers(['--root', join(dir, 'data'), '--workers', '2', '--tls-cert', cert, '--tls-key', myKey, '--no-caldav']);
    await writeFile(myKey, 'garbage\n');
    const refused = await reload(s);
    assert.equal(refused.msg, 'reload refused: the running workers keep serving');
    assert.match(String(refused.reason), /TLS certificate or key cannot be used/);
    const status = await new Promise<number>((resolveStatus, reject) => {
      const req = httpsRequest(`${s!.url}/`, { method: 'OPTIONS', ca: readFileSync(cert), agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolveStatus(res.statusCode!));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);
  });

  it('new workers that fail on start: the reload is refused, the old generation keeps serving; then a crash loop backs off', async () => {
    const dir = await fresh();
    const marker = join(dir, 'fail-workers');
    s = await serveWorkers(['--root', join(dir, 'data'), '--workers', '2', '--no-caldav'], { NODE_OPTIONS: `--import=${HOOK}`, GITDAV_TEST_WORKER_FAILS_IF: marker });
    const pids = s.workerPids().sort();
    await writeFile(marker, '');
    const refused = await reload(s);
    assert.equal(refused.msg, 'reload refused: the running workers keep serving');
    assert.match(String(refused.reason), /a new worker failed to start: worker \d+ exited \(code 3\) before it was ready/);
    assert.deepEqual(s.workerPids().sort(), pids);
    assert.equal((await http(s.url, '/', { method: 'OPTIONS' })).status, 200);
    // A worker killed while its replacements fail: each replacement waits longer than the last.
    process.kill(pids[0]!, 'SIGKILL');
    const crashes = () => s!.records().filter((r) => r.msg === 'worker exited' && r.how === 'crashed' && r.generation === 0);
    await s.waitFor(() => crashes().length >= 6);
    assert.deepEqual(crashes().slice(0, 6).map((r) => r.restartInMs), [0, 100, 200, 400, 800, 1600]);
    // Meanwhile the other worker serves everything.
    for (let i = 0; i < 4; i++) assert.equal((await http(s.url, '/', { method: 'OPTIONS', agent: new Agent({ keepAlive: false }) })).status, 200);
    await rm(marker);
    const before = s.records().length;
    await s.waitFor((r) => r.msg === 'worker ready', before);
    assert.equal(s.workerPids().length, 2);
  });
});

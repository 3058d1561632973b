/**
 * litmus 0.13 (the Debian package), every suite against the real server on loopback. Each suite must
 * pass every test it runs, with none skipped. litmus's own counts go to $GITDAV_LITMUS_COUNTS for CI.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basic, raw, startTestServer, type BackendName } from '../helpers/server.js';
import { runCli } from '../helpers/cli.js';

const LITMUS = '/usr/bin/litmus';
const SUITES: Array<[string, number]> = [
  ['basic', 16],
  ['copymove', 13],
  ['props', 30],
  ['locks', 41],
  ['http', 4],
];

function runLitmus(url: string, suite: string, login: string[] = []): Promise<string> {
  return new Promise((resolve) => {
    execFile(LITMUS, [`${url}/`, ...login], { env: { ...process.env, TESTS: suite }, timeout: 120_000 }, (_err, stdout, stderr) =>
      resolve(stdout + stderr),
    );
  });
}

function record(suite: string, passed: number, failed: number): void {
  const file = process.env.GITDAV_LITMUS_COUNTS;
  if (!file) return;
  const counts = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  counts[suite] = { passed, failed };
  writeFileSync(file, JSON.stringify(counts, null, 1));
}

interface Variant {
  label: string;
  backend: BackendName;
  /** Multi-user over HTTPS, litmus logging in as alice. */
  secure?: boolean;
  /**
   * Multi-user over HTTP, litmus logging in as bob and working inside alice's folder shared with him
   * read-write: every write, lock and property goes through the share to alice's tree.
   */
  viaShare?: boolean;
  /** `gitdav serve --workers N` as a real process (a supervisor and N workers) instead of an in-process server. */
  workers?: number;
  /** The git burst window for `--workers` (default: 0, a commit before each answer): 2000 is the default rules' real bursts. */
  burstWindowMs?: number;
}

const VARIANTS: Variant[] = [
  { label: 'fs backend', backend: 'fs' },
  { label: 'git backend', backend: 'git' },
  { label: 'git backend, HTTPS and login', backend: 'git', secure: true },
  { label: 'fs backend, as a read-write share’s grantee', backend: 'fs', viaShare: true },
  { label: 'git backend, as a read-write share’s grantee', backend: 'git', viaShare: true },
  { label: 'fs backend, 2 workers', backend: 'fs', workers: 2 },
  { label: 'git backend, 2 workers', backend: 'git', workers: 2 },
  // The overlay with uncommitted records under every request (the production default: 2 s bursts).
  { label: 'git backend, 2 workers, default burst window', backend: 'git', workers: 2, burstWindowMs: 2000 },
];

/** `gitdav serve --workers N --no-caldav` on a fresh folder, as the in-process test server would serve it. */
async function serveWorkers(backend: BackendName, workers: number, burstWindowMs?: number): Promise<{ url: string; close(): Promise<void> }> {
  const root = join(await mkdtemp(join(tmpdir(), 'gitdav-litmus-')), 'data');
  const window = burstWindowMs === undefined ? [] : ['--burst-window-ms', String(burstWindowMs)];
  const p = runCli(['serve', '--root', root, '--backend', backend, '--workers', String(workers), ...window, '--no-caldav', '--port', '0', '--log-level', 'warn']);
  const url = await p.url;
  return {
    url,
    async close() {
      p.child.kill('SIGTERM');
      assert.equal(await p.exit, 0, p.output());
    },
  };
}

for (const v of VARIANTS) {
  describe(`litmus (WebDAV compliance), ${v.label}`, function () {
    this.timeout(180_000);
    let s: { url: string; close(): Promise<void> };
    before(async function () {
      if (!existsSync(LITMUS)) {
        if (process.env.CI) throw new Error('litmus is not installed: .ci/run must apt-get install it');
        this.skip(); // locally: `apt-get install litmus` to run these
      }
      if (v.workers) {
        s = await serveWorkers(v.backend, v.workers, v.burstWindowMs);
      } else if (v.viaShare) {
        const shares = [{ owner: 'alice', path: '/docs', grantee: 'bob', access: 'write' as const }];
        s = await startTestServer({ backend: v.backend, users: { alice: 'alice-secret', bob: 'bob-secret!' }, shares });
        const made = await raw(s.url, '/docs', { method: 'MKCOL', headers: basic('alice', 'alice-secret') });
        assert.equal(made.status, 201);
      } else {
        s = await startTestServer(v.secure ? { backend: v.backend, users: { alice: 'alice-secret' }, tls: true } : { backend: v.backend });
      }
    });
    after(async () => {
      // What litmus did as bob landed in alice's tree (it leaves its litmus/ folder behind, emptied).
      if (v.viaShare && s) assert.equal((await raw(s.url, '/docs/litmus/', { method: 'PROPFIND', headers: { ...basic('alice', 'alice-secret'), Depth: '0' } })).status, 207);
      await s?.close();
    });

    for (const [suite, all] of SUITES) {
      // Over TLS litmus skips http's expect100 (it speaks raw sockets there): one test fewer, by design.
      const total = v.secure && suite === 'http' ? all - 1 : all;
      it(`${suite}: all ${total} tests pass, none skipped${v.secure && suite === 'http' ? ' but expect100 (litmus: "skipping for SSL server")' : ''}, no warnings`, async () => {
        const out = v.viaShare
          ? await runLitmus(`${s.url}/shared/alice/docs`, suite, ['bob', 'bob-secret!'])
          : await runLitmus(s.url, suite, v.secure ? ['alice', 'alice-secret'] : []);
        const m = /summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed/.exec(out);
        assert.ok(m, `no litmus summary in:\n${out}`);
        record(`${v.label} ${suite}`, Number(m[3]), Number(m[4]) + Math.max(0, total - Number(m[2])));
        assert.equal(Number(m[4]), 0, out);
        assert.equal(Number(m[2]), total, `litmus ran ${m[2]} of ${total} tests:\n${out}`);
        assert.doesNotMatch(out.replace(/SKIPPED \(skipping for SSL server\)|1 test was skipped\./g, v.secure && suite === 'http' ? '' : '$&'), /skipped|SKIPPED|WARNING/, out);
      });
    }
  });
}

/**
 * litmus 0.13 (the Debian package), every suite against the real server on loopback. Each suite must
 * pass every test it runs, with none skipped. litmus's own counts go to $GITDAV_LITMUS_COUNTS for CI.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { startTestServer, type BackendName, type TestServer } from '../helpers/server.js';

const LITMUS = '/usr/bin/litmus';
const SUITES: Array<[string, number]> = [
  ['basic', 16],
  ['copymove', 13],
  ['props', 30],
  ['locks', 41],
  ['http', 4],
];

function runLitmus(url: string, suite: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(LITMUS, [`${url}/`], { env: { ...process.env, TESTS: suite }, timeout: 120_000 }, (_err, stdout, stderr) =>
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

for (const backend of ['fs', 'git'] as BackendName[]) {
  describe(`litmus (WebDAV compliance), ${backend} backend`, function () {
    this.timeout(180_000);
    let s: TestServer;
    before(async function () {
      if (!existsSync(LITMUS)) {
        if (process.env.CI) throw new Error('litmus is not installed: .ci/run must apt-get install it');
        this.skip(); // locally: `apt-get install litmus` to run these
      }
      s = await startTestServer({ backend });
    });
    after(async () => s?.close());

    for (const [suite, total] of SUITES) {
      it(`${suite}: all ${total} tests pass, none skipped, no warnings`, async () => {
        const out = await runLitmus(s.url, suite);
        const m = /summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed/.exec(out);
        assert.ok(m, `no litmus summary in:\n${out}`);
        record(`${backend} ${suite}`, Number(m[3]), Number(m[4]) + Math.max(0, total - Number(m[2])));
        assert.equal(Number(m[4]), 0, out);
        assert.equal(Number(m[2]), total, `litmus ran ${m[2]} of ${total} tests:\n${out}`);
        assert.doesNotMatch(out, /skipped|WARNING/, out);
      });
    }
  });
}

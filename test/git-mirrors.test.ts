/**
 * Mirrors (backends/git/mirrors/): the real server on a git repository pushes its branch to bare
 * repositories in temp dirs with the real `git`. A storm ends with the mirror at the primary's tip; a
 * mirror that is missing fails without failing a write and catches up once it exists; a mirror someone
 * pushed to is reported diverged and left as it is; `gitdav mirror` (a process) adds, lists, shows
 * and removes; a user's repository has mirrors of its own.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, raw, basic, type TestServer } from './helpers/server.js';
import { until } from './helpers/journal-backends.js';
import { CLI, killCliProcesses, runCli } from './helpers/cli.js';
import { editMirrors, readState } from '../backends/git/mirrors/files.js';
import { createMetrics } from '../lib/metrics/metrics.js';

/** This process's gauge value for a mirror (the in-process server's repositories), or null. */
async function gauge(name: string, mirror: string): Promise<number | null> {
  const m = createMetrics();
  try {
    const line = (await m.text()).split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`mirror="${mirror}"`));
    return line ? Number(line.split(' ').pop()) : null;
  } finally {
    m.close();
  }
}

const git = (gitdir: string, ...args: string[]): string =>
  execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const headOf = (gitdir: string): string | null => {
  try {
    return git(gitdir, 'rev-parse', '--verify', '--quiet', 'refs/heads/main');
  } catch {
    return null;
  }
};
const bare = (dir: string): void => void execFileSync('git', ['init', '-q', '--bare', '-b', 'main', dir]);
const mirrorCli = (...args: string[]) => spawnSync(process.execPath, [CLI, 'mirror', ...args], { encoding: 'utf8' });

describe('git mirrors', function () {
  this.timeout(300_000);
  let tmp: string;
  const servers: TestServer[] = [];
  const start = async (options: Parameters<typeof startTestServer>[0]) => {
    const s = await startTestServer({ backend: 'git', ...options });
    servers.push(s);
    return s;
  };
  const put = async (s: TestServer, path: string, text: string, headers: Record<string, string> = {}) => {
    const r = await raw(s.url, path, { method: 'PUT', body: text, headers });
    assert.ok(r.status === 201 || r.status === 204, `PUT ${path}: ${r.status} ${r.text}`);
  };

  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'gitdav-mirrors-'));
  });
  afterEach(async () => {
    killCliProcesses();
    for (const s of servers.splice(0)) await s.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('after a storm of writes from 8 clients, the mirror is at the primary tip', async () => {
    const s = await start({});
    const mirror = join(tmp, 'mirror.git');
    bare(mirror);
    await editMirrors(join(s.root, 'gitdav'), () => [{ name: 'backup', url: mirror }]);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = next++; i < 50; i = next++) await put(s, `/f${i}.txt`, `file ${i}\n`);
      }),
    );
    const primary = headOf(s.root)!;
    assert.ok(primary);
    await until('mirror at the primary tip', async () => headOf(mirror) === headOf(s.root), 600, 100);
    assert.equal(git(mirror, 'rev-list', '--count', 'main'), git(s.root, 'rev-list', '--count', 'main'));
    assert.equal(git(mirror, 'show', 'main:f49.txt'), 'file 49');
    await until('state ok', async () => (await readState(join(s.root, 'gitdav'), 'backup'))?.state === 'ok', 200, 50);
  });

  it('a missing mirror fails without failing writes, and catches up once it exists', async () => {
    const s = await start({});
    const mirror = join(tmp, 'later.git');
    await editMirrors(join(s.root, 'gitdav'), () => [{ name: 'later', url: mirror }]);
    for (let i = 0; i < 5; i++) await put(s, `/a${i}.txt`, `a ${i}\n`);
    await until('state failing', async () => (await readState(join(s.root, 'gitdav'), 'later'))?.state === 'failing', 200, 50);
    const st = (await readState(join(s.root, 'gitdav'), 'later'))!;
    assert.ok(st.failures >= 1 && st.lastError, JSON.stringify(st));
    const status = mirrorCli('status', '--root', s.root);
    assert.match(status.stdout, /state: failing/);
    assert.equal(status.status, 3);
    await put(s, '/after-failure.txt', 'still written\n'); // writes go on
    assert.equal(await gauge('gitdav_mirror_lag_commits', 'later'), 6);
    assert.ok((await gauge('gitdav_mirror_lag_seconds', 'later'))! >= 0);
    bare(mirror);
    await until('mirror caught up', async () => headOf(mirror) === headOf(s.root), 900, 100);
    assert.equal(git(mirror, 'show', 'main:after-failure.txt'), 'still written');
    await until('state ok', async () => (await readState(join(s.root, 'gitdav'), 'later'))?.state === 'ok', 200, 50);
    assert.equal(await gauge('gitdav_mirror_lag_commits', 'later'), 0);
    assert.equal(await gauge('gitdav_mirror_lag_seconds', 'later'), 0);
  });

  it('a mirror path under a file fails without failing writes, and catches up once it is made', async () => {
    const s = await start({});
    const file = join(tmp, 'a-file');
    await writeFile(file, 'not a folder\n');
    const mirror = join(file, 'm.git');
    await editMirrors(join(s.root, 'gitdav'), () => [{ name: 'under', url: mirror }]);
    await put(s, '/x.txt', 'x\n');
    await until('state failing', async () => (await readState(join(s.root, 'gitdav'), 'under'))?.state === 'failing', 200, 50);
    await put(s, '/y.txt', 'y\n');
    await rm(file);
    bare(mirror);
    await until('mirror caught up', async () => headOf(mirror) === headOf(s.root), 900, 100);
    assert.equal(git(mirror, 'show', 'main:y.txt'), 'y');
  });

  it('a mirror someone pushed to is reported diverged and never overwritten; once mended, a restart catches it up', async () => {
    const s = await start({ root: join(tmp, 'primary') });
    const mirror = join(tmp, 'mirror.git');
    bare(mirror);
    await editMirrors(join(s.root, 'gitdav'), () => [{ name: 'm', url: mirror }]);
    await put(s, '/one.txt', 'one\n');
    await until('first push', async () => headOf(mirror) === headOf(s.root), 300, 100);
    const first = headOf(mirror)!;
    // Someone commits to the mirror directly.
    const work = join(tmp, 'work');
    execFileSync('git', ['clone', '-q', mirror, work]);
    execFileSync('git', ['-C', work, '-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '-q', '--allow-empty', '-m', 'elsewhere']);
    execFileSync('git', ['-C', work, 'push', '-q', 'origin', 'HEAD:main']);
    const theirs = headOf(mirror)!;
    await put(s, '/two.txt', 'two\n');
    await until('state diverged', async () => (await readState(join(s.root, 'gitdav'), 'm'))?.state === 'diverged', 300, 100);
    assert.equal(headOf(mirror), theirs, 'the mirror branch is left as it was');
    await put(s, '/three.txt', 'three\n'); // no retry loop, no overwrite
    assert.equal(headOf(mirror), theirs);
    assert.equal((await readState(join(s.root, 'gitdav'), 'm'))!.failures, 1, 'a new commit does not retry a diverged mirror');
    const status = mirrorCli('status', '--root', s.root);
    assert.match(status.stdout, /state: diverged/);
    assert.match(status.stdout, /lag: 2 commits/);
    // The operator mends the mirror (back to a commit of the primary); the next start pushes again.
    await servers.pop()!.close();
    git(mirror, 'update-ref', 'refs/heads/main', first);
    const again = await start({ root: s.root });
    await until('mirror caught up after the restart', async () => headOf(mirror) === headOf(again.root), 300, 100);
    await until('state ok', async () => (await readState(join(s.root, 'gitdav'), 'm'))?.state === 'ok', 200, 50);
  });

  it('a tag the mirror holds with another value is a warning: the branch is pushed, the mirror stays ok', async () => {
    const s = await start({ root: join(tmp, 'primary') });
    const mirror = join(tmp, 'mirror.git');
    bare(mirror);
    await editMirrors(join(s.root, 'gitdav'), () => [{ name: 'm', url: mirror }]);
    await put(s, '/one.txt', 'one\n');
    await until('first push', async () => headOf(mirror) === headOf(s.root), 300, 100);
    // The mirror gets tag v1 on its commit; the primary tags v1 elsewhere (a later commit).
    git(mirror, 'tag', 'v1', headOf(mirror)!);
    await put(s, '/two.txt', 'two\n');
    await until('second commit', async () => headOf(s.root) !== headOf(mirror), 100, 50);
    git(s.root, 'tag', 'v1', headOf(s.root)!);
    await put(s, '/three.txt', 'three\n');
    await until('the branch pushed past the tag clash', async () => headOf(mirror) === headOf(s.root), 300, 100);
    await until('state ok', async () => (await readState(join(s.root, 'gitdav'), 'm'))?.state === 'ok', 200, 50);
    const state = (await readState(join(s.root, 'gitdav'), 'm'))!;
    assert.equal(state.failures, 0);
    assert.equal(state.pushed, headOf(s.root));
    assert.match(state.lastError ?? '', /v1/, 'the tag clash is kept as a warning');
    assert.notEqual(git(mirror, 'rev-parse', 'v1'), git(s.root, 'rev-parse', 'v1'), "the mirror's tag is not moved");
    assert.equal(mirrorCli('status', '--root', s.root).status, 0);
  });

  it('gitdav mirror add, list, status and remove (as a process)', async () => {
    const root = join(tmp, 'repo');
    const mirror = join(tmp, 'backup.git');
    bare(mirror);
    const added = mirrorCli('add', '--root', root, mirror);
    assert.equal(added.status, 0, added.stderr);
    assert.match(added.stdout, /mirror backup added/);
    assert.equal(mirrorCli('add', '--root', root, mirror).status, 1, 'the same URL twice');
    const listed = mirrorCli('list', '--root', root);
    assert.equal(listed.stdout, `backup\t${mirror}\n`);
    const s = await start({ root });
    await put(s, '/x.txt', 'x\n');
    await until('pushed', async () => headOf(mirror) === headOf(root), 300, 100);
    await until('state ok', async () => (await readState(join(root, 'gitdav'), 'backup'))?.state === 'ok', 200, 50);
    const status = mirrorCli('status', '--root', root);
    assert.equal(status.status, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /^backup\t/);
    assert.match(status.stdout, /state: ok/);
    assert.match(status.stdout, /lag: 0 commits, 0 s/);
    const removed = mirrorCli('remove', '--root', root, 'backup');
    assert.equal(removed.status, 0, removed.stderr);
    assert.equal(mirrorCli('list', '--root', root).stdout, '');
    assert.equal(mirrorCli('remove', '--root', root, 'backup').status, 1);
    assert.equal(mirrorCli('frob', '--root', root).status, 2);
  });

  it('with two workers, every commit reaches the mirror (one pusher at a time, none left behind)', async () => {
    const root = join(tmp, 'repo');
    const mirror = join(tmp, 'backup.git');
    bare(mirror);
    assert.equal(mirrorCli('add', '--root', root, mirror).status, 0);
    const p = runCli(['serve', '--root', root, '--port', '0', '--workers', '2', '--no-caldav', '--log-level', 'warn']);
    const url = await p.url;
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = next++; i < 40; i = next++) {
          const r = await raw(url, `/w${i}.txt`, { method: 'PUT', body: `w ${i}\n` });
          assert.equal(r.status, 201, r.text);
        }
      }),
    );
    await until('mirror at the primary tip', async () => headOf(mirror) === headOf(root), 600, 100);
    assert.equal(git(mirror, 'show', 'main:w39.txt'), 'w 39');
    assert.equal(git(mirror, 'ls-tree', '--name-only', 'main').split('\n').filter((n) => n.startsWith('w')).length, 40);
    p.child.kill('SIGTERM');
    await p.exit;
    assert.equal(headOf(mirror), headOf(root), 'the commits made at close are pushed too');
  });

  it("with users: a mirror of one user's repository", async () => {
    const s = await start({ users: { alice: 'alice-secret', bob: 'bob-secret' } });
    const mirror = join(tmp, 'alice.git');
    bare(mirror);
    const added = mirrorCli('add', '--root', s.root, '--user', 'alice', mirror, '--name', 'alice-backup');
    assert.equal(added.status, 0, added.stderr);
    await put(s, '/a.txt', 'alice\n', basic('alice', 'alice-secret'));
    await put(s, '/b.txt', 'bob\n', basic('bob', 'bob-secret'));
    const aliceRepo = join(s.root, 'users', 'alice');
    await until("alice's mirror at her tip", async () => headOf(mirror) !== null && headOf(mirror) === headOf(aliceRepo), 300, 100);
    assert.equal(git(mirror, 'show', 'main:a.txt'), 'alice');
    assert.throws(() => git(mirror, 'show', 'main:b.txt'), "bob's file is not in alice's mirror");
    const status = mirrorCli('status', '--root', s.root, '--user', 'alice');
    assert.match(status.stdout, /^alice-backup\t/);
    assert.equal(mirrorCli('list', '--root', s.root, '--user', 'bob').status, 0);
  });
});

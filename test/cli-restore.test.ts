/**
 * `gitdav restore` beside a running server on the same repository: a file's last version (also once
 * deleted), a version by commit id, branch or tag, a folder, `--to`; the server sees each restore at
 * once. Clear messages and exit codes for an unknown path, an unknown revision, no repository.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { CLI } from './helpers/cli.js';
import { tool } from './helpers/tools.js';
import { http, serveWorkers, stopAfterEach, type Served } from './workers/helpers.js';

const oneEach = new Agent({ keepAlive: false });
const restore = (...args: string[]) => tool(process.execPath, [CLI, 'restore', ...args]);

/** Commit ids that changed `path`, newest first, once there are `count` of them (bounded by steps). */
async function commitsOf(gitdir: string, path: string, count: number): Promise<string[]> {
  for (let i = 0; i < 400; i++) {
    const ids = (await tool('git', ['--git-dir', gitdir, 'log', '--format=%H', '--', path])).stdout.split('\n').filter(Boolean);
    if (ids.length >= count) return ids;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`fewer than ${count} commits of ${path}`);
}

describe('gitdav restore', function () {
  this.timeout(180_000);
  let s: Served | undefined;
  let gitdir: string;
  stopAfterEach(() => s, () => (s = undefined));
  const req = (path: string, method = 'GET', body?: string, headers: Record<string, string> = {}) => http(s!.url, path, { method, body, headers, agent: oneEach });

  beforeEach(async () => {
    gitdir = join(await mkdtemp(join(tmpdir(), 'gitdav-restore-')), 'data');
    s = await serveWorkers(['--root', gitdir, '--backend', 'git', '--workers', '1', '--no-caldav', '--burst-window-ms', '0']);
    assert.equal((await req('/d', 'MKCOL')).status, 201);
    assert.equal((await req('/d/a.txt', 'PUT', 'one')).status, 201);
    assert.equal((await req('/d/a.txt', 'PUT', 'two')).status, 204);
  });

  it('a deleted file comes back as its last version, while the server runs, and the server sees it at once', async () => {
    await commitsOf(gitdir, 'd/a.txt', 2);
    assert.equal((await req('/d/a.txt', 'DELETE')).status, 204);
    await commitsOf(gitdir, 'd/a.txt', 3);
    const r = await restore('--root', gitdir, '/d/a.txt');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^restored \/d\/a\.txt from [0-9a-f]{40} \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, gitdav\)\n$/);
    assert.equal((await req('/d/a.txt')).body.toString(), 'two');
    const log = (await tool('git', ['--git-dir', gitdir, 'log', '-1', '--format=%s'])).stdout;
    assert.match(log, /d\/a\.txt/, 'one commit made the restore');
  });

  it('a version by commit id, by branch, and to another place (--to)', async () => {
    const [, first] = await commitsOf(gitdir, 'd/a.txt', 2);
    const r = await restore('--root', gitdir, 'd/a.txt', first!.slice(0, 8));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`from ${first} .*replacing what was there`), 'the full commit id');
    assert.equal((await req('/d/a.txt')).body.toString(), 'one');
    const b = await restore('--root', gitdir, '/d/a.txt', first!, '--to', '/d/copy.txt');
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, / to \/d\/copy\.txt\n$/);
    assert.equal((await req('/d/copy.txt')).body.toString(), 'one');
    await commitsOf(gitdir, 'd/copy.txt', 1);
    assert.equal((await req('/d/a.txt', 'PUT', 'three')).status, 204);
    await commitsOf(gitdir, 'd/a.txt', 4);
    await tool('git', ['--git-dir', gitdir, 'tag', 'v1', first!]);
    const t = await restore('--root', gitdir, '/d/a.txt', 'v1');
    assert.equal(t.code, 0, t.stderr);
    assert.equal((await req('/d/a.txt')).body.toString(), 'one');
    const m = await restore('--root', gitdir, '/d/a.txt', 'main');
    assert.equal(m.code, 0, m.stderr);
  });

  it('a deleted folder comes back whole', async () => {
    assert.equal((await req('/d/sub', 'MKCOL')).status, 201);
    assert.equal((await req('/d/sub/b.txt', 'PUT', 'bee')).status, 201);
    await commitsOf(gitdir, 'd/sub/b.txt', 1);
    assert.equal((await req('/d', 'DELETE')).status, 204);
    await commitsOf(gitdir, 'd/sub/b.txt', 2);
    assert.equal((await req('/d/sub/b.txt')).status, 404);
    const r = await restore('--root', gitdir, '/d');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^restored folder \/d from /);
    assert.equal((await req('/d/sub/b.txt')).body.toString(), 'bee');
    assert.equal((await req('/d/a.txt')).body.toString(), 'two');
  });

  it('clear messages and exit codes: unknown path, unknown revision, a file in a deleted folder, no repository', async () => {
    const [, first] = await commitsOf(gitdir, 'd/a.txt', 2);
    const unknownPath = await restore('--root', gitdir, '/nope.txt');
    assert.deepEqual([unknownPath.code, unknownPath.stderr], [1, 'gitdav restore: /nope.txt has no version in history\n']);
    const notThen = await restore('--root', gitdir, '/d/b.txt', first!.slice(0, 7));
    assert.deepEqual([notThen.code, notThen.stderr], [1, `gitdav restore: /d/b.txt did not exist at ${first!.slice(0, 7)}\n`]);
    const badRev = await restore('--root', gitdir, '/d/a.txt', 'no-such-branch');
    assert.equal(badRev.code, 1);
    assert.match(badRev.stderr, /unknown revision "no-such-branch"/);
    const badId = await restore('--root', gitdir, '/d/a.txt', 'abcdef1234');
    assert.match(badId.stderr, /unknown revision/);
    assert.equal((await req('/d', 'DELETE')).status, 204);
    await commitsOf(gitdir, 'd/a.txt', 3);
    const orphan = await restore('--root', gitdir, '/d/a.txt');
    assert.equal(orphan.code, 1);
    assert.match(orphan.stderr, /the folder \/d does not exist now: restore it first/);
    const empty = join(await mkdtemp(join(tmpdir(), 'gitdav-restore-')), 'plain');
    await mkdir(empty);
    const none = await restore('--root', empty, '/x');
    assert.deepEqual([none.code, none.stderr], [2, `gitdav restore: ${empty} is not a git repository\n`]);
    const intoHistory = await restore('--root', gitdir, '/d/a.txt', first!, '--to', '/.history/x.txt');
    assert.equal(intoHistory.code, 2);
    assert.match(intoHistory.stderr, /^gitdav restore: \/\.history\/x\.txt is in history, which is read-only/);
    assert.doesNotMatch(intoHistory.stderr, /\n\s+at /, 'no stack trace');
    const usage = await restore('--root', gitdir);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /usage: gitdav restore/);
    assert.match((await tool(process.execPath, [CLI, '--help'])).stdout, /gitdav restore \[--config FILE\] \[--root DIR\]/);
  });
  it('reads the server\'s config (--config): its ignore list decides what is junk, and its root is the default', async () => {
    const [, first] = await commitsOf(gitdir, 'd/a.txt', 2);
    const config = join(gitdir, '..', 'gitdav.json');
    await writeFile(config, JSON.stringify({ root: gitdir, ignore: [] }));
    const r = await restore('--config', config, '/d/a.txt', first!, '--to', '/d/a.swp');
    assert.equal(r.code, 0, r.stderr);
    await commitsOf(gitdir, 'd/a.swp', 1); // committed: under that config *.swp is no junk
    const bad = join(gitdir, '..', 'bad.json');
    await writeFile(bad, JSON.stringify({ ignore: 'nope' }));
    const refused = await restore('--config', bad, '/d/a.txt');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /ignore must be a list/);
  });

  it('an I/O error (a corrupt object) is reported as such, not as an unknown path', async () => {
    const [, first] = await commitsOf(gitdir, 'd/a.txt', 2);
    const tree = (await tool('git', ['--git-dir', gitdir, 'rev-parse', `${first}:d`])).stdout.trim();
    const file = join(gitdir, 'objects', tree.slice(0, 2), tree.slice(2));
    await rm(file, { force: true });
    await writeFile(file, 'not zlib at all');
    const r = await restore('--root', gitdir, '/d/a.txt', first!);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^gitdav restore: nothing restored: /);
    assert.doesNotMatch(r.stderr, /did not exist|unknown revision|\n\s+at /);
  });
});

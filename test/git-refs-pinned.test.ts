/**
 * The branch ref a git-backed server reads per request (backends/git/refs.ts: the ref file last read
 * held open, read again only when another file stands under its name) against everything native git
 * does to a ref between two requests: `git commit` in the repository's own work tree, `git pack-refs
 * --all --prune` (the loose file removed), `git update-ref -d` (the branch gone), the branch made
 * again at an older commit; and two workers, each seeing the other's commit at its next request.
 * Every step is checked on both workers (new connections spread over them; the log says who served).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGitRepository } from '../backends/git/repository.js';
import { tool } from './helpers/tools.js';
import { http, serveWorkers, stopAfterEach, type Served } from './workers/helpers.js';

const ENV = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
/** A new connection per request: the supervisor hands them to the workers in turn. */
const oneEach = new Agent({ keepAlive: false });

async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await tool('git', args, { cwd, env: ENV });
  assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

describe('git backend: the branch ref between requests (native git, two workers)', function () {
  this.timeout(120_000);
  let dir: string;
  let s: Served | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-refs-pinned-'));
  });
  // Mocha runs a suite's afterEach hooks in the order they are declared: the server stops first, so
  // no worker still writes under .git/gitdav while its folder is removed (ENOTEMPTY in CI).
  stopAfterEach(
    () => s,
    () => (s = undefined),
  );
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('sees native commits, pack-refs --prune, a deleted and a recreated branch, and the other worker’s commits', async () => {
    const work = join(dir, 'work'); // a repository with a work tree: served from its .git
    await git(dir, 'init', '-q', '-b', 'main', work);
    await writeFile(join(work, 'f.txt'), 'native 0\n');
    await git(work, 'add', 'f.txt');
    await git(work, 'commit', '-qm', 'native 0');
    s = await serveWorkers(['--backend', 'git', '--root', work, '--workers', '2', '--no-caldav']);
    const url = s.url;
    const gitdir = join(work, '.git');

    /** Four GETs (both workers answer): each must give `want` (null: 404). */
    const expect = async (path: string, want: string | null, what: string) => {
      const from = s!.records().length;
      for (let i = 0; i < 4; i++) {
        const r = await http(url, path, { agent: oneEach });
        if (want === null) assert.equal(r.status, 404, `${what}: GET ${path} #${i} → ${r.status}`);
        else {
          assert.equal(r.status, 200, `${what}: GET ${path} #${i} → ${r.status}`);
          assert.equal(r.body.toString(), want, `${what}: GET ${path} #${i}`);
        }
      }
      return from;
    };
    /** Both workers served a GET since record `from` (each request line is logged once it is answered). */
    const bothServed = async (from: number) => {
      for (const worker of [1, 2]) await s!.waitFor((r) => r.msg === 'request' && r.method === 'GET' && r.worker === worker, from);
    };
    const step = async (path: string, want: string | null, what: string) => bothServed(await expect(path, want, what));
    /** A commit in the work tree, on top of whatever the branch holds now (the server's commits too). */
    const nativeCommit = async (n: number) => {
      await git(work, 'reset', '-q'); // the index from the branch as it is now
      await writeFile(join(work, 'f.txt'), `native ${n}\n`);
      await git(work, 'add', 'f.txt');
      await git(work, 'commit', '-qm', `native ${n}`);
      return git(work, 'rev-parse', 'HEAD');
    };
    const put = async (path: string, body: string) => {
      const r = await http(url, path, { method: 'PUT', body, agent: oneEach });
      assert.ok([201, 204].includes(r.status), `PUT ${path} → ${r.status}`);
    };

    await step('/f.txt', 'native 0\n', 'at start');
    for (let n = 1; n <= 3; n++) {
      await nativeCommit(n);
      await step('/f.txt', `native ${n}\n`, `after native commit ${n}`);
    }

    // Each worker's commit is seen by the other at its next request (and by itself).
    for (let n = 0; n < 4; n++) {
      await put('/w.txt', `through the server ${n}\n`);
      await step('/w.txt', `through the server ${n}\n`, `after PUT ${n}`);
    }
    await nativeCommit(4);
    await step('/f.txt', 'native 4\n', 'a native commit after the server’s');
    await step('/w.txt', 'through the server 3\n', 'the server’s file kept');

    await git(work, 'pack-refs', '--all', '--prune');
    assert.equal(existsSync(join(gitdir, 'refs', 'heads', 'main')), false, 'the loose ref is gone');
    await step('/f.txt', 'native 4\n', 'after pack-refs --all --prune');
    await put('/w.txt', 'after packing\n'); // compareAndSwap against the packed value, a loose ref again
    await step('/w.txt', 'after packing\n', 'a PUT after pack-refs');
    await git(work, 'pack-refs', '--all', '--prune');
    await nativeCommit(5);
    await step('/f.txt', 'native 5\n', 'pack-refs, then a native commit');

    const old = await git(work, 'rev-parse', 'HEAD~2');
    await git(work, 'update-ref', '-d', 'refs/heads/main');
    await step('/f.txt', null, 'the branch deleted');
    await git(work, 'update-ref', 'refs/heads/main', old);
    const oldText = await git(work, 'show', `${old}:f.txt`);
    await step('/f.txt', `${oldText}\n`, 'the branch made again, at an older commit');
    await git(work, 'update-ref', '-d', 'refs/heads/main');
    await put('/new.txt', 'the first file of a new branch\n'); // the server makes the branch
    await step('/new.txt', 'the first file of a new branch\n', 'a PUT on a deleted branch');
    await step('/f.txt', null, 'nothing of the old branch');
    assert.equal(await git(work, 'show', 'main:new.txt'), 'the first file of a new branch');
  });
});

describe('git backend: a failed open holds nothing open', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-refs-broken-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  // lib/tenants.ts retries a failed open at each request: a descriptor left per try (the branch ref
  // pinned by its first read) would use up the worker's descriptors, for every user on it.
  it('leaves the process’s descriptors as they were after repeated opens of a branch naming a missing commit', async () => {
    await git(dir, 'init', '--quiet', '--bare', '-b', 'main');
    await writeFile(join(dir, 'refs/heads/main'), `${'ab'.repeat(20)}\n`);
    const fds = () => readdirSync('/proc/self/fd').length;
    const failedOpen = () => assert.rejects(openGitRepository({ root: dir }), /abab/); // the missing object's id
    await failedOpen(); // the first one loads modules, starts the threadpool
    const before = fds();
    for (let i = 0; i < 20; i++) await failedOpen();
    assert.equal(fds(), before);
  });
});

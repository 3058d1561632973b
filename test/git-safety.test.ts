/**
 * Safety of the git backend against the real server, run as separate processes on 127.0.0.1
 * (docs/git-backend.md, "Writing"): crash consistency under kill -9, two processes and native git sharing one branch,
 * commit messages and authors, group commit, idempotent retries, and a corrupt loose object.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, open, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import { tool, type ToolResult } from './helpers/tools.js';

const CLI = resolve('dist/lib/cli.js');
const children = new Set<ChildProcess>();
const agent = new Agent({ keepAlive: false });

// ---- helpers ----------------------------------------------------------------------------------------

interface Server {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
  output(): string;
}

/**
 * Spawns `gitdav serve` on a bare repository at `root`; resolves once it prints its URL. `burstWindowMs`
 * 0 (the default here): each write is answered once its commit landed; more: writes are answered from
 * the journal and committed per burst (the server's default is 2,000 ms).
 */
async function startServer(root: string, workers = 1, burstWindowMs = 0): Promise<Server> {
  const args = [CLI, 'serve', '--workers', String(workers), '--root', root, '--backend', 'git', '--no-caldav', '--port', '0', '--log-level', 'silent', '--burst-window-ms', String(burstWindowMs)];
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise<void>((r) => child.once('exit', () => (children.delete(child), r())));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 20 s: ${out}`)), 20_000);
    const onData = () => {
      const m = /gitdav: serving .* \(git(?:, \d+ workers)?\) at (http:\/\/127\.0\.0\.1:\d+)\/\n/.exec(out);
      if (m) (clearTimeout(timer), resolveUrl(m[1]!));
    };
    child.stdout!.on('data', onData);
    void exited.then(() => (clearTimeout(timer), reject(new Error(`server exited before listening: ${out}`))));
  });
  return { child, url, exited, output: () => out };
}

/** SIGTERM: the server drains and closes its repository, which commits what is left in the journal. */
async function stopGracefully(server: Server): Promise<void> {
  server.child.kill('SIGTERM');
  await server.exited;
}

/** Each journal record committed once: no `Gitdav-Journal` trailer seq twice in the log. */
async function assertEachRecordOnce(dir: string): Promise<number[]> {
  const seqs = (await gitOk(dir, ['log', '--format=%(trailers:key=Gitdav-Journal,valueonly)', 'main'])).split('\n').filter(Boolean).map((v) => Number(v.split(' ')[1]));
  assert.equal(new Set(seqs).size, seqs.length, `a journal record committed twice: ${seqs.join(' ')}`);
  return seqs;
}

async function killHard(server: Server): Promise<void> {
  server.child.kill('SIGKILL');
  await server.exited;
}

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One request on a fresh connection (no keep-alive), failing after `timeoutMs`. */
function http(base: string, path: string, method = 'GET', body?: string | Buffer, headers: Record<string, string | number> = {}, timeoutMs = 15_000): Promise<Res> {
  const url = new URL(base);
  return new Promise((resolveRes, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolveRes({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
      res.on('close', () => res.complete || reject(new Error(`${method} ${path}: response cut off`)));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

const put = (base: string, path: string, body: string | Buffer, headers: Record<string, string | number> = {}) => http(base, path, 'PUT', body, headers);

/** `git --git-dir <dir> ...`, with optional stdin and extra environment. */
function git(dir: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ToolResult> {
  return tool('git', ['--git-dir', dir, ...args], { input: opts.input, env: { ...process.env, ...opts.env }, timeout: 20_000 });
}

async function gitOk(dir: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await git(dir, args, opts);
  assert.equal(r.code, 0, `git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** The blob id git gives `content`: equal ids mean byte-identical content. */
function blobId(content: string | Buffer): string {
  const buf = Buffer.from(content);
  return createHash('sha1').update(`blob ${buf.length}\0`).update(buf).digest('hex');
}

/** path ('/a.txt') → blob id, for every file in the branch tip. */
async function headFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const line of (await gitOk(dir, ['ls-tree', '-r', 'main'])).split('\n')) {
    const m = /^\d+ blob ([0-9a-f]{40})\t(.*)$/.exec(line);
    if (m) out.set('/' + m[2]!, m[1]!);
  }
  return out;
}

async function assertFsckClean(dir: string): Promise<void> {
  const r = await git(dir, ['fsck', '--strict', '--no-progress']);
  const all = r.stdout + r.stderr;
  assert.equal(r.code, 0, `git fsck --strict exited ${r.code}:\n${all}`);
  assert.doesNotMatch(all, /error|missing|broken/i, `git fsck --strict:\n${all}`);
}

/** The ids of the repository's loose objects. */
async function looseObjects(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(join(dir, 'objects'))) {
    if (/^[0-9a-f]{2}$/.test(d)) for (const f of await readdir(join(dir, 'objects', d))) if (/^[0-9a-f]{38}$/.test(f)) out.push(d + f);
  }
  return out;
}

const commitCount = async (dir: string) => Number((await gitOk(dir, ['rev-list', '--count', 'main'])).trim());

/** Distinct content per path; with `big`, every 8th body is 256 KiB so some uploads are long enough to be cut. */
function contentFor(path: string, i: number, big = false): string {
  return `${path} ${i} ${Math.random()}\n` + (big && i % 8 === 7 ? 'y'.repeat(256 * 1024) : 'x'.repeat((i * 37) % 3000));
}

interface Sent {
  path: string;
  content: string;
  status: number | 'error';
}

/**
 * `workers` clients PUTting the paths given, each one request at a time, until the list is used up or
 * `stop()` says so; returns what each request got.
 */
async function putMany(
  base: string,
  paths: string[],
  workers: number,
  opts: { stop?: () => boolean; onAnswer?: (s: Sent) => void; big?: boolean; before?: () => unknown } = {},
): Promise<Sent[]> {
  const { stop = () => false, onAnswer, big = false, before } = opts;
  const sent: Sent[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < paths.length && !stop()) {
        await before?.();
        const i = next++;
        const path = paths[i]!;
        const content = contentFor(path, i, big);
        const s: Sent = { path, content, status: 'error' };
        sent.push(s);
        try {
          s.status = (await put(base, path, content)).status;
        } catch {
          return; // the server went away: this client stops
        }
        onAnswer?.(s);
      }
    }),
  );
  return sent;
}

/** Every PUT answered 201/204 is in HEAD with exactly its content; any other one present is whole too. */
function assertDurable(files: Map<string, string>, sent: Sent[]): number {
  let acked = 0;
  for (const s of sent) {
    const ok = s.status === 201 || s.status === 204;
    if (ok) acked++;
    const found = files.get(s.path);
    if (ok) assert.ok(found, `${s.path} was answered ${s.status} but is not in HEAD`);
    if (found) assert.equal(found, blobId(s.content), `${s.path} in HEAD has the wrong content`);
  }
  return acked;
}

// ---- tests ------------------------------------------------------------------------------------------

describe('git backend safety (real server processes)', function () {
  this.timeout(30_000);
  let tmp: string;
  let repo: string;

  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'gitdav-safety-'));
    repo = join(tmp, 'repo.git');
  });

  afterEach(async () => {
    // Even after a failed assertion: a live child would keep mocha from exiting.
    await Promise.all([...children].map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : (c.once('exit', () => r()), c.kill('SIGKILL'))))));
    children.clear();
    await rm(tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });

  it('survives kill -9 under 16 concurrent writers inside a burst: fsck clean, every acknowledged PUT committed once', async () => {
    // A 2 s window: the kill lands inside a burst, with acknowledged writes in the journal only.
    const server = await startServer(repo, 1, 2_000);
    const killAt = 100 + Math.floor(Math.random() * 100);
    let answered = 0;
    let killed = false;
    const paths = Array.from({ length: 2000 }, (_, i) => `/c${i % 16}-${i}.txt`);
    const sent = await putMany(server.url, paths, 16, {
      big: true,
      stop: () => killed,
      onAnswer: () => {
        if (++answered >= killAt && !killed) {
          killed = true;
          server.child.kill('SIGKILL');
        }
      },
    });
    await server.exited;
    assert.ok(killed, `the server died before the test killed it:\n${server.output()}`);
    assert.deepEqual(sent.filter((s) => s.status !== 'error' && s.status !== 201), [], 'every answered PUT got 201');
    const acked = sent.filter((s) => s.status === 201);
    assert.ok(acked.length >= killAt, `only ${acked.length} PUTs answered before the kill`);
    assert.ok(sent.length > acked.length, 'some PUTs were in flight when the server was killed');

    await assertFsckClean(repo);
    // The restart commits the bursts the crash left once they are closed: at open if the window has
    // passed since the last record, else when it does (polled, bounded by steps). Reads show them at once.
    const restarted = await startServer(repo);
    for (const s of acked.slice(-3)) assert.equal((await http(restarted.url, s.path)).text, s.content);
    for (let step = 0; ; step++) {
      try {
        assertDurable(await headFiles(repo), sent);
        break;
      } catch (err) {
        if (step >= 100) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await assertFsckClean(repo);
    await assertEachRecordOnce(repo);
    // Spot-check a few through git itself and through the restarted server.
    for (const s of acked.slice(0, 5)) {
      assert.equal(await gitOk(repo, ['show', `main:${s.path.slice(1)}`]), s.content);
      const got = await http(restarted.url, s.path);
      assert.equal(got.status, 200);
      assert.equal(got.text, s.content);
    }
    const after = await put(restarted.url, '/after-crash.txt', 'still writable');
    assert.equal(after.status, 201, after.text);
    assert.equal(await gitOk(repo, ['show', 'main:after-crash.txt']), 'still writable');
    await assertFsckClean(repo);
  });

  it('breaks a ref lock left by a writer killed while holding it', async () => {
    const first = await startServer(repo);
    assert.equal((await put(first.url, '/before.txt', 'before')).status, 201);
    await killHard(first);
    // What kill -9 between creating refs/heads/main.lock and renaming it leaves behind.
    const lock = join(repo, 'refs', 'heads', 'main.lock');
    await writeFile(lock, (await gitOk(repo, ['rev-parse', 'main'])).trim() + '\n');
    const server = await startServer(repo);
    // A write that waited for a lease instead would overrun mocha's timeout here.
    const res = await put(server.url, '/after.txt', 'after');
    assert.equal(res.status, 201, res.text);
    assert.equal(await gitOk(repo, ['show', 'main:after.txt']), 'after');
    assert.equal(await gitOk(repo, ['show', 'main:before.txt']), 'before');
    await assertFsckClean(repo);
  });

  for (const workers of [1, 2]) {
    it(`two server${workers > 1 ? 's of 2 worker processes each' : ' processes'} on one repository lose none of 200 PUTs`, async () => {
      // Bursts (1 s window): writes are answered from the journal both servers share.
      const [a, b] = [await startServer(repo, workers, 1_000), await startServer(repo, workers, 1_000)];
      const [sentA, sentB] = await Promise.all([
        putMany(a.url, Array.from({ length: 100 }, (_, i) => `/a-${i}.txt`), 16),
        putMany(b.url, Array.from({ length: 100 }, (_, i) => `/b-${i}.txt`), 16),
      ]);
      const sent = [...sentA, ...sentB];
      assert.equal(sent.length, 200);
      assert.deepEqual(sent.filter((s) => s.status !== 201), [], 'every PUT is answered 201');
      // Each server sees the other's writes at once, before any commit.
      for (const s of [sentA[0]!, sentB[0]!]) for (const server of [a, b]) assert.equal((await http(server.url, s.path)).text, s.content);
      await Promise.all([stopGracefully(a), stopGracefully(b)]);
      await assertEachRecordOnce(repo);
      const files = await headFiles(repo);
      assert.equal(assertDurable(files, sent), 200);
      assert.equal(files.size, 200);
      await assertFsckClean(repo);
    });
  }

  it('interleaves with native git commits on the same branch without losing either', async () => {
    const server = await startServer(repo);
    assert.equal((await put(server.url, '/seed.txt', 'seed')).status, 201); // the branch exists from here on
    const native = { name: 'Native Tester', email: 'native@example.test' };
    const nativeEnv = { GIT_AUTHOR_NAME: native.name, GIT_AUTHOR_EMAIL: native.email, GIT_COMMITTER_NAME: native.name, GIT_COMMITTER_EMAIL: native.email };
    // Bounded by steps, not by time (it used to run writers until 30 native commits were through, so
    // under load it did more of everything: up to 1,000 PUTs, and retries paced by a poll loop). Each
    // step is one PUT alone (so gitdav commits lie between any two native ones), then PUTS_PER_STEP
    // PUTs racing one native commit. Both sides are made to lose a race for sure, each on every 3rd
    // step: the native commit (a PUT lands between its read of the branch and its update-ref), and
    // gitdav (a native commit lands between gitdav's read of the branch and its compare-and-swap, which
    // must refuse, so that gitdav replays on top: an unchecked swap would drop the native commit). The
    // cost is the git processes: 6 for each native attempt.
    const STEPS = 10;
    const PUTS_PER_STEP = 4;
    const blobs = await Promise.all(Array.from({ length: STEPS }, async (_, n) => {
      const file = join(tmp, `native-${n}.txt`);
      await writeFile(file, `native ${n}\n`);
      return file;
    }));
    const blobIds = (await gitOk(repo, ['hash-object', '-w', ...blobs])).trim().split('\n');
    // One native commit, as a script would make it: plumbing on a private index, then a CAS on the
    // branch (update-ref with the old value). Exit 3 means only that update-ref refused (the ref moved
    // or was locked meanwhile). With $PAUSE set it stops before the update-ref and prints "old new".
    const commitScript = [
      'old=$(git rev-parse refs/heads/main) || exit 1',
      'git read-tree "$old" || exit 1',
      'git update-index --add --cacheinfo "100644,$BLOB,native/$N.txt" || exit 1',
      'tree=$(git write-tree) || exit 1',
      'new=$(git commit-tree "$tree" -p "$old" -m "native $N") || exit 1',
      'if [ -n "$PAUSE" ]; then echo "$old $new"; exit 0; fi',
      'git update-ref refs/heads/main "$new" "$old" 2>/dev/null || exit 3',
    ].join('\n');
    let refMoved = 0;
    const sent: Sent[] = [];
    let next = 0;
    const putSome = async (count: number) => {
      const got = await putMany(server.url, Array.from({ length: count }, () => `/dav-${next++}.txt`), count);
      sent.push(...got);
    };
    const nativeCommit = async (n: number, loseFirst: boolean) => {
      // Each lost race is a gitdav commit landing (or holding the ref's lock) meanwhile, and a step has
      // only so many: the bound on attempts is the step's PUTs, twice, and the first attempt.
      for (let attempt = 0; attempt < 2 * (PUTS_PER_STEP + 2); attempt++) {
        const env = { ...process.env, ...nativeEnv, GIT_DIR: repo, GIT_INDEX_FILE: join(tmp, `native-index-${n}-${attempt}`), N: String(n), BLOB: blobIds[n]! };
        if (loseFirst && attempt === 0) {
          const r = await tool('sh', ['-c', commitScript], { env: { ...env, PAUSE: '1' }, timeout: 20_000 });
          assert.equal(r.code, 0, `native commit ${n}: ${r.stderr}`);
          const [old, made] = r.stdout.trim().split(' ');
          await putSome(1); // gitdav moves the branch between the native read and update
          const update = await git(repo, ['update-ref', 'refs/heads/main', made!, old!]);
          assert.notEqual(update.code, 0, `native commit ${n}: update-ref over a moved branch must fail`);
          refMoved++;
          continue;
        }
        const r = await tool('sh', ['-c', commitScript], { env, timeout: 20_000 });
        if (r.code === 0) return;
        assert.equal(r.code, 3, `native commit ${n}: ${r.stderr}`);
        refMoved++; // gitdav moved (or held) the branch meanwhile: rebuild on the new tip
      }
      assert.fail(`native commit ${n}: the ref kept moving`);
    };
    // gitdav loses: the native commit is made, and the branch's lock taken as `git update-ref` takes
    // it; a PUT is sent, and once its commit object is written (gitdav has read the branch: it is at
    // its compare-and-swap, waiting on the lock) the native commit is renamed over the branch.
    const refPath = join(repo, 'refs/heads/main');
    let gitdavLost = 0;
    const gitdavLoses = async (n: number) => {
      const env = { ...process.env, ...nativeEnv, GIT_DIR: repo, GIT_INDEX_FILE: join(tmp, `native-index-${n}`), N: String(n), BLOB: blobIds[n]!, PAUSE: '1' };
      const r = await tool('sh', ['-c', commitScript], { env, timeout: 20_000 });
      assert.equal(r.code, 0, `native commit ${n}: ${r.stderr}`);
      const [old, made] = r.stdout.trim().split(' ');
      const before = new Set(await looseObjects(repo));
      const lock = await open(`${refPath}.lock`, 'wx');
      await lock.writeFile(`${made}\n`);
      await lock.sync();
      await lock.close();
      const landing = putSome(1);
      let seen: string | undefined;
      // Bounded by steps; the lock is touched on each, so gitdav never takes it for a dead writer's.
      for (let i = 0; i < 4000 && !seen; i++) {
        await new Promise((r) => setTimeout(r, 5));
        await utimes(`${refPath}.lock`, new Date(), new Date());
        for (const oid of await looseObjects(repo)) {
          if (before.has(oid)) continue;
          const text = inflateSync(await readFile(join(repo, 'objects', oid.slice(0, 2), oid.slice(2)))).toString('latin1');
          if (text.startsWith('commit ') && text.includes(`\nparent ${old}\n`)) seen = oid;
        }
      }
      assert.ok(seen, `native commit ${n}: gitdav's commit on ${old} was never written`);
      await rename(`${refPath}.lock`, refPath);
      await landing;
      const tip = (await gitOk(repo, ['rev-parse', 'main', 'main^'])).trim().split('\n');
      assert.notEqual(tip[0], seen, `native commit ${n}: gitdav's commit on the old tip must not land`);
      assert.equal(tip[1], made, `native commit ${n}: gitdav replayed on top of it`);
      gitdavLost++;
    };
    for (let n = 0; n < STEPS; n++) {
      await putSome(1);
      if (n % 3 === 1) await gitdavLoses(n);
      else await Promise.all([putSome(PUTS_PER_STEP), nativeCommit(n, n % 3 === 2)]);
    }
    assert.equal(gitdavLost, 3);
    assert.deepEqual(sent.filter((s) => s.status !== 201), [], 'every gitdav PUT is answered 201');

    const files = await headFiles(repo);
    assertDurable(files, sent);
    for (let n = 0; n < STEPS; n++) assert.equal(files.get(`/native/${n}.txt`), blobId(`native ${n}\n`), `native/${n}.txt`);
    assert.equal(files.get('/seed.txt'), blobId('seed'));
    await assertFsckClean(repo);

    const authors = (await gitOk(repo, ['log', '--first-parent', '--format=%an', 'main'])).trim().split('\n');
    assert.equal(authors.filter((a) => a === native.name).length, STEPS, `all ${STEPS} native commits are in the history`);
    assert.ok(authors.filter((a) => a === 'gitdav').length >= 2, 'gitdav commits are in the history');
    assert.deepEqual(authors.filter((a) => a !== native.name && a !== 'gitdav'), []);
    const first = authors.indexOf(native.name);
    const last = authors.lastIndexOf(native.name);
    const between = authors.slice(first, last).filter((a) => a === 'gitdav').length;
    assert.ok(between >= STEPS - 1, `native and gitdav commits interleave: ${between} gitdav commits among the native ones`);
    assert.ok(refMoved >= Math.floor(STEPS / 3), `native update-refs lost races with gitdav and were retried (${refMoved})`);
  });

  it('writes one-line subjects, gitdav as committer, and the User-Agent as a trailer', async () => {
    const server = await startServer(repo);
    const ua = { 'User-Agent': 'safety-test/1.0 (+trailer check)' };
    assert.equal((await put(server.url, '/a.txt', 'a', ua)).status, 201);
    assert.equal((await http(server.url, '/d', 'MKCOL', undefined, ua)).status, 201);
    assert.equal((await put(server.url, '/x.txt', 'x', ua)).status, 201);
    const moved = await http(server.url, '/x.txt', 'MOVE', undefined, { ...ua, Destination: `${server.url}/d/y.txt` });
    assert.equal(moved.status, 201, moved.text);
    assert.equal((await http(server.url, '/a.txt', 'DELETE', undefined, ua)).status, 204);

    const log = await gitOk(repo, ['log', '--format=%s%x1f%an%x1f%cn%x1f%ce%x1f%(trailers:key=User-Agent,valueonly,separator=%x2c)%x1e', 'main']);
    const commits = log.split('\x1e').map((c) => c.trim()).filter(Boolean).map((c) => c.split('\x1f'));
    // Window 0: a commit per write, each with the subject the bursts' messages give it.
    assert.deepEqual(commits.map((c) => c[0]), ['Delete a.txt', 'Move x.txt to d/y.txt', 'Add x.txt', 'Create folder d', 'Add a.txt']);
    for (const [subject, author, committer, committerEmail, agentTrailer] of commits) {
      assert.equal(author, 'gitdav', subject);
      assert.equal(committer, 'gitdav', subject);
      assert.equal(committerEmail, 'gitdav@localhost', subject);
      assert.equal(agentTrailer, ua['User-Agent'], subject);
    }
    assert.equal(await gitOk(repo, ['show', 'main:d/y.txt']), 'x');
    assert.notEqual((await git(repo, ['cat-file', '-e', 'main:a.txt'])).code, 0, 'a.txt is deleted');
    // Folders still are folders for a server that did not write them (nothing in its tree cache).
    await killHard(server);
    const restarted = await startServer(repo);
    assert.equal((await put(restarted.url, '/d/z.txt', 'z', ua)).status, 201);
    assert.equal((await http(restarted.url, '/d/', 'PROPFIND', undefined, { Depth: 1 })).status, 207);
    assert.equal(await gitOk(repo, ['show', 'main:d/z.txt']), 'z');
    await assertFsckClean(repo);
  });

  it('folds 50 concurrent PUTs of one burst into far fewer commits', async () => {
    const server = await startServer(repo, 1, 1_000);
    const paths = Array.from({ length: 50 }, (_, i) => `/g-${i}.txt`);
    const sent = await putMany(server.url, paths, 50);
    assert.deepEqual(sent.map((s) => s.status), Array(50).fill(201));
    await stopGracefully(server); // commits what is still open
    const files = await headFiles(repo);
    assert.equal(assertDurable(files, sent), 50);
    const commits = await commitCount(repo);
    assert.ok(commits < 50, `${commits} commits for 50 PUTs`);
    // Each PUT is named exactly once, in the body's list of changed paths (or the subject of a one-file commit).
    const messages = (await gitOk(repo, ['log', '--format=%B%x1e', 'main'])).split('\x1e').map((m) => m.trim()).filter(Boolean);
    assert.equal(messages.length, commits);
    const named = messages.flatMap((m) => [...m.matchAll(/\bg-\d+\.txt\b/g)].map((x) => `/${x[0]}`));
    assert.deepEqual([...new Set(named)].sort(), [...paths].sort());
    await assertEachRecordOnce(repo);
    await assertFsckClean(repo);
  });

  it('makes no commit for a PUT that changes nothing (a retry)', async () => {
    const server = await startServer(repo);
    const first = await put(server.url, '/same.txt', 'same bytes');
    assert.equal(first.status, 201);
    const tip = (await gitOk(repo, ['rev-parse', 'main'])).trim();
    const count = await commitCount(repo);
    const again = await put(server.url, '/same.txt', 'same bytes');
    assert.equal(again.status, 204);
    assert.equal(again.headers.etag, first.headers.etag);
    assert.equal(await commitCount(repo), count);
    assert.equal((await gitOk(repo, ['rev-parse', 'main'])).trim(), tip);
    // A different body does commit.
    assert.equal((await put(server.url, '/same.txt', 'other bytes')).status, 204);
    assert.equal(await commitCount(repo), count + 1);
  });

  it('answers 500 with an XML body for a corrupt loose object and keeps serving the rest', async () => {
    const server = await startServer(repo);
    assert.equal((await put(server.url, '/good.txt', 'good content')).status, 201);
    assert.equal((await put(server.url, '/bad.txt', 'bad content')).status, 201);
    const oid = (await gitOk(repo, ['rev-parse', 'main:bad.txt'])).trim();
    const object = join(repo, 'objects', oid.slice(0, 2), oid.slice(2));
    await chmod(object, 0o644); // loose objects are read-only (0444)
    await writeFile(object, Buffer.from('this is not a zlib stream, just garbage bytes'));

    const check = async (url: string, when: string) => {
      const bad = await http(url, '/bad.txt');
      assert.equal(bad.status, 500, `${when}: GET of the corrupt file`);
      assert.match(String(bad.headers['content-type']), /xml/, when);
      assert.match(bad.text, /^<\?xml[^]*<D:error[^]*<\/D:error>\s*$/, `${when}: ${bad.text}`);
      const good = await http(url, '/good.txt');
      assert.equal(good.status, 200, when);
      assert.equal(good.text, 'good content', when);
    };
    // The server that wrote the blob (its size is cached), then a fresh one (nothing cached).
    await check(server.url, 'same server');
    const listing = await http(server.url, '/', 'PROPFIND', undefined, { Depth: 1 });
    assert.equal(listing.status, 207);
    assert.match(listing.text, /good\.txt[^]*<\/D:multistatus>\s*$/);
    assert.equal(server.child.exitCode, null, 'the server is still up');
    await check((await startServer(repo)).url, 'restarted server');
  });

  it('lists a folder holding a corrupt blob whose size is not cached (complete 207)', async () => {
    const first = await startServer(repo);
    assert.equal((await put(first.url, '/good.txt', 'good content')).status, 201);
    assert.equal((await put(first.url, '/bad.txt', 'bad content')).status, 201);
    await killHard(first);
    const oid = (await gitOk(repo, ['rev-parse', 'main:bad.txt'])).trim();
    const object = join(repo, 'objects', oid.slice(0, 2), oid.slice(2));
    await chmod(object, 0o644);
    await writeFile(object, Buffer.from('garbage'));
    const server = await startServer(repo);
    const listing = await http(server.url, '/', 'PROPFIND', undefined, { Depth: 1 }).catch((err: Error) => ({ status: 0, text: `(${err.message})` }));
    assert.equal(listing.status, 207, listing.text);
    assert.match(listing.text, /good\.txt[^]*<\/D:multistatus>\s*$/, 'the multistatus is complete, not cut off at bad.txt');
    assert.equal((await http(server.url, '/', 'PROPFIND', undefined, { Depth: 0 })).status, 207, 'the server is still up');
  });
});

/**
 * Names git reserves (issue 10 #6): `.git` and what Windows (`git~1`, `.git.`, `.git::$INDEX_ALLOCATION`)
 * or macOS (`.g\u200cit`) take for it used to be stored (201), after which `git fsck --strict` said
 * `hasDotgit` and `git clone` stopped with "invalid path", while `gitdav fsck` said "0 broken". Now every
 * way of creating one is refused with 403 and a clear body, our rules agree with native git's fsck name
 * for name, and `gitdav fsck` reports the tree-entry problems native git wrote.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gitRefusesName, isDotgitName } from '../backends/git/reserved-names.js';
import { treeProblems } from '../backends/git/fsck-tree.js';
import { raw, startTestServer, type TestServer } from './helpers/server.js';
import { tool } from './helpers/tools.js';

const git = async (gitdir: string, args: string[], input?: string) => {
  const r = await tool('git', ['--git-dir', gitdir, ...args], input === undefined ? {} : { input });
  assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};

const REFUSED = ['.git', '.GIT', '.Git', 'git~1', 'GIT~1', '.git.', '.git ', '.git. .', '.git::$INDEX_ALLOCATION', '.git:stream', '.g\u200cit', '\u200d.git', '.gi\u200et', '.git\ufeff', 'a\\.git', 'x\\git~1.'];
const ALLOWED = ['.gitignore', '.github', '.gitx', 'x.git', 'git~2', 'git~10', 'git', '.g-it', '.gît', 'git~1x', '.git~1', 'a\\b'];

describe('git-reserved names', function () {
  this.timeout(60_000);

  describe('the rules agree with native git fsck, name for name', () => {
    let dir: string;
    before(async () => (dir = await mkdtemp(join(tmpdir(), 'gitdav-names-'))));
    after(() => rm(dir, { recursive: true, force: true }));

    it('every name is flagged hasDotgit by git fsck exactly when we refuse it', async () => {
      await git(dir, ['init', '--bare', '-q']);
      const blob = await git(dir, ['hash-object', '-w', '--stdin'], 'x');
      const trees = new Map<string, string>();
      for (const name of [...REFUSED, ...ALLOWED]) {
        // `mktree` does not check names: it writes what native git would refuse to check out.
        trees.set(await git(dir, ['mktree'], `100644 blob ${blob}\t${name}\n`), name);
      }
      const r = await tool('git', ['--git-dir', dir, 'fsck', '--strict', '--no-dangling']);
      const flagged = new Set([...r.stdout.matchAll(/tree ([0-9a-f]{40}): hasDotgit/g), ...r.stderr.matchAll(/tree ([0-9a-f]{40}): hasDotgit/g)].map((m) => trees.get(m[1]!)));
      for (const name of REFUSED) {
        assert.ok(flagged.has(name), `git flags ${JSON.stringify(name)}`);
        assert.ok(isDotgitName(name) && gitRefusesName(name), `we refuse ${JSON.stringify(name)}`);
      }
      for (const name of ALLOWED) {
        assert.ok(!flagged.has(name), `git accepts ${JSON.stringify(name)}`);
        assert.equal(gitRefusesName(name), null, `we accept ${JSON.stringify(name)}`);
      }
    });

    it('tree checks: zero-padded modes, bad modes, duplicates, order, symlinked .gitmodules', () => {
      const oid = Buffer.alloc(20, 1);
      const entry = (mode: string, name: string) => Buffer.concat([Buffer.from(`${mode} ${name}\0`), oid]);
      const ids = (...entries: Buffer[]) => treeProblems(Buffer.concat(entries)).map((p) => p.id).sort();
      assert.deepEqual(ids(entry('100644', 'a'), entry('40000', 'b')), []);
      assert.deepEqual(ids(entry('040000', 'a')), ['zeroPaddedFilemode']);
      assert.deepEqual(ids(entry('100600', 'a')), ['badFilemode']);
      assert.deepEqual(ids(entry('100644', 'a'), entry('100644', 'a')), ['duplicateEntries']);
      assert.deepEqual(ids(entry('100644', 'b'), entry('100644', 'a')), ['treeNotSorted']);
      assert.deepEqual(ids(entry('120000', '.gitmodules')), ['gitmodulesSymlink']);
      assert.deepEqual(ids(entry('120000', 'GITMOD~1')), ['gitmodulesSymlink']);
      assert.deepEqual(ids(entry('100644', '.GIT')), ['hasDotgit']);
      assert.deepEqual(ids(entry('100644', '..')), ['hasDotdot']);
      assert.deepEqual(ids(Buffer.from('100644 broken')), ['badTree']);
    });
  });

  describe('the server refuses them (git backend)', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ backend: 'git' });
      assert.equal((await raw(s.url, '/d', { method: 'MKCOL' })).status, 201);
      assert.equal((await raw(s.url, '/d/f.txt', { method: 'PUT', body: 'f' })).status, 201);
    });
    after(() => s.close());

    const url = (...segs: string[]) => '/' + segs.map(encodeURIComponent).join('/');
    const forbidden = async (method: string, path: string, headers: Record<string, string> = {}, body?: string) => {
      const r = await raw(s.url, path, { method, headers, body });
      assert.equal(r.status, 403, `${method} ${path}: ${r.status} ${r.text}`);
      assert.match(r.text, /reserved by git/, `${method} ${path}: the body says why`);
    };

    it('PUT, MKCOL and COPY/MOVE destinations of every reserved name: 403, nothing stored', async () => {
      const before = await git(s.root, ['rev-parse', 'main']);
      for (const name of REFUSED.filter((n) => !n.includes('\\'))) {
        await forbidden('PUT', url(name), {}, 'x');
        await forbidden('PUT', url('d', name), {}, 'x');
        // Below a reserved name that does not exist the parent is missing first (409); where native
        // git wrote one, the name is refused (see the fsck test below).
        const nested = await raw(s.url, url(name, 'config'), { method: 'PUT', body: '[core]' });
        assert.ok([403, 409].includes(nested.status), `PUT ${url(name, 'config')}: ${nested.status}`);
        await forbidden('MKCOL', url(name));
        await forbidden('MKCOL', url('d', name));
        await forbidden('COPY', url('d', 'f.txt'), { Destination: s.url + url(name) });
        await forbidden('MOVE', url('d'), { Destination: s.url + url(name) });
      }
      assert.equal(await git(s.root, ['rev-parse', 'main']), before, 'no commit was made');
      assert.equal((await raw(s.url, '/d/f.txt')).text, 'f');
    });

    it('similar names that git accepts are stored; git fsck --strict stays clean and git clone works', async () => {
      for (const name of ['.gitignore', '.github', 'x.git', 'git~2', '.gitx']) assert.equal((await raw(s.url, url(name), { method: 'PUT', body: name })).status, 201, name);
      const fsck = await tool('git', ['--git-dir', s.root, 'fsck', '--strict']);
      assert.equal(fsck.code, 0, fsck.stderr);
      assert.doesNotMatch(fsck.stdout + fsck.stderr, /hasDotgit|warning|error/);
      const clone = join(s.root, '..', `clone-${Date.now()}`);
      try {
        const r = await tool('git', ['clone', '-q', s.root, clone]);
        assert.equal(r.code, 0, r.stderr);
      } finally {
        await rm(clone, { recursive: true, force: true });
      }
    });
  });

  describe('gitdav fsck reports what native git wrote', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ backend: 'git' });
      assert.equal((await raw(s.url, '/ok.txt', { method: 'PUT', body: 'ok' })).status, 201);
    });
    after(() => s.close());
    const gitdavFsck = () => tool(process.execPath, [resolve('dist/lib/cli.js'), 'fsck', '--root', s.root]);

    it('a .GIT entry committed by native git: gitdav fsck says hasDotgit (exit 1); no PUT or PROPPATCH below it; DELETE removes it', async () => {
      assert.equal((await gitdavFsck()).code, 0);
      const gitdir = s.root;
      const blob = await git(gitdir, ['hash-object', '-w', '--stdin'], '[core]\n\tbare = false\n');
      const sub = await git(gitdir, ['mktree'], `100644 blob ${blob}\tconfig\n`);
      const listing = (await git(gitdir, ['ls-tree', 'main'])) + `\n040000 tree ${sub}\t.GIT\n`;
      const tree = await git(gitdir, ['mktree'], listing);
      const commit = await git(gitdir, ['commit-tree', tree, '-p', 'main', '-m', 'native git wrote .GIT']);
      await git(gitdir, ['update-ref', 'refs/heads/main', commit]);
      const r = await gitdavFsck();
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, new RegExp(`${tree} \\([0-9a-f]{12}:\\): hasDotgit: contains '.git'`));
      // Nothing more can be written below it; it can still be read and removed over WebDAV.
      assert.equal((await raw(s.url, '/.GIT/config')).status, 200);
      const put = await raw(s.url, '/.GIT/hooks', { method: 'PUT', body: 'x' });
      assert.equal(put.status, 403, put.text);
      assert.match(put.text, /reserved by git/);
      const patch = await raw(s.url, '/.GIT', { method: 'PROPPATCH', headers: { 'Content-Type': 'application/xml' }, body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>' });
      assert.equal(patch.status, 403, patch.text);
      assert.equal((await raw(s.url, '/.GIT', { method: 'MKCOL' })).status, 405, 'it exists');
      assert.equal((await raw(s.url, '/.GIT', { method: 'DELETE' })).status, 204);
      assert.doesNotMatch(await git(gitdir, ['ls-tree', 'main']), /\.GIT/, 'the tip is clean again');
      assert.equal((await gitdavFsck()).code, 1, 'history keeps the old tree, as git fsck would say too');
    });
  });
});

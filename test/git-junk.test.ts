/**
 * Junk files through a real `gitdav serve` (one process and two workers): `.DS_Store`, `._x`, `~$x.docx`,
 * `.~lock.x#` and `x.swp` work for the client (PUT, GET, PROPFIND, PROPPATCH, MOVE, DELETE; with their
 * folder) but never reach history: `git log --stat --all` and a `git clone` show none of them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { Readable } from 'node:stream';
import { openGitRepository, type GitRepository } from '../backends/git/repository.js';
import { folderHash } from '../backends/git/junk/store.js';
import type { Entry } from '../backends/backend.js';
import { tool } from './helpers/tools.js';
import { http, serveWorkers, stopAfterEach, type Served } from './workers/helpers.js';

const oneEach = new Agent({ keepAlive: false });
const JUNK = ['.DS_Store', '._x', '~$x.docx', '.~lock.x#', 'x.swp', 'Thumbs.db', 'desktop.ini', '.#notes.org', 'x.swx'];
const JUNK_IN_GIT = /DS_Store|\._x|~\$|\.~lock|\.swp|\.swx|Thumbs|desktop\.ini|\.#notes/;

const req = (s: Served, path: string, method = 'GET', body?: string, headers: Record<string, string> = {}) =>
  http(s.url, path.split('/').map(encodeURIComponent).join('/'), { method, body, headers, agent: oneEach });
const propfind = (s: Served, path: string, depth = '1') => req(s, path, 'PROPFIND', undefined, { Depth: depth });
const hrefs = (xml: string) => [...xml.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => decodeURIComponent(m[1]!));

/** `git log --stat --all` once it shows a commit whose subject mentions `marker` (bounded by steps). */
async function logOnceItShows(gitdir: string, marker: string): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const log = (await tool('git', ['--git-dir', gitdir, 'log', '--stat', '--all'])).stdout;
    if (log.includes(marker)) return log;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no commit with ${marker}`);
}

describe('junk files stay out of history (gitdav serve)', function () {
  this.timeout(180_000);
  let s: Served | undefined;
  stopAfterEach(() => s, () => (s = undefined));

  for (const workers of [1, 2]) {
    it(`PUT, GET, PROPFIND, PROPPATCH, MOVE, DELETE of junk work; git log and git clone show none (--workers ${workers})`, async () => {
      const root = await mkdtemp(join(tmpdir(), 'gitdav-junk-'));
      const gitdir = join(root, 'data');
      s = await serveWorkers(['--root', gitdir, '--backend', 'git', '--workers', String(workers), '--no-caldav', '--burst-window-ms', '0']);
      assert.equal((await req(s, '/d', 'MKCOL')).status, 201);
      assert.equal((await req(s, '/d/a.txt', 'PUT', 'a')).status, 201);
      const before = await propfind(s, '/d');
      for (const name of JUNK) {
        assert.equal((await req(s, `/d/${name}`, 'PUT', `junk ${name}`)).status, 201, name);
        assert.equal((await req(s, `/d/${name}`, 'PUT', `junk again ${name}`)).status, 204, name);
      }
      for (const name of JUNK) {
        const got = await req(s, `/d/${name}`);
        assert.equal(got.status, 200, name);
        assert.equal(got.body.toString(), `junk again ${name}`);
        assert.match(String(got.headers.etag), /^"junk-[0-9a-f]{64}"$/);
      }
      const listed = await propfind(s, '/d');
      assert.equal(listed.status, 207);
      assert.notEqual(listed.body.toString(), before.body.toString(), 'the cached listing was not served');
      for (const name of JUNK) assert.ok(hrefs(listed.body.toString()).includes(`/d/${name}`), `${name} listed`);
      // A range, a property, a conditional request.
      assert.equal((await req(s, '/d/x.swp', 'GET', undefined, { Range: 'bytes=0-3' })).body.toString(), 'junk');
      const pp = await req(s, '/d/~$x.docx', 'PROPPATCH', '<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x"><D:set><D:prop><Z:note>owner file</Z:note></D:prop></D:set></D:propertyupdate>');
      assert.equal(pp.status, 207);
      assert.match((await req(s, '/d/~$x.docx', 'PROPFIND', '<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>', { Depth: '0' })).body.toString(), /owner file/);
      const etag = String((await req(s, '/d/._x')).headers.etag);
      assert.equal((await req(s, '/d/._x', 'PUT', 'no', { 'If-Match': '"junk-0"' })).status, 412);
      assert.equal((await req(s, '/d/._x', 'GET', undefined, { 'If-None-Match': etag })).status, 304);
      // MOVE within junk, across (junk → ordinary name and back), DELETE.
      assert.equal((await req(s, '/d/x.swp', 'MOVE', undefined, { Destination: `${s.url}/d/y.swp` })).status, 201);
      assert.equal((await req(s, '/d/x.swp')).status, 404);
      // A conditional MOVE of a junk source: its ETag is checked where the file is (the junk store).
      const notesTag = String((await req(s, '/d/.#notes.org', 'HEAD')).headers.etag);
      assert.equal((await req(s, '/d/.#notes.org', 'MOVE', undefined, { Destination: `${s.url}/d/notes.org`, 'If-Match': '"junk-0"' })).status, 412);
      assert.equal((await req(s, '/d/.#notes.org', 'MOVE', undefined, { Destination: `${s.url}/d/notes.org`, 'If-Match': notesTag })).status, 201);
      assert.equal((await req(s, '/d/notes.org')).body.toString(), 'junk again .#notes.org');
      assert.equal((await req(s, '/d/._x', 'DELETE')).status, 204);
      assert.equal((await req(s, '/d/._x')).status, 404);
      assert.equal((await req(s, '/nowhere/.DS_Store', 'PUT', 'x')).status, 409, 'the folder must exist');
      // A folder with junk, moved and then copied: its junk goes along; deleted: its junk goes.
      assert.equal((await req(s, '/d', 'MOVE', undefined, { Destination: `${s.url}/e` })).status, 201);
      assert.equal((await req(s, '/e/.DS_Store')).body.toString(), 'junk again .DS_Store');
      assert.equal((await req(s, '/d/.DS_Store')).status, 404);
      assert.equal((await req(s, '/e', 'COPY', undefined, { Destination: `${s.url}/f` })).status, 201);
      assert.equal((await req(s, '/f/Thumbs.db')).body.toString(), 'junk again Thumbs.db');
      assert.equal((await req(s, '/f', 'DELETE')).status, 204);
      assert.equal((await req(s, '/f/Thumbs.db')).status, 404);
      assert.equal((await req(s, '/f', 'MKCOL')).status, 201);
      assert.equal((await req(s, '/f/Thumbs.db')).status, 404, 'a new folder of that name has none of the old junk');
      assert.equal((await req(s, '/e/done.txt', 'PUT', 'marker')).status, 201);
      const log = await logOnceItShows(gitdir, 'done.txt');
      assert.match(log, /a\.txt/);
      assert.match(log, /notes\.org/, 'a junk file moved to an ordinary name is committed');
      assert.doesNotMatch(log, JUNK_IN_GIT);
      const clone = join(root, 'clone');
      await tool('git', ['clone', '-q', gitdir, clone]);
      const files = (await readdir(join(clone, 'e'))).sort();
      assert.deepEqual(files, ['.davprops', 'a.txt', 'done.txt', 'notes.org']);
      assert.deepEqual((await readdir(join(gitdir, 'gitdav', 'junk', 'content', folderHash('/e')))).length, JUNK.length - 2, 'content of removed junk is gone (._x deleted, .#notes.org moved out)');
    });
  }

  it('a corrupt junk index: junk files are taken as none (said in the log), and writing works again', async () => {
    const root = await mkdtemp(join(tmpdir(), 'gitdav-junk-'));
    const gitdir = join(root, 'data');
    s = await serveWorkers(['--root', gitdir, '--backend', 'git', '--workers', '1', '--no-caldav', '--burst-window-ms', '0']);
    assert.equal((await req(s, '/.DS_Store', 'PUT', 'one')).status, 201);
    await writeFile(join(gitdir, 'gitdav', 'junk', 'index', `${folderHash('/')}.json`), '{"format":2,"folder":"/","files":{"/.DS_Store":{"id":"nope"');
    const listed = await propfind(s, '/');
    assert.equal(listed.status, 207);
    assert.ok(!hrefs(listed.body.toString()).includes('/.DS_Store'));
    assert.equal((await req(s, '/.DS_Store')).status, 404);
    assert.equal((await req(s, '/.DS_Store', 'PUT', 'two')).status, 201);
    assert.equal((await req(s, '/.DS_Store')).body.toString(), 'two');
    assert.match(s.output(), /junk index/);
  });

  it('ignore in the config file replaces the default list', async () => {
    const root = await mkdtemp(join(tmpdir(), 'gitdav-junk-'));
    const gitdir = join(root, 'data');
    const config = join(root, 'gitdav.json');
    await writeFile(config, JSON.stringify({ ignore: ['*.tmp', '!keep.tmp'] }));
    s = await serveWorkers(['--config', config, '--root', gitdir, '--backend', 'git', '--workers', '1', '--no-caldav', '--burst-window-ms', '0']);
    for (const name of ['a.tmp', 'keep.tmp', '.DS_Store']) assert.equal((await req(s, `/${name}`, 'PUT', name)).status, 201);
    assert.equal((await req(s, '/z.txt', 'PUT', 'marker')).status, 201);
    const log = await logOnceItShows(gitdir, 'z.txt');
    assert.doesNotMatch(log, /a\.tmp/);
    assert.match(log, /keep\.tmp/);
    assert.match(log, /\.DS_Store/, 'the default list is replaced');
  });
});

describe('junk layer of a repository (openGitRepository, in process)', () => {
  let root: string;
  let repo: GitRepository;
  const body = (text: string) => Readable.from([Buffer.from(text)]);
  const text = async (r: Readable) => {
    let out = '';
    for await (const c of r) out += c;
    return out;
  };
  const names = async (r: GitRepository, dir: string) => {
    const out: string[] = [];
    for await (const e of r.list(dir)) out.push(e.path);
    return out.sort();
  };
  const tree = async () => (await tool('git', ['--git-dir', root, 'ls-tree', '-r', '--name-only', 'HEAD'])).stdout.split('\n').filter(Boolean);
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gitdav-junk-'));
    repo = await openGitRepository({ root, burstWindowMs: 0 });
  });
  afterEach(() => repo.close());

  it('listingVersion changes with every junk change, so a cached listing is never stale', async () => {
    await repo.mkcol('/d');
    const seen = new Set<string | null>([await repo.listingVersion('/d')]);
    await repo.write('/d/.DS_Store', body('one'));
    seen.add(await repo.listingVersion('/d'));
    await repo.write('/d/.DS_Store', body('two'));
    seen.add(await repo.listingVersion('/d'));
    await repo.patchProps('/d/.DS_Store', [{ op: 'set', name: '{urn:x}a', value: '<a xmlns="urn:x">1</a>' }]);
    seen.add(await repo.listingVersion('/d'));
    await repo.remove('/d/.DS_Store');
    seen.add(await repo.listingVersion('/d'));
    assert.equal(seen.size, 5);
    assert.ok(![...seen].includes(null));
  });

  it('an ordinary file moved to a junk name leaves the tree; a second repository object (another process) sees the junk', async () => {
    await repo.write('/a.txt', body('text'));
    await repo.move('/a.txt', '/a.txt.swp', { overwrite: false });
    assert.deepEqual(await tree(), []);
    assert.equal(await text(await repo.read('/a.txt.swp')), 'text');
    const other = await openGitRepository({ root, burstWindowMs: 0 });
    try {
      assert.deepEqual(await names(other, '/'), ['/.history', '/a.txt.swp']);
      await other.write('/._b', body('bee'));
      assert.deepEqual(await names(repo, '/'), ['/._b', '/.history', '/a.txt.swp']);
    } finally {
      await other.close();
    }
    assert.equal(await text(await repo.read('/._b')), 'bee');
  });

  it('a committed file with a junk name (from before, or pushed) is shown, stands behind a junk write, and DELETE removes both', async () => {
    await repo.close();
    repo = await openGitRepository({ root, ignore: [], burstWindowMs: 0 }); // nothing is junk: .DS_Store is committed
    await repo.write('/.DS_Store', body('committed'));
    assert.deepEqual(await tree(), ['.DS_Store']);
    await repo.close();
    repo = await openGitRepository({ root, burstWindowMs: 0 });
    assert.equal(await text(await repo.read('/.DS_Store')), 'committed');
    assert.ok(await repo.versionOf('/.DS_Store'), 'the committed file has a version');
    await repo.write('/.DS_Store', body('junk'));
    assert.equal(await repo.versionOf('/.DS_Store'), null, 'no version describes the junk bytes served');
    assert.equal(await text(await repo.read('/.DS_Store')), 'junk');
    assert.deepEqual(await names(repo, '/'), ['/.DS_Store', '/.history']);
    await repo.remove('/.DS_Store');
    assert.equal(await repo.stat('/.DS_Store'), null);
    assert.deepEqual(await tree(), []);
  });

  it('a folder named like junk is an ordinary folder; MKCOL over a junk file is refused', async () => {
    await repo.mkcol('/._d');
    assert.deepEqual(await tree(), ['._d/.davprops']);
    await repo.write('/x.swp', body('s'));
    await assert.rejects(repo.mkcol('/x.swp'), /AlreadyExists/);
    await assert.rejects(repo.write('/nowhere/x.swp', body('s')), /ParentMissing/);
  });
  it('junk of a folder that is gone is not served, and a new folder of that name starts without it', async () => {
    await repo.mkcol('/d');
    await repo.write('/d/.DS_Store', body('old'));
    const other = await openGitRepository({ root, ignore: [], burstWindowMs: 0 }); // a push, or a server with other rules
    try {
      await other.remove('/d');
    } finally {
      await other.close();
    }
    assert.equal(await repo.stat('/d'), null);
    assert.equal(await repo.stat('/d/.DS_Store'), null);
    await assert.rejects(repo.read('/d/.DS_Store'), /NotFound/);
    await repo.mkcol('/d');
    assert.deepEqual(await names(repo, '/d'), []);
    assert.equal(await repo.stat('/d/.DS_Store'), null);
  });

  it('junk stored under other rules is neither served nor listed, and does not hide the live file', async () => {
    await repo.close();
    repo = await openGitRepository({ root, ignore: ['*.log'], burstWindowMs: 0 });
    await repo.write('/a.log', body('as junk'));
    await repo.close();
    repo = await openGitRepository({ root, burstWindowMs: 0 }); // the default rules: *.log is ordinary
    await repo.write('/a.log', body('committed'));
    const listed: Entry[] = [];
    for await (const e of repo.list('/')) listed.push(e);
    const entry = listed.find((e) => e.path === '/a.log')!;
    assert.deepEqual(entry, await repo.stat('/a.log'));
    assert.doesNotMatch(String(entry.etag), /junk/);
    assert.equal(await text(await repo.read('/a.log')), 'committed');
    await repo.write('/b.txt', body('b'));
    await repo.copy('/b.txt', '/a.log', { overwrite: false, depth: 'infinity' }).catch((e) => assert.match(String(e), /AlreadyExists/));
    assert.deepEqual(await tree(), ['a.log', 'b.txt']);
  });

  it('a junk file moved onto a folder with Overwrite: T replaces it, as an ordinary file does', async () => {
    await repo.mkcol('/x');
    await repo.write('/x/in.txt', body('in'));
    await repo.write('/._a', body('junk'));
    await repo.move('/._a', '/x', { overwrite: true });
    assert.equal((await repo.stat('/x'))?.kind, 'file');
    assert.equal(await text(await repo.read('/x')), 'junk');
    assert.deepEqual(await tree(), ['x']);
  });

  it('a junk MOVE onto a junk-named folder removes nothing when the request\'s check fails', async () => {
    await repo.mkcol('/x.swp');
    await repo.write('/x.swp/in.txt', body('in'));
    await repo.write('/a.swp', body('junk'));
    const guard = async () => {
      throw new Error('412 by the guard');
    };
    await assert.rejects(repo.move('/a.swp', '/x.swp', { overwrite: true, guard }), /412 by the guard/);
    assert.equal((await repo.stat('/x.swp'))?.kind, 'collection');
    assert.equal(await text(await repo.read('/x.swp/in.txt')), 'in');
    await repo.move('/a.swp', '/x.swp', { overwrite: true });
    assert.equal(await text(await repo.read('/x.swp')), 'junk');
  });

  it('a read by entry gives the bytes that entry names, never other bytes', async () => {
    await repo.write('/._a', body('one'));
    const first = (await repo.stat('/._a'))!;
    await repo.write('/._a', body('two'));
    await assert.rejects(repo.read('/._a', undefined, first), (e: Error & { code?: string }) => e.code === 'NotFound', 'content one is gone (no entry names it): never other bytes under its entry');
    assert.equal(await text(await repo.read('/._a')), 'two');
    await repo.write('/._b', body('one'));
    await repo.write('/._a', body('one'));
    const one = (await repo.stat('/._a'))!;
    await repo.write('/._a', body('three'));
    assert.equal(await text(await repo.read('/._a', undefined, one)), 'one', 'named by /._b still: read as the entry says');
    const opened = await repo.openRead('/._a');
    assert.equal(opened?.entry.size, 5);
    opened?.close();
  });
  it('a folder moved while clients look at its junk keeps it (no lookup drops junk the move is carrying)', async () => {
    await repo.mkcol('/d');
    await repo.write('/d/.DS_Store', body('finder'));
    // A client's lookup lands right after the tree's move, before the junk has followed.
    const live = repo.live as unknown as { move: (...a: unknown[]) => Promise<unknown> };
    const treeMove = live.move.bind(repo.live);
    live.move = async (...a: unknown[]) => {
      const r = await treeMove(...a);
      assert.equal(await repo.stat('/d/.DS_Store'), null, 'not served: its folder is gone');
      await new Promise((ok) => setTimeout(ok, 50)); // time enough for a drop to run, if it could
      return r;
    };
    await repo.move('/d', '/e', { overwrite: false });
    await repo.stat('/d/.DS_Store');
    assert.equal(await text(await repo.read('/e/.DS_Store')), 'finder');
  });
});

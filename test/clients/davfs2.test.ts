/**
 * davfs2 (Debian): a real FUSE mount, used with ordinary file operations. davfs2 LOCKs before it
 * writes and checks ETags, so this exercises class 2 the way a mounted drive does.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, readdir, rename, rm, writeFile, appendFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend, storageOf } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool, tool } from '../helpers/tools.js';
import { serveGitNow, type GitServed } from '../helpers/history.js';
import { raw } from '../helpers/server.js';
import { mountDavfs } from '../helpers/davfs2.js';

forEachBackend((kind) => describe(`real client: davfs2 mount (${kind})`, function () {
  this.timeout(120_000);
  let s: TestServer;
  let base: string;
  let mnt: string;
  let mounted = false;

  before(async function () {
    requireTool(this, '/usr/sbin/mount.davfs', 'davfs2');
    if (!existsSync('/dev/fuse') || process.getuid?.() !== 0) this.skip(); // a mount needs FUSE and root
    s = await startTestServer({ backend: kind });
    base = await mkdtemp(join(tmpdir(), 'gitdav-davfs-'));
    mnt = await mountDavfs(s.url, base, { locks: true });
    mounted = true;
  });
  after(async () => {
    if (mounted) await tool('/bin/umount', [mnt]);
    await s?.close();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('writes, lists, renames, appends and deletes through the mount; the server sees each change', async () => {
    await mkdir(join(mnt, 'docs'));
    const blob = randomBytes(2_000_000);
    await writeFile(join(mnt, 'docs', 'blob.bin'), blob);
    await writeFile(join(mnt, 'docs', 'note.txt'), 'line 1\n');
    await appendFile(join(mnt, 'docs', 'note.txt'), 'line 2\n');
    await rename(join(mnt, 'docs', 'note.txt'), join(mnt, 'docs', 'renamed.txt'));
    assert.deepEqual((await readdir(join(mnt, 'docs'))).sort(), ['blob.bin', 'renamed.txt']);
    assert.deepEqual(await readFile(join(mnt, 'docs', 'blob.bin')), blob);
    await rm(join(mnt, 'docs', 'blob.bin'));
    // davfs2 uploads on close; a sync of the mount flushes what is pending before we look at the server side
    await tool('/bin/sync', []);
    // git stores no empty folders: MKCOL gave docs a placeholder sidecar (`.davprops` holding `{}`),
    // which stays; the folder backend writes a sidecar only for properties (davfs2 sets none).
    const expected = kind === 'git' ? ['.davprops', 'renamed.txt'] : ['renamed.txt'];
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const names = await storageOf(kind, s.root).names('/docs').catch(() => []);
      if (names.join('/') === expected.join('/')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(await storageOf(kind, s.root).text('/docs/renamed.txt'), 'line 1\nline 2\n');
    assert.deepEqual(await storageOf(kind, s.root).names('/docs'), expected);
  });

  it('junk files (.DS_Store, ._x, ~$x.docx, .~lock.x#, x.swp) work on the mount and stay out of git history', async () => {
    const junk = ['.DS_Store', '._x', '~$x.docx', '.~lock.x#', 'x.swp'];
    await mkdir(join(mnt, 'j'));
    await writeFile(join(mnt, 'j', 'real.txt'), 'real\n');
    for (const name of junk) await writeFile(join(mnt, 'j', name), `junk ${name}\n`);
    await appendFile(join(mnt, 'j', 'x.swp'), 'more\n');
    await tool('/bin/sync', []);
    assert.deepEqual((await readdir(join(mnt, 'j'))).sort(), [...junk, 'real.txt'].sort());
    for (const name of junk.filter((n) => n !== 'x.swp')) assert.equal(await readFile(join(mnt, 'j', name), 'utf8'), `junk ${name}\n`);
    assert.equal(await readFile(join(mnt, 'j', 'x.swp'), 'utf8'), 'junk x.swp\nmore\n');
    await rm(join(mnt, 'j', '._x'));
    await rm(join(mnt, 'j', '~$x.docx'));
    await tool('/bin/sync', []);
    assert.deepEqual((await readdir(join(mnt, 'j'))).sort(), ['.DS_Store', '.~lock.x#', 'real.txt', 'x.swp']);
    if (kind !== 'git') return;
    // The server has the ordinary file once davfs2 uploaded it (bounded by steps, not by time).
    let names: string[] = [];
    for (let i = 0; i < 200 && !names.includes('real.txt'); i++) {
      names = await storageOf(kind, s.root).names('/j').catch(() => []);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(names, ['.davprops', 'real.txt']);
    const log = (await tool('git', ['--git-dir', s.root, 'log', '--stat', '--all'])).stdout;
    assert.match(log, /j\/real\.txt/);
    assert.doesNotMatch(log, /DS_Store|\._x|~\$|\.~lock|\.swp/);
  });
}));

describe('real client: davfs2 mount of history (git)', function () {
  this.timeout(120_000);
  let s: GitServed;
  let base: string;
  let mnt: string;
  let mounted = false;

  before(async function () {
    requireTool(this, '/usr/sbin/mount.davfs', 'davfs2');
    if (!existsSync('/dev/fuse') || process.getuid?.() !== 0) this.skip();
    s = await serveGitNow();
    for (const d of ['/tree', '/tree/d4', '/tree/d4/b']) await raw(s.url, d, { method: 'MKCOL' });
    await raw(s.url, '/tree/d4/b/x.txt', { method: 'PUT', body: 'x one\n' });
    await raw(s.url, '/tree/d4/keep.txt', { method: 'PUT', body: 'keep\n' });
    await raw(s.url, '/tree/d4/b', { method: 'DELETE' });
    base = await mkdtemp(join(tmpdir(), 'gitdav-davfs-hist-'));
    mnt = await mountDavfs(s.url, base, { locks: false });
    mounted = true;
  });
  after(async () => {
    if (mounted) await tool('/bin/umount', [mnt]);
    await s?.close();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('ls of a folder that is gone, in .history/versions/, lists its members; its parent lists it', async () => {
    assert.deepEqual((await readdir(join(mnt, '.history', 'versions', 'tree', 'd4'))).sort(), ['b', 'keep.txt']);
    assert.deepEqual(await readdir(join(mnt, '.history', 'versions', 'tree', 'd4', 'b')), ['x.txt']);
    const [version] = await readdir(join(mnt, '.history', 'versions', 'tree', 'd4', 'b', 'x.txt'));
    assert.equal(await readFile(join(mnt, '.history', 'versions', 'tree', 'd4', 'b', 'x.txt', version!), 'utf8'), 'x one\n');
    assert.equal((await readdir(join(mnt, '.history', 'deleted'))).length, 1);
  });
});

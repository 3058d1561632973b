/**
 * A git repository on a full disk (issue 10 #8): the server used to fail to start (it wrote a blob at
 * every start), so nothing could even be read. Now it starts without writing, serves reads, refuses
 * writes with 507 (nothing lost, the repository sound), and works again once space is freed. Needs a
 * small tmpfs, so root (CI runs as root); skipped otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { propfindBody, raw, startTestServer, XML, type TestServer } from './helpers/server.js';
import { tool } from './helpers/tools.js';

/** Fills the filesystem: big writes, then smaller ones, until not even one byte fits. */
async function fill(file: string): Promise<void> {
  const fh = await open(file, 'w');
  try {
    for (const size of [1 << 20, 1 << 16, 1 << 12, 1 << 8, 1]) {
      const chunk = Buffer.alloc(size, 0x61);
      for (;;) {
        try {
          const { bytesWritten } = await fh.write(chunk);
          if (bytesWritten < size) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    await fh.close().catch(() => undefined);
  }
}

describe('git backend on a full disk', function () {
  this.timeout(60_000);
  let mount: string;
  let repo: string;
  let s: TestServer | undefined;
  let journaledMkcol = false;
  let journaledDelete = false;

  before(async function () {
    if (process.getuid?.() !== 0) return this.skip(); // mounting a small tmpfs needs root
    mount = await mkdtemp(join(tmpdir(), 'gitdav-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mount]);
    } catch {
      await rmdir(mount);
      return this.skip(); // root, but no CAP_SYS_ADMIN (an unprivileged container)
    }
    repo = join(mount, 'repo');
    await mkdir(repo);
    s = await startTestServer({ root: repo, backend: 'git', caldav: true });
    assert.equal((await raw(s.url, '/docs', { method: 'MKCOL' })).status, 201);
    assert.equal((await raw(s.url, '/docs/keep.txt', { method: 'PUT', body: 'keep me' })).status, 201);
    assert.equal((await raw(s.url, '/docs/old.txt', { method: 'PUT', body: 'old' })).status, 201);
    await s.close();
    s = undefined;
    // As for a repository last served before sync tokens were signed: the key is still to be made.
    await rm(join(repo, 'gitdav', 'sync-token.key'));
    await fill(join(mount, 'filler'));
  });

  after(async () => {
    await s?.close();
    if (mount) {
      execFileSync('umount', [mount]);
      await rmdir(mount);
    }
  });

  it('starts, serves GET and PROPFIND, refuses writes with 507 and loses nothing', async () => {
    s = await startTestServer({ root: repo, backend: 'git', caldav: true });
    assert.equal((await raw(s.url, '/docs/keep.txt')).text, 'keep me');
    const list = await raw(s.url, '/docs/', { method: 'PROPFIND', body: propfindBody('getetag'), headers: { ...XML, Depth: '1' } });
    assert.equal(list.status, 207);
    assert.match(list.text, /keep\.txt/);
    // The sync-token key cannot be made on a full disk: that property is missing, the rest answers.
    const token = await raw(s.url, '/docs/', { method: 'PROPFIND', body: propfindBody('sync-token', 'getetag'), headers: { ...XML, Depth: '0' } });
    assert.equal(token.status, 207, token.text);
    assert.match(token.text, /getetag>"/);
    assert.doesNotMatch(token.text, /sync-token>urn/);
    const tip = (await tool('git', ['--git-dir', repo, 'rev-parse', 'main'])).stdout.trim();

    const body = 'x'.repeat(100_000);
    const framings: Array<Record<string, string>> = [{}, { 'Transfer-Encoding': 'chunked' }];
    for (const headers of framings) {
      const put = await raw(s.url, '/docs/keep.txt', { method: 'PUT', body, headers });
      assert.equal(put.status, 507, `PUT ${JSON.stringify(headers)}: ${put.status} ${put.text}`);
      assert.match(put.text, /no space/i);
    }
    // A write that needs no new object and whose journal record fits the journal file's last page is
    // durable, so it is acknowledged (and committed once there is room); otherwise 507 as for a PUT.
    const mkcol = await raw(s.url, '/docs/new', { method: 'MKCOL' });
    assert.ok([201, 507].includes(mkcol.status), `MKCOL: ${mkcol.status} ${mkcol.text}`);
    journaledMkcol = mkcol.status === 201;
    const del = await raw(s.url, '/docs/old.txt', { method: 'DELETE' });
    assert.ok([204, 507].includes(del.status), del.text);
    if (del.status === 507) assert.match(del.text, /history keeps/, 'says why deleting does not help on git');
    journaledDelete = del.status === 204;

    assert.equal((await raw(s.url, '/docs/keep.txt')).text, 'keep me');
    assert.equal((await raw(s.url, '/docs/old.txt')).status, journaledDelete ? 404 : 200);
    assert.equal((await tool('git', ['--git-dir', repo, 'rev-parse', 'main'])).stdout.trim(), tip, 'the branch did not move');
  });

  it('after space is freed outside, writes work again and git fsck --strict is clean', async () => {
    await rm(join(mount, 'filler'));
    assert.equal((await raw(s!.url, '/docs/keep.txt', { method: 'PUT', body: 'kept and changed' })).status, 204);
    if (!journaledDelete) assert.equal((await raw(s!.url, '/docs/old.txt', { method: 'DELETE' })).status, 204);
    assert.equal((await raw(s!.url, '/docs/keep.txt')).text, 'kept and changed');
    const token = await raw(s!.url, '/docs/', { method: 'PROPFIND', body: propfindBody('sync-token'), headers: { ...XML, Depth: '0' } });
    assert.match(token.text, /sync-token>urn:x-gitdav:sync:/);
    // What the journal acknowledged on the full disk is committed now.
    const files = (await tool('git', ['--git-dir', repo, 'ls-tree', '-r', '--name-only', 'main'])).stdout;
    assert.doesNotMatch(files, /docs\/old\.txt/);
    if (journaledMkcol) assert.match(files, /docs\/new\//);
    const fsck = await tool('git', ['--git-dir', repo, 'fsck', '--strict']);
    assert.equal(fsck.code, 0, fsck.stderr);
  });
});

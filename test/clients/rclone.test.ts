/** rclone (Debian) as a WebDAV client without a mount, the way `rclone sync` users drive us. */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool, tool } from '../helpers/tools.js';

forEachBackend((kind) => describe(`real client: rclone (${kind})`, function () {
  this.timeout(120_000);
  let s: TestServer;
  let local: string;
  let remote: string[];
  const rclone = (...args: string[]) => tool('/usr/bin/rclone', [...args, ...remote, '--config', '/dev/null', '-q']);

  before(async function () {
    requireTool(this, '/usr/bin/rclone', 'rclone');
    s = await startTestServer({ backend: kind });
    remote = ['--webdav-url', s.url + '/', '--webdav-vendor', 'other'];
    local = await mkdtemp(join(tmpdir(), 'gitdav-rclone-'));
    await mkdir(join(local, 'src', 'sub', 'deeper'), { recursive: true });
    await writeFile(join(local, 'src', 'big.bin'), randomBytes(5_000_000));
    await writeFile(join(local, 'src', 'sub', 'hello.txt'), 'hello');
    await writeFile(join(local, 'src', 'sub', 'deeper', 'weird name #1 ü & [x].txt'), 'weird');
  });
  after(async () => {
    await s?.close();
    if (local) await rm(local, { recursive: true, force: true });
  });

  it('copies a tree up, lists it, and `rclone check` finds every file identical', async () => {
    const up = await rclone('copy', join(local, 'src'), ':webdav:backup');
    assert.equal(up.code, 0, up.stderr);
    const ls = await rclone('lsf', '-R', ':webdav:backup');
    assert.deepEqual(ls.stdout.trim().split('\n').sort(), ['big.bin', 'sub/', 'sub/deeper/', 'sub/deeper/weird name #1 ü & [x].txt', 'sub/hello.txt']);
    const check = await rclone('check', '--download', join(local, 'src'), ':webdav:backup');
    assert.equal(check.code, 0, check.stderr);
  });

  it('moves, downloads, deletes and purges', async () => {
    assert.equal((await rclone('moveto', ':webdav:backup/sub/hello.txt', ':webdav:backup/hello-moved.txt')).code, 0);
    assert.equal((await rclone('copy', ':webdav:backup', join(local, 'down'))).code, 0);
    assert.equal(await readFile(join(local, 'down', 'hello-moved.txt'), 'utf8'), 'hello');
    assert.equal((await rclone('delete', ':webdav:backup/big.bin')).code, 0);
    assert.equal((await rclone('purge', ':webdav:backup')).code, 0);
    // The git backend's root always lists its read-only history folder; purge leaves it alone.
    assert.equal((await rclone('lsf', ':webdav:')).stdout.trim(), kind === 'git' ? '.history/' : '');
  });
}));

import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tool } from './tools.js';

/**
 * Mounts a server's root with davfs2 at `<base>/mnt` and returns that path (unmount with `umount`). Its own
 * config: buf_size 64 works around "Invalid argument" on this kernel; no cache, uploads at once; locks
 * as asked (davfs2 locks a file it writes unless use_locks is 0). Needs FUSE and root.
 */
export async function mountDavfs(url: string, base: string, options: { locks: boolean }): Promise<string> {
  const mnt = join(base, 'mnt');
  await mkdir(mnt, { recursive: true });
  const conf = join(base, 'davfs2.conf');
  await writeFile(conf, `buf_size 64\nuse_locks ${options.locks ? 1 : 0}\ncache_size 1\ndelay_upload 0\nsecrets ${join(base, 'secrets')}\n`);
  await writeFile(join(base, 'secrets'), `${url}/ user pass\n`, { mode: 0o600 });
  const r = await tool('/usr/sbin/mount.davfs', [`${url}/`, mnt, '-o', `conf=${conf}`], { input: '' });
  assert.equal(r.code, 0, `mount.davfs failed: ${r.stderr}`);
  return mnt;
}

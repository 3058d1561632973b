/**
 * Who holds a folder's lock (backends/fs/folder-lock.ts; review finding 5): a pid alone is not an
 * identity (two containers on one volume are both pid 1; pids are reused), so the lock names the
 * process's start time, the boot and the pid namespace. Concurrent starters on a stale lock end with
 * one holder; release removes only the file this process wrote, and a re-open meanwhile keeps its own.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readlink, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FolderInUseError, formatHolder, holdFolder, LOCK_NAME, self } from '../backends/fs/folder-lock.js';

const present = (file: string) => lstat(file).then(() => true, () => false);

/** A pid that certainly belongs to no running process: one that just exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

describe('who holds a folder lock (folder backend)', function () {
  this.timeout(60_000);
  let dir: string;
  let stateDir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-holder-'));
    stateDir = join(dir, 'state');
    file = join(stateDir, LOCK_NAME);
    await mkdir(stateDir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const lockedBy = async (content: string) => {
    await rm(file, { force: true });
    await symlink(content, file);
  };

  it('our own pid with another start time: a previous life in our namespace is taken over; another namespace (a second container, also pid 1) is never', async () => {
    const me = self();
    // Another container: same boot, same pid (1 there, ours here), another pid namespace.
    await lockedBy(formatHolder({ ...me, ns: '1' }));
    await assert.rejects(holdFolder(stateDir, dir), (err: Error) => err instanceof FolderInUseError && /another pid namespace/.test(err.message));
    await lockedBy(formatHolder({ ...me, start: '1', ns: '1' }));
    await assert.rejects(holdFolder(stateDir, dir), FolderInUseError);
    assert.ok(await present(file), 'the other container keeps its lock');
    // This pid in this namespace, started at another time: a process before us that is gone.
    await lockedBy(formatHolder({ ...me, start: '1' }));
    const h = await holdFolder(stateDir, dir);
    assert.match(await readlink(file), new RegExp(`^${process.pid} ${me.start} `));
    await h.release();
  });

  it('a reused pid (a live process started at another time), or a lock from before a reboot, is stale', async () => {
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await lockedBy(formatHolder({ ...self(), pid: live.pid!, start: '1' }));
      await (await holdFolder(stateDir, dir)).release();
      await lockedBy(formatHolder({ ...self(), pid: live.pid!, boot: 'another-boot' }));
      await (await holdFolder(stateDir, dir)).release();
    } finally {
      live.kill('SIGKILL');
    }
  });

  it('three starters in one process on one stale lock (the folder reached by three names): one holder', async () => {
    for (const alias of ['a1', 'a2']) await symlink(stateDir, join(dir, alias));
    await lockedBy(formatHolder({ ...self(), pid: await deadPid() }));
    const results = await Promise.allSettled([stateDir, join(dir, 'a1'), join(dir, 'a2')].map((d) => holdFolder(d, dir)));
    const holders = results.filter((r) => r.status === 'fulfilled');
    assert.equal(holders.length, 1, JSON.stringify(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'held'))));
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof FolderInUseError, String(r.reason));
    await (holders[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof holdFolder>>>).value.release();
    assert.equal(await present(file), false);
  });

  it('four processes starting at once on one stale lock: exactly one holds it (3 rounds)', async () => {
    const script = `import(${JSON.stringify(resolve('dist/backends/fs/folder-lock.js'))}).then((m) => m.holdFolder(${JSON.stringify(stateDir)}, 'x')).then(() => { console.log('held'); setTimeout(() => process.exit(0), 1500); }, (e) => { console.log(e.name); process.exit(3); });`;
    for (let round = 0; round < 3; round++) {
      await lockedBy(formatHolder({ ...self(), pid: await deadPid() }));
      const outs = await Promise.all(
        Array.from({ length: 4 }, () => {
          const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          child.stdout.on('data', (d) => (out += d));
          return new Promise<string>((r) => child.on('exit', () => r(out.trim())));
        }),
      );
      assert.equal(outs.filter((o) => o === 'held').length, 1, `round ${round}: ${outs.join(', ')}`);
      assert.equal(outs.filter((o) => o === 'FolderInUseError').length, 3, outs.join(', '));
    }
  });

  it('release removes only the file this process wrote', async () => {
    const h = await holdFolder(stateDir, dir);
    // Someone removed our lock by hand and another server took the folder.
    await lockedBy(formatHolder({ ...self(), pid: 1, start: '12345' }));
    await h.release();
    assert.ok(await present(file), 'the other server’s lock stays');
    assert.match(await readlink(file), /^1 12345 /);
  });

  it('a re-open while the last holder releases keeps a lock file of its own', async () => {
    for (let i = 0; i < 20; i++) {
      const h1 = await holdFolder(stateDir, dir);
      const released = h1.release();
      const h2 = await holdFolder(stateDir, dir);
      await released;
      assert.ok(await present(file), `round ${i}: the new holder has its file`);
      await h2.release();
      assert.equal(await present(file), false);
    }
  });
});

/**
 * Waiting for a lock file (backends/util/lock-file.ts): a waiter sleeps until the holder's file goes
 * (fs.watch) or 10 ms pass, never spinning — counted in wait rounds, not time.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockFile } from '../../backends/util/lock-file.js';

describe('lock file: waiting for a holder', function () {
  this.timeout(30_000);
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'gitdav-lockwait-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('a second holder on the same file (another process, or another object) waits in few rounds and gets it once released', async () => {
    const file = join(dir, 'x.lock');
    const holder = new LockFile(file);
    const waiter = new LockFile(file);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = holder.run(() => held);
    await new Promise((r) => setTimeout(r, 20)); // the holder has the file
    let ran = false;
    const second = waiter.run(async () => void (ran = true));
    // 300 ms held: at most ~30 rounds of 10 ms plus a few turns and file events; a waiter that
    // spun (the lock is a symlink to nothing, which existsSync calls absent) made thousands.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ran, false, 'not while held');
    release();
    await first;
    await second;
    assert.equal(ran, true);
    assert.ok(waiter.stats.waits > 0 && waiter.stats.waits <= 60, `waited in ${waiter.stats.waits} rounds`);
  });
});

/**
 * The cross-process lock table when a file is not what it should be: a catch-up that fails must not
 * leave a process on a stale table for good (two exclusive locks on one path would follow), and a
 * lock path that is no lock file must fail loudly, never spin on the event loop.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, promises as fsp, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockConflictError, LockManager } from '../../lib/dav/locks/lock-manager.js';
import { LockFile } from '../../backends/util/lock-file.js';

const turn = () => new Promise((r) => setImmediate(r));
const spec = (root: string) => ({ root, depth: 0 as const, scope: 'exclusive' as const, owner: undefined, principal: undefined, timeout: 3600 });
const fileOf = (dir: string, token: string) => join(dir, 'locks', `${createHash('sha256').update(token).digest('hex').slice(0, 32)}.json`);

describe('the lock table when its files fail', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-locktable-'));
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('a catch-up that fails on one file reads every file at the next one: no second exclusive lock', async () => {
    const a = await LockManager.open(dir);
    const b = await LockManager.open(dir);
    try {
      b.get('nothing'); // b has caught up once
      const one = await a.create(spec('/one'));
      await a.create(spec('/two'));
      const file = fileOf(dir, one.token);
      const good = readFileSync(file, 'utf8');
      writeFileSync(file, '{'); // a read that fails (EIO, EMFILE in real life)
      await turn();
      assert.throws(() => b.covering('/two'), /corrupt/);
      writeFileSync(file, good);
      await turn();
      assert.equal(b.covering('/two').length, 1, 'the lock named beside the failed one is seen');
      assert.equal(b.covering('/one').length, 1);
      await assert.rejects(b.create(spec('/two')), LockConflictError);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a lock path that is a folder: acquiring fails with a message naming it (it used to spin, holding the event loop)', async () => {
    mkdirSync(join(dir, 'write.lock'));
    const lock = new LockFile(join(dir, 'write.lock'));
    await assert.rejects(lock.run(async () => 'never'), /write\.lock exists but is not a lock file/);
  });
});

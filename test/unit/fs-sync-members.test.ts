/**
 * The folder backend's sync members (backends/fs/sync-members.ts): building a big folder's
 * fingerprints lets the event loop turn, as the pass of stats does.
 */
import assert from 'node:assert/strict';
import { promises as fsp, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBackend } from '../../backends/fs/index.js';

/**
 * The most members' work done between two turns of the event loop while `work` runs, counted as
 * calls of Map and WeakMap `set` (building the fingerprints makes two Map entries a member, and
 * remembering a changed file's sidecar one WeakMap entry): a step count, not a time. A setImmediate
 * that schedules itself again marks each turn.
 */
async function mostSetsInOneTurn(work: () => Promise<unknown>): Promise<number> {
  let sets = 0;
  let most = 0;
  let counting = true;
  const tick = (): void => {
    most = Math.max(most, sets);
    sets = 0;
    if (counting) setImmediate(tick);
  };
  const mapSet = Map.prototype.set;
  const weakSet = WeakMap.prototype.set;
  Map.prototype.set = function (this: Map<unknown, unknown>, k: unknown, v: unknown) {
    sets++;
    return mapSet.call(this, k, v);
  };
  WeakMap.prototype.set = function (this: WeakMap<object, unknown>, k: object, v: unknown) {
    sets++;
    return weakSet.call(this, k, v);
  };
  setImmediate(tick);
  try {
    await work();
  } finally {
    counting = false;
    Map.prototype.set = mapSet;
    WeakMap.prototype.set = weakSet;
  }
  return Math.max(most, sets);
}

describe('fs sync members', function () {
  this.timeout(120000);
  const N = 20000;
  /** Members handled between two turns of the event loop (the pass's batch). */
  const BATCH = 256;
  let dir: string;
  let backend: FsBackend;
  before(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-syncmembers-'));
    await fsp.mkdir(join(dir, 'many'));
    for (let i = 0; i < N; i++) writeFileSync(join(dir, 'many', `event-${i}.ics`), 'x');
    backend = await FsBackend.open({ root: dir });
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it('a first sync of 20,000 files lets the event loop turn every 256 members: fingerprints and sidecars too, not only the stats', async () => {
    // The pass of stats turns once a batch; building the fingerprints (two Map entries a member) and
    // remembering each changed file's sidecar (a WeakMap entry) must too, or every other request on
    // the worker waits for all 20,000 at once (40,000 sets in one turn before).
    const most = await mostSetsInOneTurn(async () => {
      const changes = await backend.changes('/many', undefined);
      assert.equal(changes.changed.length, N);
    });
    assert.ok(most <= 4 * BATCH, `${most} Map/WeakMap sets in one turn of the event loop (want <= ${4 * BATCH})`);
  });
});

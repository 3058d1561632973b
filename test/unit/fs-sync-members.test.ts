/**
 * The folder backend's sync members (backends/fs/sync-members.ts): building a big folder's
 * fingerprints lets the event loop turn, as the pass of stats does.
 */
import assert from 'node:assert/strict';
import { promises as fsp, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../../backends/backend.js';
import { FsBackend } from '../../backends/fs/index.js';
import { MEMBER_PRINTS_BYTES, versionedMemberPrints, weigh, type VersionedPass } from '../../backends/fs/sync-members.js';

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

describe('fs sync members kept by version', () => {
  /** A pass of `n` files that always gives the same entries and version. */
  function passOf(n: number): VersionedPass {
    const entries: Entry[] = Array.from({ length: n }, (_, i) => ({
      path: `/calendars/user/${String(i).padStart(36, '0')}.ics`,
      kind: 'file',
      size: 100,
      etag: `"${i.toString(16)}-64-17e8f0a1b2c3d4e5"`,
      modified: new Date(0),
      created: new Date(0),
    }));
    return async () => ({ entries, version: `v${n}` });
  }

  it("a small folder's fingerprints are kept: the same version gives the same value", async () => {
    const pass = passOf(100);
    const first = await versionedMemberPrints('/root-small', '/calendars/user', pass);
    assert.ok(first && first.prints.size === 100);
    assert.equal(await versionedMemberPrints('/root-small', '/calendars/user', pass), first);
  });

  it('a folder heavier than a quarter of the budget is not kept (built again per call), however recent', async () => {
    const members = 20000;
    const pass = passOf(members);
    const first = await versionedMemberPrints('/root-huge', '/calendars/user', pass);
    assert.ok(first && first.prints.size === members);
    assert.ok(weigh(first) > MEMBER_PRINTS_BYTES / 4, `weighed ${weigh(first)}`);
    const again = await versionedMemberPrints('/root-huge', '/calendars/user', pass);
    assert.notEqual(again, first);
    assert.deepEqual(again, first);
  });
});

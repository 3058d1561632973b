/**
 * The folder backend's sync snapshots kept in memory (backends/fs/sync-snapshots.ts): one bound for
 * the whole process, however many trees (one SyncSnapshots per user's tree) save snapshots, and every
 * token still answers its own state.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SNAPSHOT_MEMORY_BYTES, SyncSnapshots, snapshotMemoryHeld } from '../../backends/fs/sync-snapshots.js';
import { SyncTokenKey } from '../../backends/sync-token-key.js';

describe('fs sync snapshots in memory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-snapmem-'));
  });
  afterEach(() => fsp.rm(dir, { recursive: true, force: true }));

  it('many trees together stay within one bound, and each token still loads its state', async () => {
    const trees = 24;
    const saved: { snapshots: SyncSnapshots; token: string; prints: Map<string, string> }[] = [];
    for (let t = 0; t < trees; t++) {
      const state = join(dir, `user${t}`);
      const snapshots = new SyncSnapshots(join(state, 'sync'), SyncTokenKey.in(state));
      // ~0.9 MB counted each, so the trees together are past the bound.
      const prints = new Map(Array.from({ length: 5000 }, (_, i) => [`/cal/event-${t}-${i}.ics`, `"${t}-${i}-${'0'.repeat(30)}"`] as [string, string]));
      saved.push({ snapshots, token: await snapshots.save('/cal', prints), prints });
      assert.ok(snapshotMemoryHeld() <= SNAPSHOT_MEMORY_BYTES, `held ${snapshotMemoryHeld()} after ${t + 1} trees`);
    }
    for (const { snapshots, token, prints } of saved) assert.deepEqual(await snapshots.load('/cal', token), prints);
    assert.ok(snapshotMemoryHeld() <= SNAPSHOT_MEMORY_BYTES);
  });

  it('the same state saved in two trees loads in each (kept apart by state folder)', async () => {
    const a = new SyncSnapshots(join(dir, 'a', 'sync'), SyncTokenKey.in(join(dir, 'a')));
    const b = new SyncSnapshots(join(dir, 'b', 'sync'), SyncTokenKey.in(join(dir, 'b')));
    const prints = new Map([['/c/x.ics', '"1"']]);
    const ta = await a.save('/c', prints);
    const tb = await b.save('/c', prints);
    await fsp.rm(join(dir, 'a', 'sync'), { recursive: true }); // a's snapshot pruned: only a refuses
    assert.equal(await a.load('/c', ta), null);
    assert.deepEqual(await b.load('/c', tb), prints);
  });
});

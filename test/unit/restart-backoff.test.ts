import assert from 'node:assert/strict';
import { RestartBackoff } from '../../lib/cluster/restart-backoff.js';
import { isFromWorker, isToWorker } from '../../lib/cluster/messages.js';

describe('RestartBackoff (lib/cluster/restart-backoff.ts)', () => {
  it('replaces the first death at once, then doubles up to the cap', () => {
    const b = new RestartBackoff({ baseMs: 100, capMs: 1000, resetAfterMs: 60_000 });
    assert.deepEqual(Array.from({ length: 7 }, () => b.next(undefined)), [0, 100, 200, 400, 800, 1000, 1000]);
    assert.equal(b.count, 7);
  });

  it('starts afresh after a worker that had served long enough', () => {
    const b = new RestartBackoff({ baseMs: 100, capMs: 30_000, resetAfterMs: 60_000 });
    assert.deepEqual([b.next(10), b.next(10), b.next(59_999)], [0, 100, 200]);
    assert.deepEqual([b.next(60_000), b.next(undefined)], [0, 100]);
  });
});

describe('IPC messages (lib/cluster/messages.ts)', () => {
  it('knows its own kinds and ignores everyone else’s', () => {
    assert.ok(isToWorker({ gitdav: 'connection', id: 1 }));
    assert.ok(isFromWorker({ gitdav: 'closed', id: 1 }));
    for (const other of [null, 'connection', { type: 'prom-client:getMetricsReq' }, { gitdav: 'frobnicate' }, { gitdav: 'ready' }]) assert.equal(isToWorker(other), false);
    assert.equal(isFromWorker({ gitdav: 'drain' }), false);
  });
});

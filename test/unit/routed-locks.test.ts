/** RoutedLocks: a grantee's lock table, sending shared paths to the owner's manager and back. */
import assert from 'node:assert/strict';
import { LockConflictError, LockManager } from '../../lib/dav/locks/lock-manager.js';
import { RoutedLocks, type LockMount } from '../../lib/dav/locks/routed-locks.js';
import { MountTable } from '../../backends/mount/table.js';

const spec = (root: string, principal: string, depth: 0 | 'infinity' = 0) => ({ root, depth, scope: 'exclusive' as const, principal, timeout: 600 });

describe('RoutedLocks (shared collections lock in their owner’s table)', () => {
  let alice: LockManager;
  let bobOwn: LockManager;
  let bob: RoutedLocks;
  let mounts: LockMount[];
  beforeEach(async () => {
    alice = await LockManager.open(null);
    bobOwn = await LockManager.open(null);
    mounts = [{ at: '/shared/alice/docs', path: '/docs', locks: alice }];
    bob = new RoutedLocks(bobOwn, new MountTable(mounts));
  });

  it('a lock taken through the mount lives in the owner’s table, in the owner’s paths, and comes back in the grantee’s', async () => {
    const l = await bob.create(spec('/shared/alice/docs/a.txt', 'bob'));
    assert.equal(l.root, '/shared/alice/docs/a.txt');
    assert.deepEqual(alice.covering('/docs/a.txt').map((x) => x.root), ['/docs/a.txt']);
    assert.equal(bobOwn.get(l.token), undefined);
    assert.equal(bob.get(l.token)?.root, '/shared/alice/docs/a.txt');
    assert.deepEqual(bob.covering('/shared/alice/docs/a.txt').map((x) => x.token), [l.token]);
    assert.deepEqual(bob.within('/shared/alice/docs').map((x) => x.root), ['/shared/alice/docs/a.txt']);
    assert.deepEqual(bob.protecting('/shared/alice/docs/a.txt', { tree: false, membership: true }).map((x) => x.token), [l.token]);
    assert.equal((await bob.refresh(l.token, 60))?.root, '/shared/alice/docs/a.txt');
    assert.equal(await bob.remove(l.token), true);
    assert.equal(alice.get(l.token), undefined);
  });

  it('paths outside every mount use the grantee’s own table', async () => {
    const l = await bob.create(spec('/mine.txt', 'bob'));
    assert.equal(bobOwn.get(l.token)?.root, '/mine.txt');
    assert.deepEqual(alice.within('/'), []);
    assert.deepEqual(bob.covering('/shared/alice/docs/mine.txt'), []);
  });

  it('an owner’s depth-infinity lock above the share shows at the mount point and conflicts are translated', async () => {
    const above = await alice.create(spec('/', 'alice', 'infinity'));
    assert.deepEqual(bob.covering('/shared/alice/docs/x').map((x) => x.root), ['/shared/alice/docs']);
    assert.equal(bob.get(above.token)?.root, '/shared/alice/docs');
    await assert.rejects(bob.create(spec('/shared/alice/docs/x', 'bob')), (err: unknown) => err instanceof LockConflictError && err.conflicting.root === '/shared/alice/docs');
    assert.equal(await bob.remove(above.token), false, 'a lock above the share is not the grantee’s to remove');
    assert.ok(alice.get(above.token));
  });

  it('visibleWithin a folder of the grantee’s own gathers the owners’ locks of the mounts below it, and nothing else', async () => {
    await bob.create(spec('/mine.txt', 'bob'));
    assert.deepEqual(bob.visibleWithin('/').map((x) => x.root), ['/mine.txt']);
    const elsewhere = await alice.create(spec('/private.txt', 'alice'));
    const inside = await alice.create(spec('/docs/a.txt', 'alice'));
    assert.deepEqual(bob.visibleWithin('/shared').map((x) => x.root), ['/shared/alice/docs/a.txt']);
    assert.deepEqual(bob.visibleWithin('/shared/alice/docs').map((x) => x.root), ['/shared/alice/docs/a.txt'], 'in a mount: within');
    assert.deepEqual(bob.within('/shared'), [], 'within itself is unchanged');
    assert.deepEqual(bob.visibleWithin('/other').map((x) => x.root), []);
    await alice.remove(elsewhere.token);
    await alice.remove(inside.token);
    await alice.create(spec('/', 'alice', 'infinity'));
    assert.deepEqual(bob.visibleWithin('/').map((x) => x.root).sort(), ['/mine.txt', '/shared/alice/docs'], 'an owner’s lock above the share shows at the mount point');
  });

  it('a lock of the owner’s elsewhere in the tree is not visible through the mount', async () => {
    const elsewhere = await alice.create(spec('/private.txt', 'alice'));
    assert.equal(bob.get(elsewhere.token), undefined);
    assert.equal(await bob.remove(elsewhere.token), false);
  });

  it('a lock the table no longer admits (its holder lost write access) is gone at once', async () => {
    const b = await bob.create(spec('/shared/alice/docs/a.txt', 'bob'));
    const a = await alice.create(spec('/docs/b.txt', 'alice'));
    let bobMayWrite = true;
    alice.admits = (l) => l.principal !== 'bob' || bobMayWrite;
    assert.ok(alice.get(b.token));
    bobMayWrite = false;
    assert.equal(alice.get(b.token), undefined);
    assert.deepEqual(bob.covering('/shared/alice/docs/a.txt'), []);
    assert.ok(alice.get(a.token));
  });
});

import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockManager, LockConflictError, LockLimitError, parseTimeout } from '../../lib/dav/locks/lock-manager.js';
import type { Lock, LockDepth, LockScope } from '../../lib/dav/locks/lock.js';

const spec = (root: string, scope: LockScope = 'exclusive', depth: LockDepth = 'infinity', timeout: number | null = 600) => ({
  root,
  scope,
  depth,
  timeout,
});

const roots = (locks: Lock[]) => locks.map((l) => l.root).sort();

async function conflicts(m: LockManager, root: string, scope: LockScope, depth: LockDepth, expectedRoot: string): Promise<void> {
  await assert.rejects(m.create(spec(root, scope, depth)), (err: unknown) => {
    assert.ok(err instanceof LockConflictError, `expected LockConflictError, got ${err}`);
    assert.equal(err.conflicting.root, expectedRoot);
    assert.equal(err.name, 'LockConflictError');
    return true;
  });
}

describe('RFC 4918 §10.7 Timeout: parseTimeout', () => {
  const FALLBACK = 3600;
  const MAX = 86400;
  const t = (h: string | undefined) => parseTimeout(h, FALLBACK, MAX);

  it('no header → the fallback', () => {
    assert.equal(t(undefined), FALLBACK);
    assert.equal(t(''), FALLBACK);
  });

  it('Second-N → N seconds', () => {
    assert.equal(t('Second-60'), 60);
    assert.equal(t('Second-86400'), 86400);
  });

  it('caps Second-N at the maximum', () => {
    assert.equal(t('Second-86401'), MAX);
    assert.equal(t('Second-4100000000'), MAX);
    assert.equal(t('Second-99999999999999999999999'), MAX);
  });

  it('Second-0 is raised to one second (a lock that is born expired is useless)', () => {
    assert.equal(t('Second-0'), 1);
  });

  it('Infinite → the maximum (a server need not honour the requested timeout, §10.7)', () => {
    assert.equal(t('Infinite'), MAX);
    assert.equal(t('infinite'), MAX);
  });

  it('takes the first value it understands from the list (§10.7 example)', () => {
    assert.equal(t('Infinite, Second-4100000000'), MAX);
    assert.equal(t('Second-120, Infinite'), 120);
    assert.equal(t('Fortnight-1, Second-30'), 30);
  });

  it('is case-insensitive and tolerates whitespace around list members', () => {
    assert.equal(t('  second-45  '), 45);
    assert.equal(t('SECOND-45'), 45);
    assert.equal(t('x ,\tSecond-7 '), 7);
  });

  it('garbage → the fallback', () => {
    for (const bad of ['Second-', 'Second--5', 'Second-1.5', 'Second-1e3', 'Second 60', 'Second-60s', '60', 'Infinity', 'Minute-5', ',', 'Second-0x10']) {
      assert.equal(t(bad), FALLBACK, bad);
    }
  });
});

describe('RFC 4918 §6-7 LockManager (in memory)', () => {
  let m: LockManager;
  beforeEach(async () => {
    m = await LockManager.open(null);
  });

  describe('§6.5 / Appendix C lock tokens', () => {
    it('create returns the lock with an opaquelocktoken: UUID URI, unique per lock', async () => {
      const a = await m.create(spec('/a', 'shared'));
      const b = await m.create(spec('/a', 'shared'));
      assert.match(a.token, /^opaquelocktoken:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.notEqual(a.token, b.token);
      assert.equal(m.get(a.token), a);
      assert.equal(m.get('opaquelocktoken:nope'), undefined);
    });

    it('keeps the spec (root, depth, scope, owner, principal, timeout) and computes the expiry', async () => {
      const before = Date.now();
      const l = await m.create({ root: '/doc', depth: 0, scope: 'exclusive', owner: '<D:owner xmlns:D="DAV:">me</D:owner>', principal: 'alice', timeout: 100 });
      const after = Date.now();
      assert.equal(l.root, '/doc');
      assert.equal(l.depth, 0);
      assert.equal(l.scope, 'exclusive');
      assert.equal(l.owner, '<D:owner xmlns:D="DAV:">me</D:owner>');
      assert.equal(l.principal, 'alice');
      assert.equal(l.timeout, 100);
      assert.ok(l.expires! >= before + 100_000 && l.expires! <= after + 100_000);
    });

    it('an infinite timeout never expires', async () => {
      const l = await m.create(spec('/a', 'exclusive', 0, null));
      assert.equal(l.expires, null);
    });
  });

  describe('§6.1 / §7 lock conflicts', () => {
    it('an exclusive lock conflicts with any other lock on the same resource', async () => {
      await m.create(spec('/a', 'exclusive', 0));
      await conflicts(m, '/a', 'exclusive', 0, '/a');
      await conflicts(m, '/a', 'shared', 0, '/a');
      await conflicts(m, '/a', 'shared', 'infinity', '/a');
    });

    it('shared locks coexist; an exclusive lock conflicts with them', async () => {
      await m.create(spec('/a', 'shared', 0));
      await m.create(spec('/a', 'shared', 'infinity'));
      assert.equal(m.covering('/a').length, 2);
      await conflicts(m, '/a', 'exclusive', 0, '/a');
    });

    it('§6.1 a depth-infinity lock on an ancestor covers descendants', async () => {
      await m.create(spec('/a', 'exclusive', 'infinity'));
      await conflicts(m, '/a/b', 'exclusive', 0, '/a');
      await conflicts(m, '/a/b/c/d', 'shared', 'infinity', '/a');
    });

    it('a depth-0 lock on a collection does not cover its members', async () => {
      await m.create(spec('/a', 'exclusive', 0));
      const inner = await m.create(spec('/a/b', 'exclusive', 'infinity'));
      assert.equal(inner.root, '/a/b');
    });

    it('§9.10.3 a depth-infinity lock conflicts with a lock on a descendant', async () => {
      await m.create(spec('/a/b/c', 'exclusive', 0));
      await conflicts(m, '/a', 'exclusive', 'infinity', '/a/b/c');
      await conflicts(m, '/a', 'shared', 'infinity', '/a/b/c');
      await conflicts(m, '/', 'shared', 'infinity', '/a/b/c');
      // a depth-0 lock on the ancestor does not include the descendant
      await m.create(spec('/a', 'exclusive', 0));
    });

    it('shared depth-infinity on an ancestor and shared on a descendant coexist; exclusive does not', async () => {
      await m.create(spec('/a', 'shared', 'infinity'));
      await m.create(spec('/a/b', 'shared', 0));
      await conflicts(m, '/a/b/c', 'exclusive', 0, '/a');
    });

    it('a shared descendant lock blocks an exclusive depth-infinity lock above it', async () => {
      await m.create(spec('/a/b', 'shared', 0));
      await conflicts(m, '/a', 'exclusive', 'infinity', '/a/b');
      await m.create(spec('/a', 'shared', 'infinity'));
    });

    it('a depth-infinity lock on / covers everything', async () => {
      await m.create(spec('/', 'exclusive', 'infinity'));
      await conflicts(m, '/x/y', 'shared', 0, '/');
    });

    it('a path is not inside a sibling that shares its prefix', async () => {
      await m.create(spec('/a', 'exclusive', 'infinity'));
      await m.create(spec('/ab', 'exclusive', 'infinity'));
      await m.create(spec('/a-b/c', 'exclusive', 'infinity'));
      assert.deepEqual(roots(m.covering('/ab/x')), ['/ab']);
    });

    it('a failed create leaves no lock behind', async () => {
      await m.create(spec('/a', 'exclusive', 0));
      await assert.rejects(m.create(spec('/a', 'exclusive', 0)), LockConflictError);
      assert.equal(m.within('/').length, 1);
    });
  });

  describe('covering / within / protecting', () => {
    let inf: Lock, zero: Lock, deep: Lock, other: Lock;
    beforeEach(async () => {
      inf = await m.create(spec('/c', 'shared', 'infinity'));
      zero = await m.create(spec('/c/d', 'shared', 0));
      deep = await m.create(spec('/c/d/e/f', 'shared', 0));
      other = await m.create(spec('/cd', 'exclusive', 'infinity'));
    });

    it('covering: locks on the path and depth-infinity locks on ancestors', () => {
      assert.deepEqual(roots(m.covering('/c')), ['/c']);
      assert.deepEqual(roots(m.covering('/c/d')), ['/c', '/c/d']);
      assert.deepEqual(roots(m.covering('/c/d/e')), ['/c'], 'the depth-0 lock on /c/d does not reach /c/d/e');
      assert.deepEqual(roots(m.covering('/c/d/e/f')), ['/c', '/c/d/e/f']);
      assert.deepEqual(roots(m.covering('/cd/x')), ['/cd']);
      assert.deepEqual(roots(m.covering('/')), []);
      assert.deepEqual(roots(m.covering('/elsewhere')), []);
    });

    it('within: locks rooted at the path or below it', () => {
      assert.deepEqual(roots(m.within('/c')), ['/c', '/c/d', '/c/d/e/f']);
      assert.deepEqual(roots(m.within('/c/d')), ['/c/d', '/c/d/e/f']);
      assert.deepEqual(roots(m.within('/c/d/e')), ['/c/d/e/f']);
      assert.deepEqual(roots(m.within('/')), ['/c', '/c/d', '/c/d/e/f', '/cd']);
      assert.deepEqual(roots(m.within('/x')), []);
    });

    it('protecting: plain change of a resource = the locks covering it', () => {
      assert.deepEqual(roots(m.protecting('/c/d/e', { tree: false, membership: false })), ['/c']);
    });

    it('§7.4 protecting with membership adds a depth-0 lock on the parent collection', () => {
      // /c/d/x is added to or removed from /c/d, whose depth-0 lock protects its membership
      assert.deepEqual(roots(m.protecting('/c/d/x', { tree: false, membership: true })), ['/c', '/c/d']);
      assert.deepEqual(roots(m.protecting('/c/d/x', { tree: false, membership: false })), ['/c']);
    });

    it('protecting with tree adds every lock below the path', () => {
      assert.deepEqual(roots(m.protecting('/c/d', { tree: true, membership: false })), ['/c', '/c/d', '/c/d/e/f']);
      assert.deepEqual(roots(m.protecting('/c/d/e', { tree: true, membership: true })), ['/c', '/c/d', '/c/d/e/f']);
    });

    it('protecting lists each lock once', () => {
      const tokens = m.protecting('/c/d', { tree: true, membership: true }).map((l) => l.token);
      assert.equal(new Set(tokens).size, tokens.length);
      assert.deepEqual(new Set(tokens), new Set([inf.token, zero.token, deep.token]));
    });

    it('protecting the root with membership does not look for a parent', () => {
      assert.deepEqual(roots(m.protecting('/', { tree: false, membership: true })), []);
      assert.deepEqual(roots(m.protecting('/', { tree: true, membership: true })), ['/c', '/c/d', '/c/d/e/f', '/cd']);
    });

    it('removeWithin drops locks at and below a path, and only those', async () => {
      await m.removeWithin('/c/d');
      assert.deepEqual(roots(m.within('/')), ['/c', '/cd']);
      assert.equal(m.get(zero.token), undefined);
      assert.equal(m.get(deep.token), undefined);
      assert.equal(m.get(other.token), other);
      await m.removeWithin('/nothing/here');
      assert.deepEqual(roots(m.within('/')), ['/c', '/cd']);
      await m.removeWithin('/');
      assert.deepEqual(m.within('/'), []);
    });

    it('remove drops one lock by token and reports whether it existed', async () => {
      assert.equal(await m.remove(zero.token), true);
      assert.equal(await m.remove(zero.token), false);
      assert.equal(await m.remove('opaquelocktoken:unknown'), false);
      assert.deepEqual(roots(m.covering('/c/d')), ['/c']);
    });
  });

  describe('§6.6 timeouts, refresh and expiry', () => {
    it('refresh sets a new timeout and expiry', async () => {
      const l = await m.create(spec('/a', 'exclusive', 0, 10));
      const before = Date.now();
      const r = await m.refresh(l.token, 500);
      assert.equal(r?.token, l.token);
      assert.equal(r?.timeout, 500);
      assert.ok(r!.expires! >= before + 500_000);
      assert.equal(m.get(l.token)?.timeout, 500);
    });

    it('refresh to an infinite timeout', async () => {
      const l = await m.create(spec('/a', 'exclusive', 0, 10));
      assert.equal((await m.refresh(l.token, null))?.expires, null);
    });

    it('refresh of an unknown token returns undefined', async () => {
      assert.equal(await m.refresh('opaquelocktoken:unknown', 10), undefined);
    });

    it('a lock disappears once its timeout has passed (1-second timeout, real time)', async function () {
      this.timeout(5000);
      const l = await m.create(spec('/a', 'exclusive', 'infinity', 1));
      assert.equal(m.get(l.token), l);
      assert.deepEqual(roots(m.covering('/a/b')), ['/a']);
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(m.get(l.token), undefined);
      assert.deepEqual(m.covering('/a/b'), []);
      assert.deepEqual(m.within('/'), []);
      // and no longer conflicts
      await m.create(spec('/a/b', 'exclusive', 0));
    });

    it('an expired lock cannot be refreshed and does not conflict', async () => {
      const l = await m.create(spec('/a', 'exclusive', 'infinity', 60));
      l.expires = Date.now() - 1; // simulate the passage of time
      assert.equal(await m.refresh(l.token, 60), undefined);
      assert.equal(m.protecting('/a', { tree: true, membership: true }).length, 0);
      const fresh = await m.create(spec('/a', 'exclusive', 'infinity', 60));
      assert.deepEqual(m.covering('/a').map((x) => x.token), [fresh.token]);
    });

    it('refreshing keeps a lock alive past its original expiry', async () => {
      const l = await m.create(spec('/a', 'exclusive', 0, 60));
      l.expires = Date.now() + 5; // about to expire
      await m.refresh(l.token, 60);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(m.get(l.token)?.token, l.token);
    });
  });
});

describe('RFC 4918 §6 LockManager persistence', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-locks-'));
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('starts empty without a locks file', async () => {
    const m = await LockManager.open(dir);
    assert.deepEqual(m.within('/'), []);
  });

  it('a lock survives a reopen, with every field', async () => {
    const m1 = await LockManager.open(dir);
    const l = await m1.create({ root: '/a/b', depth: 'infinity', scope: 'shared', owner: '<o/>', principal: 'bob', timeout: 300 });
    const m2 = await LockManager.open(dir);
    assert.deepEqual(m2.get(l.token), l);
    assert.deepEqual(roots(m2.covering('/a/b/c')), ['/a/b']);
    // the reopened manager still enforces conflicts
    await assert.rejects(m2.create(spec('/a/b/c', 'exclusive', 0)), LockConflictError);
  });

  it('infinite locks survive too', async () => {
    const l = await (await LockManager.open(dir)).create(spec('/x', 'exclusive', 0, null));
    assert.equal((await LockManager.open(dir)).get(l.token)?.expires, null);
  });

  it('remove, removeWithin and refresh are persisted', async () => {
    const m1 = await LockManager.open(dir);
    const a = await m1.create(spec('/a', 'exclusive', 0));
    const b = await m1.create(spec('/b/c', 'exclusive', 0));
    const c = await m1.create(spec('/d', 'exclusive', 0, 60));
    await m1.remove(a.token);
    await m1.removeWithin('/b');
    await m1.refresh(c.token, 900);
    const m2 = await LockManager.open(dir);
    assert.equal(m2.get(a.token), undefined);
    assert.equal(m2.get(b.token), undefined);
    assert.equal(m2.get(c.token)?.timeout, 900);
  });

  it('keeps one file per lock under locks/ in the state dir and leaves no temp file', async () => {
    const m = await LockManager.open(dir);
    const l = await m.create(spec('/a'));
    assert.deepEqual(await fsp.readdir(dir), ['locks']);
    // Besides the locks, only the journal that tells other processes what changed (lock-journal.ts).
    const files = (await fsp.readdir(join(dir, 'locks'))).filter((n) => n !== 'journal');
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^[0-9a-f]{32}\.json$/);
    const saved = JSON.parse(await fsp.readFile(join(dir, 'locks', files[0]!), 'utf8')) as Lock;
    assert.deepEqual(saved, l);
    await m.remove(l.token);
    assert.deepEqual(await fsp.readdir(join(dir, 'locks')), ['journal']);
  });

  it('one lock change writes one lock, not the table (200 locks with 4 KiB owners, then one more)', async () => {
    const m = await LockManager.open(dir);
    const owner = `<D:owner xmlns:D="DAV:">${'o'.repeat(4000)}</D:owner>`;
    for (let i = 0; i < 200; i++) await m.create({ ...spec(`/f${i}`, 'exclusive', 0), owner });
    const before = await snapshotDir(join(dir, 'locks'));
    const written = m.stats.bytesWritten;
    const l = await m.create({ ...spec('/one', 'exclusive', 0), owner });
    assert.ok(m.stats.bytesWritten - written < 5000, `one create wrote ${m.stats.bytesWritten - written} bytes`);
    const after = await snapshotDir(join(dir, 'locks'));
    assert.equal(after.size, before.size + 1);
    for (const [name, stamp] of before) assert.equal(after.get(name), stamp, `${name} untouched`);
    const w2 = m.stats.bytesWritten;
    await m.refresh(l.token, 900);
    await m.remove(l.token);
    assert.ok(m.stats.bytesWritten - w2 < 5000, 'a refresh rewrites that lock only; a remove writes nothing');
    assert.deepEqual(await snapshotDir(join(dir, 'locks')), before);
  });

  it('takes over a locks.json written by an earlier version, one file per lock', async () => {
    const saved: Lock[] = [{ token: 'opaquelocktoken:a', root: '/a', depth: 0, scope: 'exclusive', timeout: null, expires: null }];
    await fsp.writeFile(join(dir, 'locks.json'), JSON.stringify(saved));
    const m = await LockManager.open(dir);
    assert.deepEqual(m.get('opaquelocktoken:a'), saved[0]);
    assert.deepEqual(await fsp.readdir(dir), ['locks']);
    assert.deepEqual((await LockManager.open(dir)).get('opaquelocktoken:a'), saved[0]);
  });

  it('drops locks that expired while the server was down', async () => {
    const now = Date.now();
    const saved: Lock[] = [
      { token: 'opaquelocktoken:old', root: '/old', depth: 0, scope: 'exclusive', timeout: 1, expires: now - 1000 },
      { token: 'opaquelocktoken:live', root: '/live', depth: 0, scope: 'exclusive', timeout: 600, expires: now + 600_000 },
      { token: 'opaquelocktoken:forever', root: '/forever', depth: 0, scope: 'exclusive', timeout: null, expires: null },
    ];
    await fsp.writeFile(join(dir, 'locks.json'), JSON.stringify(saved));
    const m = await LockManager.open(dir);
    assert.deepEqual(roots(m.within('/')), ['/forever', '/live']);
  });

  it('concurrent changes all land, the last snapshot last', async () => {
    const m1 = await LockManager.open(dir);
    const created = await Promise.all(Array.from({ length: 20 }, (_, i) => m1.create(spec(`/f${i}`, 'exclusive', 0))));
    const m2 = await LockManager.open(dir);
    assert.equal(m2.within('/').length, 20);
    for (const l of created) assert.ok(m2.get(l.token));
  });

  it('refuses to start on a corrupt lock file rather than silently forgetting locks, naming the file', async () => {
    const m = await LockManager.open(dir);
    await m.create(spec('/a'));
    const [name] = await fsp.readdir(join(dir, 'locks'));
    await fsp.writeFile(join(dir, 'locks', name!), '{not json');
    await assert.rejects(LockManager.open(dir), new RegExp(name!));
  });

  it('refuses to start on a corrupt legacy locks.json', async () => {
    await fsp.writeFile(join(dir, 'locks.json'), '{not json');
    await assert.rejects(LockManager.open(dir));
  });

  it('writes nothing at start (the folder comes with the first lock)', async () => {
    await LockManager.open(dir);
    assert.deepEqual(await fsp.readdir(dir), []);
  });

  it('removes temp files a crash left behind, once they are old', async () => {
    await fsp.mkdir(join(dir, 'locks'));
    const stale = join(dir, 'locks', 'deadbeef.json.123.abc.tmp');
    await fsp.writeFile(stale, '{"half');
    const old = new Date(Date.now() - 3600_000);
    await fsp.utimes(stale, old, old);
    const m = await LockManager.open(dir);
    assert.deepEqual(m.within('/'), []);
    assert.deepEqual(await fsp.readdir(join(dir, 'locks')), []);
  });

  it('a failed save does not break every later save', async () => {
    const m = await LockManager.open(dir);
    // A file stands where the locks folder was: every write fails until it is back.
    await fsp.writeFile(join(dir, 'locks'), '');
    await assert.rejects(m.create(spec('/first', 'exclusive', 0)), /ENOTDIR/);
    await fsp.rm(join(dir, 'locks'));
    await fsp.mkdir(join(dir, 'locks'));
    const second = await m.create(spec('/second', 'exclusive', 0));
    const reopened = await LockManager.open(dir);
    assert.ok(reopened.get(second.token), 'the lock created after the failure was persisted');
  });

  it('a create whose save failed leaves no lock behind (its token was never handed out)', async () => {
    const m = await LockManager.open(dir);
    await fsp.writeFile(join(dir, 'locks'), '');
    await assert.rejects(m.create(spec('/first', 'exclusive', 'infinity')));
    assert.deepEqual(m.covering('/first'), []);
    await fsp.rm(join(dir, 'locks'));
    await fsp.mkdir(join(dir, 'locks'));
    const again = await m.create(spec('/first', 'exclusive', 'infinity'));
    assert.deepEqual(m.covering('/first/x').map((l) => l.token), [again.token]);
    assert.deepEqual(roots((await LockManager.open(dir)).within('/')), ['/first']);
  });
});

describe('LockManager removal order: the file first, then the lock', () => {
  let dir: string;
  let restore: (() => void) | undefined;
  const failUnlink = () => {
    const original = fsp.unlink;
    (fsp as { unlink: unknown }).unlink = async () => {
      throw Object.assign(new Error('injected EIO'), { code: 'EIO' });
    };
    restore = () => {
      (fsp as { unlink: unknown }).unlink = original;
      restore = undefined;
    };
  };
  beforeEach(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-locks-'));
  });
  afterEach(async () => {
    restore?.();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('a remove whose file cannot be deleted fails, and the lock stays (here and after a restart)', async () => {
    const m = await LockManager.open(dir);
    const l = await m.create(spec('/a'));
    failUnlink();
    await assert.rejects(m.remove(l.token), /injected EIO/);
    restore!();
    assert.equal(m.get(l.token)?.token, l.token, 'still held here');
    assert.equal((await LockManager.open(dir)).get(l.token)?.token, l.token, 'and after a restart');
    assert.equal(await m.remove(l.token), true);
    assert.equal(m.get(l.token), undefined);
    assert.equal((await LockManager.open(dir)).get(l.token), undefined);
  });

  it('removeWithin whose files cannot be deleted fails and keeps the locks', async () => {
    const m = await LockManager.open(dir);
    await m.create(spec('/d/a', 'exclusive', 0));
    await m.create(spec('/d/b', 'exclusive', 0));
    failUnlink();
    await assert.rejects(m.removeWithin('/d'), /injected EIO/);
    restore!();
    assert.deepEqual(roots(m.within('/d')), ['/d/a', '/d/b']);
    await m.removeWithin('/d');
    assert.deepEqual(roots(m.within('/d')), []);
    assert.deepEqual(roots((await LockManager.open(dir)).within('/')), []);
  });

  it('a refresh racing a remove does not write the lock back', async () => {
    const m = await LockManager.open(dir);
    const l = await m.create(spec('/a'));
    const removing = m.remove(l.token);
    assert.equal(await m.refresh(l.token, 60), undefined);
    assert.equal(await removing, true);
    assert.equal((await LockManager.open(dir)).get(l.token), undefined);
  });
});

describe('LockManager limits: owner size, locks per user, table size', () => {
  const limits = { maxLockOwnerBytes: 100, maxLocksPerUser: 3, maxLockTableBytes: 3000 };
  let m: LockManager;
  beforeEach(async () => {
    m = await LockManager.open(null, limits);
  });

  it('refuses an owner larger than maxLockOwnerBytes, and keeps nothing', async () => {
    await m.create({ ...spec('/ok'), owner: 'x'.repeat(100) });
    await assert.rejects(m.create({ ...spec('/big'), owner: 'x'.repeat(101) }), (err: unknown) => {
      assert.ok(err instanceof LockLimitError);
      assert.equal(err.limit, 'owner');
      assert.match(err.message, /101 bytes.*100/);
      return true;
    });
    assert.deepEqual(roots(m.within('/')), ['/ok']);
  });

  it('counts locks per principal: the fourth of bob is refused, alice still locks', async () => {
    for (const p of ['/a', '/b', '/c']) await m.create({ ...spec(p), principal: 'bob' });
    await assert.rejects(m.create({ ...spec('/d'), principal: 'bob' }), (err: unknown) => err instanceof LockLimitError && err.limit === 'user');
    await m.create({ ...spec('/d'), principal: 'alice' });
    // an unlock (or expiry) frees a place
    await m.remove(m.covering('/a')[0]!.token);
    await m.create({ ...spec('/e'), principal: 'bob' });
  });

  it('refuses a lock that would take the table past maxLockTableBytes; removals free room', async () => {
    const owner = 'x'.repeat(100);
    let n = 0;
    const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9', 'u10', 'u11', 'u12', 'u13', 'u14', 'u15'];
    let refused: unknown;
    for (const u of users) {
      try {
        await m.create({ ...spec(`/${u}`), owner, principal: u });
        n++;
      } catch (err) {
        refused = err;
        break;
      }
    }
    assert.ok(refused instanceof LockLimitError && refused.limit === 'table', String(refused));
    assert.ok(n >= 8 && n < 15, `${n} locks fit`);
    await m.remove(m.covering('/u1')[0]!.token);
    await m.create({ ...spec('/again'), owner, principal: 'u15' });
  });

  it('caps the bytes each principal holds (maxLockBytesPerUser), whatever the count; removals free room', async () => {
    // Two 800-byte owners fit, a third does not, a small lock still does (a lock's bytes include its creation time).
    const bytes = await LockManager.open(null, { maxLockOwnerBytes: 0, maxLocksPerUser: 0, maxLockBytesPerUser: 2250, maxLockTableBytes: 0 });
    const owner = 'x'.repeat(800);
    await bytes.create({ ...spec('/a'), owner, principal: 'bob' });
    await bytes.create({ ...spec('/b'), owner, principal: 'bob' });
    await assert.rejects(bytes.create({ ...spec('/c'), owner, principal: 'bob' }), (err: unknown) => {
      assert.ok(err instanceof LockLimitError && err.limit === 'user', String(err));
      assert.match(err.message, /bob already holds 2 locks of \d+ bytes/);
      return true;
    });
    await bytes.create({ ...spec('/c'), owner, principal: 'carol' });
    await bytes.create({ ...spec('/d'), principal: 'bob' }); // a small one still fits
    await bytes.remove(bytes.covering('/a')[0]!.token);
    await bytes.create({ ...spec('/e'), owner, principal: 'bob' });
  });

  it("the table owner's locks do not count against maxLockTableBytes: grantees fill it, she still locks", async () => {
    const t = await LockManager.open(null, { maxLockOwnerBytes: 0, maxLocksPerUser: 3, maxLockBytesPerUser: 0, maxLockTableBytes: 2500 });
    t.owner = 'alice';
    const owner = 'x'.repeat(500);
    // alice's own locks first: they take none of the others' room
    for (const p of ['/a1', '/a2', '/a3']) await t.create({ ...spec(p), owner, principal: 'alice' });
    let n = 0;
    for (const u of ['bob', 'carol']) {
      for (let i = 0; i < 3; i++) {
        try {
          await t.create({ ...spec(`/${u}${i}`), owner, principal: u });
          n++;
        } catch (err) {
          assert.ok(err instanceof LockLimitError && err.limit === 'table', String(err));
          assert.match(err.message, /other users' locks/);
        }
      }
    }
    assert.ok(n >= 3 && n < 6, `${n} grantee locks fit`);
    await assert.rejects(t.create({ ...spec('/anon'), owner }), (err: unknown) => err instanceof LockLimitError && err.limit === 'table', 'requests without a login share the others\' room');
    // alice is refused only by her own per-user cap
    await assert.rejects(t.create({ ...spec('/a4'), principal: 'alice' }), (err: unknown) => err instanceof LockLimitError && err.limit === 'user');
    await t.remove(t.covering('/a1')[0]!.token);
    await t.create({ ...spec('/a4'), owner, principal: 'alice' });
  });

  it('an owner named after the locks were loaded recounts the room the others hold', async () => {
    const dir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-locks-'));
    try {
      const lim = { maxLockOwnerBytes: 0, maxLocksPerUser: 0, maxLockBytesPerUser: 0, maxLockTableBytes: 1500 };
      const first = await LockManager.open(dir, lim);
      first.owner = 'alice';
      for (let i = 0; i < 3; i++) await first.create({ ...spec(`/a${i}`), owner: 'x'.repeat(400), principal: 'alice' });
      const reopened = await LockManager.open(dir, lim);
      reopened.owner = 'alice';
      await reopened.create({ ...spec('/b'), owner: 'x'.repeat(400), principal: 'bob' });
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('0 turns a limit off', async () => {
    const open = await LockManager.open(null, { maxLockOwnerBytes: 0, maxLocksPerUser: 0, maxLockBytesPerUser: 0, maxLockTableBytes: 0 });
    for (let i = 0; i < 5; i++) await open.create({ ...spec(`/${i}`), owner: 'x'.repeat(10_000), principal: 'bob' });
    assert.equal(open.within('/').length, 5);
  });
});

/** name → inode and mtime of each lock file in a folder (the journal grows with every change). */
async function snapshotDir(d: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await fsp.readdir(d)).filter((n) => n.endsWith('.json'))) {
    const st = await fsp.stat(join(d, name));
    out.set(name, `${st.ino}:${st.mtimeMs}:${st.size}`);
  }
  return out;
}

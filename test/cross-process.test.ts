/**
 * Several processes on one state dir are as correct as one (issue 12, item 2): the lock table, the
 * folder backend's write lock and the git backend's volatile properties, each tried with a second
 * real process (a child: it shares nothing with the test but the files). Bounded by steps and
 * rounds; a hang fails on a generous limit, never a timing assertion.
 */
import assert from 'node:assert/strict';
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LockConflictError, LockManager } from '../lib/dav/locks/lock-manager.js';
import type { Lock } from '../lib/dav/locks/lock.js';
import { FsBackend, WRITE_LOCK } from '../backends/fs/index.js';
import { VolatileProps } from '../backends/git/volatile-props.js';
import { createLogger } from '../backends/util/log.js';
import { dist, runChild, type ChildScript } from './helpers/child-script.js';

const spec = (root: string, depth: 0 | 'infinity' = 0, timeout = 600) => ({ root, depth, scope: 'exclusive' as const, timeout });

/** A child with a LockManager on `dir`: `create ROOT [depth] [timeout] [principal]`, `remove TOKEN`, `covering PATH`. */
function lockChild(dir: string, limits: object = {}): ChildScript {
  return runChild(`
const { LockManager } = await import(${dist('lib/dav/locks/lock-manager.js')});
const m = await LockManager.open(${JSON.stringify(dir)}, ${JSON.stringify(limits)});
out('READY');
commands(async (line) => {
  const [cmd, a, b, c, d] = line.split(' ');
  if (cmd === 'create') {
    const spec = { root: a, depth: b === 'infinity' ? 'infinity' : 0, scope: 'exclusive', timeout: Number(c ?? 600), principal: d };
    try {
      out('LOCKED ' + a + ' ' + (await m.create(spec)).token);
    } catch (e) {
      out('REFUSED ' + a + ' ' + e.name);
    }
  } else if (cmd === 'remove') out('REMOVED ' + (await m.remove(a)));
  else if (cmd === 'covering') out('COVERING ' + JSON.stringify(m.covering(a).map((l) => l.token)));
});
`);
}

/** A child that holds a LockFile on `file` until killed, then prints HELD. */
function holderChild(file: string, before = ''): ChildScript {
  return runChild(`
const { LockFile } = await import(${dist('backends/util/lock-file.js')});
await new LockFile(${JSON.stringify(file)}).run(async () => {
  ${before}
  out('HELD');
  await new Promise(() => undefined);
}, { makeDir: true });
`);
}

/** Waits (a bounded number of short pauses) until `cond` holds. */
async function until(cond: () => boolean, what: string, rounds = 300): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: not within ${rounds} rounds`);
}

describe('several processes on one state dir: as correct as one (issue 12)', function () {
  this.timeout(120_000);
  let dir: string;
  const children: ChildScript[] = [];
  const child = (c: ChildScript) => (children.push(c), c);
  beforeEach(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-xproc-'));
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await c.kill();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  describe('the lock table', () => {
    it('a LOCK in another process is seen by the next check here at once; its UNLOCK too; and ours there', async () => {
      const m = await LockManager.open(dir);
      const other = child(lockChild(dir));
      await other.next(/^READY/);
      other.send('create /a infinity');
      const token = (await other.next(/^LOCKED \/a /)).split(' ')[2]!;
      // No pause, no event: the next read of the table here sees it (a PUT's guard reads protecting()).
      assert.deepEqual(m.protecting('/a/b', { tree: false, membership: true }).map((l) => l.token), [token]);
      await assert.rejects(m.create(spec('/a/b')), LockConflictError);
      other.send(`remove ${token}`);
      assert.equal(await other.next(/^REMOVED/), 'REMOVED true');
      assert.deepEqual(m.covering('/a/b'), []);
      const mine = await m.create(spec('/a/b'));
      other.send('covering /a/b/c');
      assert.equal(await other.next(/^COVERING/), 'COVERING []', 'depth 0: does not cover a member');
      other.send('covering /a/b');
      assert.equal(await other.next(/^COVERING/), `COVERING ${JSON.stringify([mine.token])}`);
      other.send('create /a/b');
      assert.match(await other.next(/^(LOCKED|REFUSED) \/a\/b /), /REFUSED \/a\/b LockConflictError/);
      m.close();
    });

    it('a lock that expires in another process is gone here too, and its file goes', async () => {
      const m = await LockManager.open(dir);
      const other = child(lockChild(dir));
      await other.next(/^READY/);
      other.send('create /short 0 1');
      const token = (await other.next(/^LOCKED \/short /)).split(' ')[2]!;
      assert.equal(m.get(token)?.token, token);
      await until(() => m.get(token) === undefined, 'the lock expires');
      await until(() => readJsonNames(dir).length === 0, 'its file is removed');
      other.send('covering /short');
      assert.equal(await other.next(/^COVERING/), 'COVERING []');
      m.close();
    });

    it('conflicting LOCKs from two processes at once: exactly one wins, every round (25 rounds)', async () => {
      const [p, q] = [child(lockChild(dir)), child(lockChild(dir))];
      await p.next(/^READY/);
      await q.next(/^READY/);
      for (let r = 0; r < 25; r++) {
        // One takes the collection with depth infinity, the other a member: they conflict either way.
        p.send(`create /r${r} infinity`);
        q.send(`create /r${r}/m 0`);
        const results = [await p.next(new RegExp(`^(LOCKED|REFUSED) /r${r} `)), await q.next(new RegExp(`^(LOCKED|REFUSED) /r${r}/m `))];
        assert.equal(results.filter((x) => x.startsWith('LOCKED')).length, 1, `round ${r}: ${results.join(' | ')}`);
        assert.ok(results.some((x) => x.endsWith('LockConflictError')), results.join(' | '));
      }
      const m = await LockManager.open(dir);
      assert.equal(m.within('/').length, 25);
      m.close();
    });

    it('a cap holds across processes: two processes racing for one principal get maxLocksPerUser locks in all', async () => {
      const limits = { maxLocksPerUser: 3 };
      const [p, q] = [child(lockChild(dir, limits)), child(lockChild(dir, limits))];
      await p.next(/^READY/);
      await q.next(/^READY/);
      for (let i = 0; i < 3; i++) {
        p.send(`create /p${i} 0 600 bob`);
        q.send(`create /q${i} 0 600 bob`);
      }
      const results: string[] = [];
      for (let i = 0; i < 3; i++) results.push(await p.next(/^(LOCKED|REFUSED) \/p/), await q.next(/^(LOCKED|REFUSED) \/q/));
      assert.equal(results.filter((x) => x.startsWith('LOCKED')).length, 3, results.join(' | '));
      assert.ok(results.filter((x) => x.startsWith('REFUSED')).every((x) => x.endsWith('LockLimitError')), results.join(' | '));
    });

    it('a process killed holding the table lock: the others take it over and see what it left', async () => {
      const m = await LockManager.open(dir);
      const watcher = await LockManager.open(dir);
      await m.create(spec('/before')); // the journal exists: the watcher follows it
      assert.equal(watcher.covering('/before').length, 1);
      // The dead process had written a lock's file but not announced it.
      const orphan: Lock = { token: 'opaquelocktoken:orphan', root: '/orphan', depth: 0, scope: 'exclusive', timeout: 600, expires: Date.now() + 600_000 };
      const holder = child(holderChild(join(dir, 'locks', 'table.lock'), `
        const { writeFileSync } = await import('node:fs');
        writeFileSync(${JSON.stringify(join(dir, 'locks', 'f'.repeat(32) + '.json'))}, ${JSON.stringify(JSON.stringify(orphan))});`));
      await holder.next(/^HELD/);
      await holder.kill('SIGKILL');
      const l = await m.create(spec('/after')); // waits for nobody: the holder is dead
      assert.equal(m.get(l.token)?.root, '/after');
      assert.equal(m.get(orphan.token)?.root, '/orphan', 'the taker reloaded the whole table');
      assert.equal(watcher.get(orphan.token)?.root, '/orphan', 'and told the others to');
      assert.equal(watcher.get(l.token)?.root, '/after');
      m.close();
      watcher.close();
    });
  });

  describe("the folder backend's write lock", () => {
    let root: string;
    beforeEach(async () => {
      root = join(dir, 'root');
      await fsp.mkdir(root);
    });

    it("two processes' guard-and-rename steps never overlap: a read-modify-write in each loses nothing (2 × 40 steps)", async () => {
      const backend = await FsBackend.open({ root });
      const counter = join(dir, 'counter');
      await fsp.writeFile(counter, '0');
      // Read, let other work run, write back: a lost update whenever two such steps overlap.
      const bump = `async () => {
        const n = Number(await fsp.readFile(${JSON.stringify(counter)}, 'utf8'));
        for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
        await fsp.writeFile(${JSON.stringify(counter)}, String(n + 1));
      }`;
      const other = child(runChild(`
const { promises: fsp } = await import('node:fs');
const { LockFile } = await import(${dist('backends/util/lock-file.js')});
const lock = new LockFile(${JSON.stringify(join(root, '.gitdav', WRITE_LOCK))});
out('READY');
commands(async (line) => {
  for (let i = 0; i < Number(line); i++) await lock.run(${bump});
  out('DONE');
});
`));
      await other.next(/^READY/);
      other.send('40');
      const bumpHere = new Function('fsp', `return ${bump}`)(fsp) as () => Promise<void>;
      for (let i = 0; i < 40; i++) await backend.write(`/f${i % 4}`, Readable.from([`v${i}`]), { guard: bumpHere });
      await other.next(/^DONE/);
      assert.equal(readFileSync(counter, 'utf8'), '80');
      await backend.close();
    });

    it('a process killed holding write.lock: the next PUT takes it over (the holder is dead) and lands', async () => {
      const logged: string[] = [];
      const backend = await FsBackend.open({ root, logger: createLogger('warn', (l) => void logged.push(l)) });
      const holder = child(holderChild(join(root, '.gitdav', WRITE_LOCK)));
      await holder.next(/^HELD/);
      await holder.kill('SIGKILL');
      const { created } = await backend.write('/after-kill', Readable.from(['landed']));
      assert.equal(created, true);
      assert.equal(readFileSync(join(root, 'after-kill'), 'utf8'), 'landed');
      assert.ok(logged.some((l) => l.includes('took over the write lock')), logged.join(''));
      await backend.close();
    });
  });

  describe("the git backend's volatile properties", () => {
    const name = (i: number) => `{urn:schemas-microsoft-com:}Win32LastAccessTime${i % 2 ? '' : 'X'}`;

    it('two processes patching at once lose none of each other\'s updates (2 × 30 patches)', async () => {
      const file = join(dir, 'volatile-props.json');
      const here = new VolatileProps(file);
      await here.load();
      const other = child(runChild(`
const { VolatileProps } = await import(${dist('backends/git/volatile-props.js')});
const v = new VolatileProps(${JSON.stringify(file)});
await v.load();
out('READY');
commands(async (line) => {
  for (let i = 0; i < Number(line); i++) {
    await v.patch('/other' + (i % 5), [{ op: 'set', name: '{urn:schemas-microsoft-com:}Win32Other' + i, value: String(i) }]);
    await v.patch('/shared', [{ op: 'set', name: '{urn:schemas-microsoft-com:}Win32FromOther' + i, value: 'o' }]);
  }
  out('DONE');
});
`));
      await other.next(/^READY/);
      other.send('30');
      for (let i = 0; i < 30; i++) {
        await here.patch(`/here${i % 5}`, [{ op: 'set', name: name(i), value: String(i) }]);
        await here.patch('/shared', [{ op: 'set', name: `{urn:schemas-microsoft-com:}Win32FromHere${i}`, value: 'h' }]);
      }
      await other.next(/^DONE/);
      // Read here (the other's saves are picked up) and from a fresh reader.
      const fresh = new VolatileProps(file);
      await fresh.load();
      for (const v of [here, fresh]) {
        assert.equal((await v.get('/shared')).size, 60, 'both processes\' properties on one path');
        let others = 0;
        for (let k = 0; k < 5; k++) others += (await v.get(`/other${k}`)).size;
        assert.equal(others, 30);
        assert.equal((await v.get('/here0')).size, 2);
      }
      here.close();
      fresh.close();
    });

    it('a process killed holding the volatile properties\' lock: the next patch takes it over', async () => {
      const file = join(dir, 'volatile-props.json');
      const holder = child(holderChild(`${file}.lock`));
      await holder.next(/^HELD/);
      await holder.kill('SIGKILL');
      const v = new VolatileProps(file);
      await v.patch('/x', [{ op: 'set', name: name(1), value: 'after' }]);
      const fresh = new VolatileProps(file);
      assert.equal((await fresh.get('/x')).get(name(1)), 'after');
      v.close();
      fresh.close();
    });
  });
});

function readJsonNames(dir: string): string[] {
  try {
    return readdirSync(join(dir, 'locks')).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
}

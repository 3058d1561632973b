/**
 * The git backend's own catch-up on a collection (changesSinceState, backends/git/catch-up.ts): what
 * the UID index follows. Its work follows the change, not the open burst (a step count, after 2,000
 * writes into one folder in one burst); across commits, another process's writes and a folder
 * replaced whole, applying the changes it reports to what it reported before always gives the
 * folder's listing (a property over random operations).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { catchUpWork } from '../backends/git/catch-up.js';
import type { GitBackend } from '../backends/git/index.js';
import type { SyncState } from '../backends/capabilities.js';
import { BackendError } from '../backends/errors.js';
import { body, journalRepos } from './helpers/journal-backends.js';

const write = (b: GitBackend, path: string, text: string) => b.write(path, body(text), { length: Buffer.byteLength(text) });

/** A folder's members as the catch-up's caller keeps them: name → ETag. */
class Follower {
  readonly known = new Map<string, string>();
  private state: SyncState | undefined;
  restarts = 0;
  constructor(private readonly b: GitBackend, private readonly dir: string) {}

  async catchUp(): Promise<{ changed: number; removed: number }> {
    let set;
    try {
      set = await this.b.changesSinceState(this.dir, this.state);
    } catch (err) {
      if (!(err instanceof BackendError && err.code === 'InvalidSyncToken')) throw err;
      this.restarts++;
      this.known.clear();
      set = await this.b.changesSinceState(this.dir, undefined);
    }
    for (const p of set.removed) this.known.delete(p);
    for (const e of set.changed) this.known.set(e.path, e.etag);
    this.state = set.state;
    return { changed: set.changed.length, removed: set.removed.length };
  }
}

async function listing(b: GitBackend, dir: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for await (const e of b.list(dir)) m.set(e.path, e.etag);
  return m;
}

describe('git catch-up (changesSinceState)', function () {
  this.timeout(300_000);
  const repos = journalRepos('gitdav-catchup-');
  after(() => repos.removeAll());

  it('after 2,000 writes in one open burst, a catch-up after one more looks at that one member', async () => {
    const { b } = await repos.open();
    try {
      await b.mkcol('/book');
      const f = new Follower(b, '/book');
      await f.catchUp();
      for (let i = 0; i < 2000; i++) {
        await write(b, `/book/c${i}.vcf`, `card ${i}\n`);
        if (i % 500 === 0) await f.catchUp();
      }
      await f.catchUp();
      assert.equal(f.known.size, 2000);
      const before = catchUpWork.looked;
      await write(b, '/book/c7.vcf', 'card 7 changed\n');
      const got = await f.catchUp();
      assert.deepEqual(got, { changed: 1, removed: 0 });
      assert.equal(catchUpWork.looked - before, 1, 'one member looked up, not the burst');
      await b.remove('/book/c8.vcf');
      assert.deepEqual(await f.catchUp(), { changed: 0, removed: 1 });
      // Across the commit: the burst's members are named once (the commit's paths), then again O(change).
      await b.commitJournal();
      await write(b, '/book/c9.vcf', 'card 9 changed\n');
      await f.catchUp();
      const afterCommit = catchUpWork.looked;
      await write(b, '/book/c10.vcf', 'card 10 changed\n');
      assert.deepEqual(await f.catchUp(), { changed: 1, removed: 0 });
      assert.equal(catchUpWork.looked - afterCommit, 1);
      assert.deepEqual(f.known, await listing(b, '/book'));
      assert.equal(f.restarts, 0);
    } finally {
      await b.close();
    }
  });

  it('applying what each catch-up reports always gives the listing (random writes, commits, a second process, the folder replaced)', async () => {
    const name = fc.constantFrom('a', 'b', 'c', 'd');
    const op = fc.oneof(
      fc.record({ op: fc.constant('put' as const), name, text: fc.string({ maxLength: 6 }), other: fc.boolean() }),
      fc.record({ op: fc.constant('delete' as const), name, other: fc.boolean() }),
      fc.record({ op: fc.constant('move' as const), name, to: name, other: fc.boolean() }),
      fc.record({ op: fc.constant('moveout' as const), name, other: fc.boolean() }),
      fc.record({ op: fc.constant('movein' as const), name, other: fc.boolean() }),
      fc.record({ op: fc.constant('props' as const), name, other: fc.boolean() }),
      fc.record({ op: fc.constant('commit' as const), other: fc.boolean() }),
      fc.record({ op: fc.constant('replace' as const), other: fc.boolean() }),
      fc.record({ op: fc.constant('catchup' as const), other: fc.constant(false) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 16 }), async (ops) => {
        const { root, b } = await repos.open();
        const { b: b2 } = await repos.open({}, root); // another process's view of the same repository
        try {
          await b.mkcol('/col');
          await b.mkcol('/side');
          await write(b, '/side/x', 'outside');
          const f = new Follower(b, '/col');
          await f.catchUp();
          for (const o of ops) {
            const w = o.other ? b2 : b;
            await (async () => {
              if (o.op === 'put') await write(w, `/col/${o.name}`, o.text);
              else if (o.op === 'delete') await w.remove(`/col/${o.name}`);
              else if (o.op === 'move') await w.move(`/col/${o.name}`, `/col/${o.to}`, { overwrite: true });
              else if (o.op === 'moveout') await w.move(`/col/${o.name}`, '/side/x', { overwrite: true });
              else if (o.op === 'movein') await w.copy('/side/x', `/col/${o.name}`, { overwrite: true, depth: 'infinity' });
              else if (o.op === 'props') await w.patchProps(`/col/${o.name}`, [{ op: 'set', name: '{urn:t}p', value: 'v' }]);
              else if (o.op === 'commit') await w.commitJournal();
              else if (o.op === 'replace') {
                await w.remove('/col');
                await w.mkcol('/col');
                await write(w, '/col/a', 'new a');
              } else await f.catchUp();
            })().catch((err: unknown) => {
              if (!(err instanceof BackendError)) throw err;
            });
          }
          await f.catchUp();
          assert.deepEqual(f.known, await listing(b, '/col'));
        } finally {
          await b2.close();
          await b.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});

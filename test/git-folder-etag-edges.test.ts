/**
 * The edges of an edited folder's ETag and sync token (issue 14, B4; the review of the first cut):
 * a folder whose only change is inside an edited subfolder gets a new token (a client polling
 * getctag sees it; sync-collection does not hand back the same token), a truncated sync-collection
 * from a token naming an edited subfolder writes no corrupt tree, a record renumbered after a failed
 * append never takes the ETag of the one a reader saw, and a writer's guard reads the ETag of the
 * view its batch was built on. In process, two backends on one repository where two processes are needed.
 */
import assert from 'node:assert/strict';
import type { Entry } from '../backends/backend.js';
import type { GitBackend } from '../backends/git/index.js';
import { journalFaults } from '../backends/git/journal/journal.js';
import { body, journalRepos } from './helpers/journal-backends.js';
import { tool } from './helpers/tools.js';

const paths = (list: Entry[]) => list.map((e) => e.path.replace(/\/$/, '')).sort();

describe('git: edges of an edited folder\'s ETag and sync token (issue 14, B4)', function () {
  this.timeout(60_000);
  const { open, removeAll } = journalRepos('gitdav-fetag-e-');
  after(removeAll);
  afterEach(() => {
    for (const k of Object.keys(journalFaults)) delete journalFaults[k as keyof typeof journalFaults];
  });

  /** A repository whose tip has /dir/f.txt and /dir/sub/a.txt; bursts stay open. */
  async function seeded(): Promise<{ root: string; b: GitBackend }> {
    const o = await open();
    await o.b.mkcol('/dir');
    await o.b.mkcol('/dir/sub');
    for (const p of ['/dir/f.txt', '/dir/sub/a.txt']) await o.b.write(p, body(p), { length: p.length });
    await o.b.commitJournal();
    return o;
  }
  const put = (b: GitBackend, path: string, text = path) => b.write(path, body(text), { length: text.length });

  it('a change only inside an edited subfolder is a new sync token, the same in two processes, and a sync from the old one does not hand it back', async () => {
    const { root, b } = await seeded();
    const two = (await open({}, root)).b;
    try {
      await put(b, '/dir/sub/b.txt');
      const x = await b.syncToken('/dir');
      assert.equal(await two.syncToken('/dir'), x, 'one state, one token in both processes');
      await put(b, '/dir/g.txt');
      const quiet = await b.changes('/dir', x);
      assert.deepEqual(paths(quiet.changed), ['/dir/g.txt'], 'the subfolder did not change since the token');
      await put(b, '/dir/sub/c.txt');
      const y = await b.syncToken('/dir');
      assert.notEqual(y, x, 'something inside /dir/sub changed: a new token (getctag)');
      assert.equal(await two.syncToken('/dir'), y);
      const since = await b.changes('/dir', x);
      assert.deepEqual(paths(since.changed), ['/dir/g.txt', '/dir/sub']);
      assert.equal(since.token, y);
      assert.notEqual(since.token, x, 'not the token it was asked from: a client would loop');
      assert.deepEqual((await b.changes('/dir', since.token)).changed, [], 'nothing since the token handed out');
    } finally {
      await two.close();
      await b.close();
    }
  });

  it('a truncated sync-collection from a token naming an edited subfolder writes no corrupt tree, and stays exact', async () => {
    const { b } = await seeded();
    try {
      await put(b, '/dir/sub/b.txt');
      const t1 = await b.syncToken('/dir');
      for (const p of ['/dir/a.txt', '/dir/c.txt', '/dir/sub/c.txt']) await put(b, p);
      const first = await b.changes('/dir', t1, 1);
      assert.equal(first.truncated, true);
      assert.deepEqual(paths(first.changed), ['/dir/a.txt']);
      const fsck = await tool('git', ['--git-dir', b.gitdir, 'fsck', '--no-dangling']);
      assert.equal(fsck.code, 0, `git fsck: ${fsck.stdout}${fsck.stderr}`);
      const rest = await b.changes('/dir', first.token);
      assert.deepEqual(paths(rest.changed), ['/dir/c.txt', '/dir/sub'], 'the changes not reported yet, and only those');
      assert.deepEqual(rest.removed, []);
      assert.deepEqual((await b.changes('/dir', rest.token)).changed, []);
    } finally {
      await b.close();
    }
  });

  it('a record renumbered after a failed append never gets the ETag of the one another process saw', async () => {
    const { root, b: writer } = await seeded();
    const reader = (await open({}, root)).b;
    try {
      let seen: { etag: string; names: string[] } | undefined;
      journalFaults.datasync = async () => {
        delete journalFaults.datasync;
        // The record's bytes are in the file: another process reads and serves them before the fdatasync fails.
        const names: string[] = [];
        for await (const e of reader.list('/dir')) names.push(e.path);
        seen = { etag: (await reader.stat('/dir'))!.etag, names };
        throw Object.assign(new Error('EIO: fdatasync failed'), { code: 'EIO' });
      };
      await assert.rejects(put(writer, '/dir/x.txt'));
      assert.ok(seen?.names.includes('/dir/x.txt'), `the reader saw the failed record: ${seen?.names.join(' ')}`);
      await put(writer, '/dir/y.txt'); // numbered with the seq the failed record had
      const now = (await reader.stat('/dir'))!.etag;
      const seqOf = (etag: string) => etag.split('-')[3];
      assert.equal(seqOf(now), seqOf(seen!.etag), 'the same seq: the case at hand');
      assert.notEqual(now, seen!.etag, 'another content, another ETag');
      assert.equal((await writer.stat('/dir'))!.etag, now, 'both processes agree on the new state');
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it("a writer's guard reads the journal-named ETag of the view its batch was built on, however many views were published meanwhile", async () => {
    const { root, b } = await seeded();
    const two = (await open({}, root)).b;
    const git = async (...args: string[]) => {
      const r = await tool('git', ['--git-dir', b.gitdir, ...args]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    try {
      await put(b, '/dir/sub/b.txt');
      // Another process changes /dir: this one's batch catches up with a state of /dir it never read.
      await put(two, '/dir/w.txt');
      const etag = (await two.stat('/dir'))!.etag;
      let inGuard = '';
      await b.write('/dir/z.txt', body('z'), {
        length: 1,
        guard: async (g) => {
          // Native commits (same tree, new tip): every refresh in this process publishes a new view.
          for (let i = 0; i < 6; i++) {
            const tip = await git('rev-parse', 'refs/heads/main');
            const commit = await git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit-tree', `${tip}^{tree}`, '-p', tip, '-m', `native ${i}`);
            await git('update-ref', 'refs/heads/main', commit);
            await b.stat('/');
          }
          inGuard = (await g.stat('/dir'))!.etag;
        },
      });
      assert.equal(inGuard, etag, 'the ETag a client holds, not the tree hash (a spurious 412 on If-Match)');
    } finally {
      await two.close();
      await b.close();
    }
  });
});

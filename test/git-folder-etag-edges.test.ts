/**
 * The edges of an edited folder's ETag and sync token (issue 14, B4; the review of the first cut):
 * a record renumbered after a failed append never takes the ETag of the one a reader saw. In process, two backends on one repository where two processes are needed.
 */
import assert from 'node:assert/strict';
import type { GitBackend } from '../backends/git/index.js';
import { journalFaults } from '../backends/git/journal/journal.js';
import { body, journalRepos } from './helpers/journal-backends.js';

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
});

/**
 * A tree holding a file and a folder of one name (`git mktree` makes one; git fsck calls it
 * duplicateEntries, so only a foreign writer does). The git backend answers for it as it always did,
 * from the folder's slot map: one member per name, the last of that name in tree order (the folder,
 * as `a/` sorts after `a`), the same whatever is cached, for a folder small or big enough (5,000
 * members) to be searched rather than mapped when it is in order.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObjectStore } from '../backends/git/objects.js';
import { isGitOrdered } from '../backends/git/object-format.js';
import { TreeEditor, type Slot } from '../backends/git/tree.js';
import { raw, startTestServer } from './helpers/server.js';
import { tool } from './helpers/tools.js';

const PLACEHOLDER = { name: '.keep', oid: 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391' };

async function git(dir: string, args: string[], input?: string): Promise<string> {
  const r = await tool('git', ['--git-dir', dir, ...args], { input });
  assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

describe('git: a tree with a file and a folder of one name', function () {
  this.timeout(120_000);
  let tmp: string;
  let repo: string;
  let blob: string;
  let inner: string;
  /**
   * Root trees whose `big` folder holds a file `a`, a folder `a`, `a-b` and `others` more files; by
   * `others` and a suffix naming one more file, so that each test's tree is new to every cache.
   */
  const roots = new Map<string, string>();

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'gitdav-dup-'));
    repo = join(tmp, 'repo.git');
    await tool('git', ['init', '--quiet', '--bare', '-b', 'main', repo]);
    blob = await git(repo, ['hash-object', '-w', '--stdin'], 'file a\n');
    inner = await git(repo, ['mktree', '-z'], `100644 blob ${blob}\tin.txt\0`);
    for (const others of [0, 5000]) {
      for (const extra of ['', 'look', 'list']) {
        const lines = [`100644 blob ${blob}\ta\0`, `040000 tree ${inner}\ta\0`, `100644 blob ${blob}\ta-b\0`];
        for (let i = 0; i < others; i++) lines.push(`100644 blob ${blob}\tf${i}.txt\0`);
        if (extra) lines.push(`100644 blob ${blob}\t${extra}\0`);
        const big = await git(repo, ['mktree', '-z'], lines.join(''));
        roots.set(`${others}${extra}`, await git(repo, ['mktree', '-z'], `040000 tree ${big}\tbig\0`));
      }
    }
    const commit = await git(repo, ['commit-tree', '-m', 'duplicates', roots.get('5000')!]);
    await git(repo, ['update-ref', 'refs/heads/main', commit]);
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  for (const others of [0, 5000]) {
    it(`the editor finds and lists the folder, looked up first or listed first (${others + 4} members)`, async () => {
      const folder: Slot = { kind: 'dir', oid: inner };
      const members = async (e: TreeEditor) => [...(await e.members((await e.get('/big')) as Slot & { kind: 'dir' }))].filter(([n]) => n.startsWith('a'));
      // Each order on a tree of its own, so nothing is cached from the other.
      const lookFirst = new TreeEditor(new ObjectStore(repo), roots.get(`${others}look`)!, PLACEHOLDER);
      assert.deepEqual(await lookFirst.get('/big/a'), folder);
      assert.deepEqual(await lookFirst.get('/big/a/in.txt'), { kind: 'file', mode: '100644', oid: blob });
      assert.deepEqual(await members(lookFirst), [['a', folder], ['a-b', { kind: 'file', mode: '100644', oid: blob }]]);
      const store = new ObjectStore(repo);
      const listFirst = new TreeEditor(store, roots.get(`${others}list`)!, PLACEHOLDER);
      const big = (await listFirst.get('/big')) as Slot & { kind: 'dir' };
      assert.equal(isGitOrdered(await store.readTree(big.oid!)), false);
      assert.deepEqual(await members(listFirst), [['a', folder], ['a-b', { kind: 'file', mode: '100644', oid: blob }]]);
      assert.equal([...(await listFirst.members(big))].length, others + 3);
      assert.deepEqual(await listFirst.get('/big/a'), folder);
    });
  }

  it('a PROPFIND lists one response per href (the folder a/), and GET reads inside the folder', async () => {
    const s = await startTestServer({ backend: 'git', root: repo });
    try {
      const res = await raw(s.url, '/big/', { method: 'PROPFIND', headers: { Depth: '1' } });
      assert.equal(res.status, 207);
      const hrefs = [...res.text.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]!);
      assert.equal(hrefs.length, 5000 + 3, 'the folder itself, a/, a-b and 5,000 files');
      assert.equal(new Set(hrefs).size, hrefs.length, 'one response per href');
      assert.ok(hrefs.includes('/big/a/') && !hrefs.includes('/big/a'));
      const get = await raw(s.url, '/big/a/in.txt');
      assert.equal(get.status, 200);
      assert.equal(get.text, 'file a\n');
    } finally {
      await s.close();
    }
  });
});

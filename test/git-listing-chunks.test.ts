/**
 * backends/git/list-members.ts sends a folder's members in chunks of 256, each chunk's blob sizes
 * read for it alone. A folder of 600 members (three chunks), made by native git so no size is known
 * to the server, lists through the server in git's tree order with every size right, cold and warm;
 * a corrupt blob in the last chunk is made up and the multistatus is still complete.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { raw, startTestServer, type TestServer } from './helpers/server.js';
import { tool } from './helpers/tools.js';

const MEMBERS = 600;
const name = (i: number) => `f${String(i).padStart(3, '0')}.txt`;
const content = (i: number) => `member ${i}\n`.repeat((i % 7) + 1);

async function git(dir: string, args: string[], input?: string): Promise<string> {
  const r = await tool('git', ['--git-dir', dir, ...args], { input });
  assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The Depth-1 listing of /big/ as [href, getcontentlength or null], in the order sent. */
async function listing(s: TestServer): Promise<[string, number | null][]> {
  const res = await raw(s.url, '/big/', { method: 'PROPFIND', headers: { Depth: '1' } });
  assert.equal(res.status, 207);
  assert.match(res.text, /<\/D:multistatus>\s*$/, 'complete');
  return [...res.text.matchAll(/<D:response><D:href>([^<]*)<\/D:href>(.*?)<\/D:response>/gs)].map((m) => {
    const size = /<D:getcontentlength>(\d+)<\/D:getcontentlength>/.exec(m[2]!);
    return [m[1]!, size ? Number(size[1]) : null];
  });
}

describe('git: a listing longer than one chunk (600 members)', function () {
  this.timeout(120_000);
  let tmp: string;
  let repo: string;
  /** What git says: [href, size or null for a folder], in tree order. */
  let expected: [string, number | null][];
  let lastOid: string;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'gitdav-chunks-'));
    repo = join(tmp, 'repo.git');
    await tool('git', ['init', '--quiet', '--bare', '-b', 'main', repo]);
    // The last member is a loose object (fast-import writes a pack), so it can be corrupted below.
    lastOid = (await git(repo, ['hash-object', '-w', '--stdin'], content(MEMBERS - 1))).trim();
    const lines = ['commit refs/heads/main', 'committer T <t@example.org> 1700000000 +0000', 'data 4', 'big', ''];
    for (let i = 0; i < MEMBERS - 1; i++) {
      const body = Buffer.from(content(i));
      lines.push(`M 100644 inline big/${name(i)}`, `data ${body.length}`, body.toString());
    }
    lines.push(`M 100644 ${lastOid} big/${name(MEMBERS - 1)}`, 'M 100644 inline big/f100/x.txt', 'data 2', 'x', '');
    await git(repo, ['fast-import', '--quiet'], lines.join('\n'));
    expected = (await git(repo, ['ls-tree', '-l', 'main:big']))
      .trim()
      .split('\n')
      .map((line) => {
        const [meta, file] = line.split('\t');
        const [, type, , size] = meta!.split(/\s+/);
        return type === 'tree' ? [`/big/${file}/`, null] : [`/big/${file}`, Number(size)];
      });
    assert.equal(expected.length, MEMBERS + 1);
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  it('lists every member in tree order with its size, cold and warm', async () => {
    const s = await startTestServer({ backend: 'git', root: repo });
    try {
      for (const when of ['cold', 'warm']) {
        const got = await listing(s);
        assert.deepEqual(got[0], ['/big/', null], when);
        assert.deepEqual(got.slice(1), expected, when);
      }
    } finally {
      await s.close();
    }
  });

  it('a corrupt blob in the last chunk is made up; the rest are listed as before and the multistatus is complete', async () => {
    const object = join(repo, 'objects', lastOid.slice(0, 2), lastOid.slice(2));
    await chmod(object, 0o644);
    await writeFile(object, 'garbage');
    const s = await startTestServer({ backend: 'git', root: repo });
    try {
      const got = await listing(s);
      assert.deepEqual(got.map(([h]) => h), ['/big/', ...expected.map(([h]) => h)], 'every member, in order');
      const last = `/big/${name(MEMBERS - 1)}`;
      assert.deepEqual(got.slice(1).filter(([h]) => h !== last), expected.filter(([h]) => h !== last), 'sizes of the rest');
      assert.notDeepEqual(got.at(-1), expected.at(-1), 'the corrupt member is made up (its size unknown)');
    } finally {
      await s.close();
    }
  });
});

/**
 * The pack reader against packs written by native git: whole objects, OFS_DELTA and REF_DELTA
 * chains, every object read back and hashed to its id; and a server on a packed repository.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObjectStore } from '../backends/git/objects.js';
import { raw, startTestServer } from './helpers/server.js';
import { tool } from './helpers/tools.js';

describe('git packs (own reader)', function () {
  this.timeout(60_000);
  let dir: string;
  let work: string;
  const git = async (...args: string[]) => {
    const r = await tool('git', args, { cwd: work, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
    assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-pack-'));
    work = join(dir, 'work');
    await tool('git', ['init', '-q', '-b', 'main', work]);
    // Many versions of similar text files: git stores most of them as deltas.
    let text = Array.from({ length: 400 }, (_, i) => `line ${i} of a long and repetitive document\n`).join('');
    for (let v = 0; v < 40; v++) {
      text = text.replace(`line ${v * 7} `, `line ${v * 7} (edited in v${v}) `);
      await writeFile(join(work, 'doc.txt'), text);
      await writeFile(join(work, `copy-${v % 3}.txt`), text + `tail ${v}\n`);
      await git('add', '.');
      await git('commit', '-qm', `v${v}`);
    }
    await writeFile(join(work, 'big.bin'), Buffer.alloc(3_000_000, 7));
    // Incompressible bytes and many small files: objects sit past and across the reader's 256 KiB windows.
    const { randomBytes } = await import('node:crypto');
    for (let i = 0; i < 3; i++) await writeFile(join(work, `random-${i}.bin`), randomBytes(300_000 + i * 1000));
    for (let i = 0; i < 300; i++) await writeFile(join(work, `small-${i}.txt`), `small file ${i}\n`.repeat(1 + (i % 40)) + randomBytes(i).toString('hex'));
    await git('add', '.');
    await git('commit', '-qm', 'big');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const [label, config] of [
    ['OFS_DELTA', 'repack.useDeltaBaseOffset=true'],
    ['REF_DELTA', 'repack.useDeltaBaseOffset=false'],
  ] as const) {
    it(`reads every object of a fully packed repository (${label}) and each hashes to its id`, async () => {
      await git('-c', config, 'repack', '-a', '-d', '-f', '-q', '--depth=50', '--window=50');
      await git('prune-packed');
      const ids = (await git('cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype) %(objectsize)')).trim().split('\n');
      const packs = (await tool('sh', ['-c', 'ls .git/objects/pack/*.idx'], { cwd: work })).stdout.trim().split('\n');
      const verify = await git('verify-pack', '-v', ...packs);
      assert.match(verify, /chain length = \d+/, 'the pack has delta chains');
      const store = new ObjectStore(join(work, '.git'));
      for (const line of ids) {
        const [oid, type, size] = line.split(' ') as [string, string, string];
        // Size first: afterwards it would come from the cache the read fills.
        if (type === 'blob') assert.equal(await store.blobSize(oid), Number(size), `size of ${oid}`);
        const got = await store.readRaw(oid);
        assert.equal(got.type, type, oid);
        assert.equal(got.content.length, Number(size), oid);
        const hash = createHash('sha1').update(`${type} ${size}\0`).update(got.content).digest('hex');
        assert.equal(hash, oid);
      }
      await store.packs.close();
    });
  }

  it('serves a packed repository: files, ranges, history and a write on top', async () => {
    const s = await startTestServer({ root: join(work, '.git'), backend: 'git' });
    try {
      const doc = (await git('show', 'main:doc.txt'));
      assert.equal((await raw(s.url, '/doc.txt')).text, doc);
      assert.equal((await raw(s.url, '/doc.txt', { headers: { Range: 'bytes=10-19' } })).text, doc.slice(10, 20));
      const big = await raw(s.url, '/big.bin');
      assert.equal(big.body.length, 3_000_000);
      assert.ok(big.body.every((b) => b === 7));
      const first = (await git('rev-list', '--reverse', 'main')).split('\n')[0]!;
      assert.equal((await raw(s.url, `/.history/commits/${first.slice(0, 7)}/doc.txt`)).text, await git('show', `${first}:doc.txt`));
      assert.equal((await raw(s.url, '/new.txt', { method: 'PUT', body: 'on top of a pack' })).status, 201);
      assert.equal(await git('show', 'main:new.txt'), 'on top of a pack');
      const fsck = await tool('git', ['--git-dir', join(work, '.git'), 'fsck', '--strict']);
      assert.equal(fsck.code, 0, fsck.stderr);
    } finally {
      await s.close();
    }
  });
});

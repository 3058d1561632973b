/**
 * The git backend on its write journal (docs/git-backend.md, "Writing"), in process: what the live
 * overlay (tip + uncommitted records) shows is exactly what the commits then hold; guards run against
 * the overlay; a burst becomes one commit; sync tokens minted on the overlay work; a journal left
 * behind is committed at the next open, each record once.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { GitBackend } from '../backends/git/index.js';
import { body, journalRepos, LONG, until } from './helpers/journal-backends.js';
import { BackendError } from '../backends/errors.js';
import { tool } from './helpers/tools.js';


const git = (dir: string, ...args: string[]) => tool('git', ['--git-dir', dir, ...args]);
const write = (b: GitBackend, path: string, text: string, options = {}) => b.write(path, body(text), { length: Buffer.byteLength(text), ...options });

/** Every path under `dir` with its ETag's id (file: blob id, folder: tree id), as the backend shows them. */
async function walk(b: GitBackend, dir = '/', out = new Map<string, string>()): Promise<Map<string, string>> {
  for await (const e of b.list(dir)) {
    // A folder with uncommitted records has a journal-named ETag, not its tree id (docs/git-backend.md,
    // "ETags and sync tokens of folders the journal changed"): folders compare by kind, files by blob id.
    out.set(e.path.slice(1), e.kind === 'collection' ? 'tree' : e.etag.slice(1, -1));
    if (e.kind === 'collection') await walk(b, e.path, out);
  }
  return out;
}

/** The same from git: `git ls-tree -r -t` without the sidecars. */
async function committed(dir: string): Promise<Map<string, string>> {
  const r = await git(dir, 'ls-tree', '-r', '-t', 'main');
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [meta, path] = line.split('\t') as [string, string];
    const [, type, oid] = meta.split(' ') as [string, string, string];
    if (!path.split('/').includes('.davprops')) out.set(path, type === 'tree' ? 'tree' : oid);
  }
  return out;
}

async function trailerSeqs(dir: string): Promise<number[]> {
  const r = await git(dir, 'log', '--format=%(trailers:key=Gitdav-Journal,valueonly)', 'main');
  return r.stdout.split('\n').filter(Boolean).map((v) => Number(v.split(' ')[1]));
}

describe('git backend on the write journal', function () {
  this.timeout(120_000);
  const { open, removeAll } = journalRepos('gitdav-journal-');
  after(removeAll);

  it('the overlay shows exactly what the commits then hold (random operations)', async () => {
    const name = fc.constantFrom('/a', '/b', '/d', '/d/a', '/d/b', '/d/e', '/d/e/a', '/f/a');
    const op = fc.oneof(
      fc.record({ op: fc.constant('put' as const), path: name, text: fc.constantFrom('', 'x', 'y', 'zz') }),
      fc.record({ op: fc.constant('mkcol' as const), path: name }),
      fc.record({ op: fc.constant('delete' as const), path: name }),
      fc.record({ op: fc.constantFrom('move' as const, 'copy' as const), path: name, to: name }),
      fc.record({ op: fc.constant('props' as const), path: name, to: fc.constantFrom('p', 'q') }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), fc.boolean(), async (ops, commitMidway) => {
        const { root, b } = await open();
        try {
          for (const [i, o] of ops.entries()) {
            await (async () => {
              if (o.op === 'put') await write(b, o.path, o.text);
              else if (o.op === 'mkcol') await b.mkcol(o.path);
              else if (o.op === 'delete') await b.remove(o.path);
              else if (o.op === 'move') await b.move(o.path, o.to, { overwrite: true });
              else if (o.op === 'copy') await b.copy(o.path, o.to, { overwrite: true, depth: 'infinity' });
              else await b.patchProps(o.path, [{ op: 'set', name: '{urn:t}p', value: o.to }]);
            })().catch((err: unknown) => {
              if (!(err instanceof BackendError)) throw err;
            });
            // Half the runs commit in the middle: the overlay then stands on a newer tip.
            if (commitMidway && i === Math.floor(ops.length / 2)) await (b as unknown as { committer: { commitAll(): Promise<void> } }).committer.commitAll();
          }
          const shown = await walk(b);
          await b.close();
          if (shown.size === 0) assert.equal((await git(root, 'ls-tree', '-r', 'main')).stdout.replace(/.*\.davprops\n?/g, ''), '');
          else assert.deepEqual(await committed(root), shown);
          const seqs = await trailerSeqs(root);
          assert.equal(new Set(seqs).size, seqs.length, 'no record committed twice');
          assert.equal((await git(root, 'fsck', '--strict', '--no-progress')).code, 0);
        } finally {
          await rm(root, { recursive: true, force: true });
        }
      }),
      { numRuns: 25 },
    );
  });

  it('guards run against the overlay: a stale ETag fails, a journaled folder takes writes', async () => {
    const { root, b } = await open();
    await write(b, '/a.txt', 'one');
    const first = (await b.stat('/a.txt'))!.etag;
    const ifMatch = (etag: string) => ({
      guard: async (v: { stat(p: string): Promise<{ etag: string } | null> }) => {
        if ((await v.stat('/a.txt'))?.etag !== etag) throw new BackendError('Conflict', '/a.txt', 'stale');
      },
    });
    await write(b, '/a.txt', 'two', ifMatch(first));
    await assert.rejects(write(b, '/a.txt', 'three', ifMatch(first)), (e: unknown) => e instanceof BackendError && e.code === 'Conflict');
    await b.mkcol('/new');
    await write(b, '/new/x.txt', 'inside');
    assert.equal((await b.stat('/new/x.txt'))?.kind, 'file');
    await assert.rejects(b.mkcol('/new'), (e: unknown) => e instanceof BackendError && e.code === 'AlreadyExists');
    // Partial write on a journaled file: its basis is the overlay's blob.
    await b.write('/a.txt', body('TW'), { offset: 0, length: 2 });
    const chunks: Buffer[] = [];
    for await (const c of await b.read('/a.txt')) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'TWo');
    assert.equal((await git(root, 'rev-parse', '--verify', '-q', 'main')).code, 1, 'nothing committed yet');
    await b.close();
  });

  it('sync tokens minted on the overlay work, before and after the commit', async () => {
    const { root, b } = await open();
    await b.mkcol('/cal');
    const t0 = await b.syncToken('/cal');
    await write(b, '/cal/x.ics', 'x');
    const c1 = await b.changes('/cal', t0);
    assert.deepEqual(c1.changed.map((e) => e.path), ['/cal/x.ics']);
    await write(b, '/cal/y.ics', 'y');
    const c2 = await b.changes('/cal', c1.token);
    assert.deepEqual(c2.changed.map((e) => e.path), ['/cal/y.ics']);
    await b.close();
    const again = await GitBackend.open({ root });
    const c3 = await again.changes('/cal', c2.token);
    assert.deepEqual([c3.changed.length, c3.removed.length], [0, 0]);
    await again.remove('/cal/x.ics');
    assert.deepEqual((await again.changes('/cal', c2.token)).removed, ['/cal/x.ics']);
    await again.close();
  });

  it('a burst becomes one commit once its window closes', async () => {
    const { root, b } = await open({ burstWindowMs: 300 });
    for (let i = 0; i < 5; i++) await write(b, `/f${i}.txt`, `file ${i}`);
    await until('the burst is committed', async () => (await git(root, 'rev-parse', '--verify', '-q', 'main')).code === 0);
    assert.equal((await git(root, 'rev-list', '--count', 'main')).stdout.trim(), '1');
    assert.equal((await committed(root)).size, 5);
    await b.close();
  });

  it('a journal left behind is committed at the next open, each record once', async () => {
    const { root, b } = await open();
    await write(b, '/left.txt', 'left');
    await b.mkcol('/dir');
    await write(b, '/dir/in.txt', 'in');
    // What a crash leaves: the journal, no commit (the backend is dropped without close()). The next
    // open commits the bursts closed by now (here: a window of 1 ms has passed since each record).
    await new Promise((r) => setTimeout(r, 5));
    const other = await GitBackend.open({ root, burstWindowMs: 1 });
    assert.deepEqual([...(await committed(root)).keys()].sort(), ['dir', 'dir/in.txt', 'left.txt']);
    assert.equal(Math.max(...(await trailerSeqs(root))), 3);
    await write(other, '/next.txt', 'next');
    await other.close();
    await b.close(); // commits nothing more: everything is in already
    const seqs = await trailerSeqs(root);
    assert.equal(new Set(seqs).size, seqs.length);
    assert.equal((await git(root, 'fsck', '--strict', '--no-progress')).code, 0);
  });

  it('git gc (default prune grace, as gc --auto runs it) while the journal holds records loses nothing', async () => {
    const { root, b } = await open();
    await write(b, '/before.txt', 'committed');
    await (b as unknown as { committer: { commitAll(): Promise<void> } }).committer.commitAll();
    await b.mkcol('/j');
    await write(b, '/j/only-in-journal.txt', 'journal');
    // Packs what is reachable; the journal's blob and trees are unreachable and young: kept loose.
    assert.equal((await git(root, 'gc', '--quiet')).code, 0);
    const chunks: Buffer[] = [];
    for await (const c of await b.read('/j/only-in-journal.txt')) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'journal');
    await b.close();
    assert.equal((await git(root, 'show', 'main:j/only-in-journal.txt')).stdout, 'journal');
    assert.equal((await git(root, 'fsck', '--strict', '--no-progress')).code, 0);
  });

  it('a native commit between bursts and during one keeps both: the journal wins for its paths', async () => {
    const { root, b } = await open();
    await write(b, '/mine.txt', 'mine');
    await b.close();
    const again = await GitBackend.open({ root, burstWindowMs: LONG });
    await write(again, '/burst.txt', 'burst');
    await write(again, '/both.txt', 'journal');
    // A native push lands while the burst is open: it adds native.txt and writes both.txt too.
    const env = { ...process.env, GIT_AUTHOR_NAME: 'n', GIT_AUTHOR_EMAIL: 'n@n', GIT_COMMITTER_NAME: 'n', GIT_COMMITTER_EMAIL: 'n@n' };
    const blob = async (text: string) => (await tool('git', ['--git-dir', root, 'hash-object', '-w', '--stdin'], { input: text })).stdout.trim();
    const tree = (await git(root, 'rev-parse', 'main^{tree}')).stdout.trim();
    const entries = (await git(root, 'ls-tree', tree)).stdout + `100644 blob ${await blob('native')}\tnative.txt\n100644 blob ${await blob('pushed')}\tboth.txt\n`;
    const newTree = (await tool('git', ['--git-dir', root, 'mktree'], { input: entries })).stdout.trim();
    const commit = (await tool('git', ['--git-dir', root, 'commit-tree', newTree, '-p', 'main', '-m', 'native'], { env })).stdout.trim();
    assert.equal((await git(root, 'update-ref', 'refs/heads/main', commit)).code, 0);
    // The overlay stands on the pushed tip at once, the journal's paths on top.
    const text = async (p: string) => {
      const chunks: Buffer[] = [];
      for await (const c of await again.read(p)) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString();
    };
    assert.equal(await text('/native.txt'), 'native');
    assert.equal(await text('/both.txt'), 'journal');
    await again.close();
    const files = await committed(root);
    assert.deepEqual([...files.keys()].sort(), ['both.txt', 'burst.txt', 'mine.txt', 'native.txt']);
    assert.equal((await git(root, 'show', 'main:both.txt')).stdout, 'journal');
    assert.equal((await git(root, 'log', '--format=%s', '-1', 'main~1')).stdout.trim(), 'native');
  });
});

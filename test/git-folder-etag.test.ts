/**
 * The ETag and sync token of a folder the write journal changed and has not committed yet (issue 14,
 * B4): named by the folder's tip tree and the journal records that changed it, not by hashing (or
 * writing) the folder's whole tree per state. On a real server over a repository with a big folder
 * (≥ 4,096 members: edited as layers) and a small one: the ETag changes with every write and never
 * comes back, If-Match with an old one fails, sync-collection from a token taken inside an open burst
 * reports exactly what changed (before and after the commit, after a restart, through another
 * worker), and a step count shows the big folder is not hashed whole per state.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import fc from 'fast-check';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { openGitRepository, type GitRepository } from '../backends/git/repository.js';
import { treeWork } from '../backends/git/tree.js';
import { createApp, listen, type RunningServer } from '../lib/server.js';
import { raw } from './helpers/server.js';
import { syncReport } from './helpers/sync-report.js';
import { tool } from './helpers/tools.js';
import { body, journalRepos, LONG } from './helpers/journal-backends.js';
import type { GitBackend } from '../backends/git/index.js';
import { http, serveWorkers, stopAfterEach, workersThatServed, type Served } from './workers/helpers.js';

const BIG = 5000;
const SMALL = 12;
const JOURNAL_ETAG = /^"[0-9a-f]{40}-[0-9a-f]{32}-\d+-\d+-[0-9a-f]{16}"$/;
const TREE_ETAG = /^"[0-9a-f]{40}"$/;

/** A bare repository whose tip has /big (BIG files) and /small (SMALL files), `f-<i>.txt` each. */
async function seededRepo(): Promise<string> {
  const root = join(await mkdtemp(join(tmpdir(), 'gitdav-fetag-')), 'data');
  const git = async (args: string[], input?: string) => {
    const r = await tool('git', ['--git-dir', root, ...args], { input });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  assert.equal((await tool('git', ['init', '--bare', '-q', '-b', 'main', root])).code, 0);
  const blob = await git(['hash-object', '-w', '--stdin'], 'member\n');
  const folder = (n: number) => git(['mktree'], Array.from({ length: n }, (_, i) => `100644 blob ${blob}\tf-${i}.txt\n`).join(''));
  const top = await git(['mktree'], `040000 tree ${await folder(BIG)}\tbig\n040000 tree ${await folder(SMALL)}\tsmall\n`);
  const commit = await git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit-tree', top, '-m', 'seed']);
  await git(['update-ref', 'refs/heads/main', commit]);
  return root;
}

interface Live {
  url: string;
  repo: GitRepository;
  running: RunningServer;
  close(): Promise<void>;
}

/** The real server in this process (so the test can count tree work), bursts that stay open. */
async function serve(root: string): Promise<Live> {
  const repo = await openGitRepository({ root, burstWindowMs: LONG, burstMaxAgeMs: LONG });
  const running = await listen(await createApp({ backend: repo }), '127.0.0.1', 0);
  return { url: running.url, repo, running, close: () => running.close(1000) };
}

const PROPS = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:sync-token/></D:prop></D:propfind>';

async function state(url: string, path: string): Promise<{ etag: string; token: string }> {
  const r = await raw(url, path, { method: 'PROPFIND', headers: { Depth: '0' }, body: PROPS });
  assert.equal(r.status, 207, r.text);
  const etag = /getetag>([^<]+)</.exec(r.text)?.[1]?.replace(/&quot;/g, '"');
  const token = /sync-token>([^<]+)</.exec(r.text)?.[1];
  assert.ok(etag && token, r.text);
  return { etag, token };
}

/** sync-collection from `token`: hrefs changed and removed, each sorted. */
async function sync(url: string, path: string, token: string): Promise<{ status: number; changed: string[]; removed: string[]; token: string }> {
  const r = await syncReport(url, path, token, { depth: '1' });
  return { status: r.status, changed: [...r.changed.keys()].sort(), removed: [...r.removed].sort(), token: r.token };
}

const work = () => treeWork.hashed + treeWork.flushed;

describe('git: the ETag and sync token of a folder the journal changed (issue 14, B4)', function () {
  this.timeout(180_000);
  let root: string;
  let s: Live | undefined;
  before(async () => {
    root = await seededRepo();
  });
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });
  after(() => rm(join(root, '..'), { recursive: true, force: true }));

  for (const dir of ['/big', '/small']) {
    it(`${dir}: the ETag changes with every PUT and DELETE before any commit, never repeats, and an old one fails If-Match`, async () => {
      s = await serve(root);
      const first = await state(s.url, dir);
      assert.match(first.etag, TREE_ETAG, 'a committed folder: its tree id');
      const seen = [first.etag];
      const before = work();
      for (let i = 0; i < 4; i++) {
        for (const [method, path] of [['PUT', `${dir}/new-${i}.txt`], ['DELETE', `${dir}/f-${i}.txt`]] as const) {
          const r = await raw(s.url, path, { method, body: method === 'PUT' ? `new ${i}` : undefined });
          assert.ok(r.status === 201 || r.status === 204, `${method} ${path}: ${r.status}`);
          const { etag } = await state(s.url, dir);
          assert.match(etag, JOURNAL_ETAG, `${method} ${path}`);
          assert.ok(!seen.includes(etag), `${method} ${path}: a new ETag (${etag})`);
          seen.push(etag);
        }
      }
      // The listing of the folder above says the same as the folder itself.
      const listing = await raw(s.url, '/', { method: 'PROPFIND', headers: { Depth: '1' }, body: PROPS });
      assert.ok(listing.text.replace(/&quot;/g, '"').includes(seen.at(-1)!), 'Depth 1 above shows the same ETag');
      // Steps, not time: the states were named without hashing or writing the folder whole (each costs BIG members).
      if (dir === '/big') assert.ok(work() - before < BIG / 2, `tree members hashed or written: ${work() - before}`);
      // If-Match: an ETag seen before is not the folder's any more; the current one is.
      const patch = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:k xmlns:x="urn:x">v</x:k></D:prop></D:set></D:propertyupdate>';
      assert.equal((await raw(s.url, dir, { method: 'DELETE', headers: { 'If-Match': seen.at(-2)! } })).status, 412);
      assert.equal((await raw(s.url, dir, { method: 'PROPPATCH', headers: { 'If-Match': seen[0]! }, body: patch })).status, 412);
      assert.equal((await raw(s.url, dir, { method: 'PROPPATCH', headers: { 'If-Match': seen.at(-1)! }, body: patch })).status, 207);
      const patched = (await state(s.url, dir)).etag;
      assert.ok(!seen.includes(patched), 'a property change is a new ETag too');
      // Committed: the ETag is the tree id again (one change without a change of content).
      await s.repo.live.commitJournal();
      const committed = (await state(s.url, dir)).etag;
      assert.match(committed, TREE_ETAG);
      assert.ok(!seen.includes(committed) && committed !== patched);
    });

    it(`${dir}: sync-collection from a token taken inside an open burst reports exactly the changes, before and after the commit and a restart`, async () => {
      s = await serve(root);
      assert.equal((await raw(s.url, `${dir}/a0.txt`, { method: 'PUT', body: 'a0' })).status, 201);
      const before = work();
      const { token } = await state(s.url, dir); // taken between writes of the open burst
      assert.equal((await raw(s.url, `${dir}/a1.txt`, { method: 'PUT', body: 'a1' })).status, 201);
      assert.equal((await raw(s.url, `${dir}/f-7.txt`, { method: 'PUT', body: 'changed' })).status, 204);
      assert.equal((await raw(s.url, `${dir}/f-8.txt`, { method: 'DELETE' })).status, 204);
      const prop = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:k xmlns:x="urn:x">v</x:k></D:prop></D:set></D:propertyupdate>';
      assert.equal((await raw(s.url, `${dir}/f-9.txt`, { method: 'PROPPATCH', body: prop })).status, 207);
      const expected = { changed: [`${dir}/a1.txt`, `${dir}/f-7.txt`, `${dir}/f-9.txt`], removed: [`${dir}/f-8.txt`] };
      const open = await sync(s.url, dir, token);
      assert.equal(open.status, 207);
      assert.deepEqual({ changed: open.changed, removed: open.removed }, expected, 'in the open burst');
      if (dir === '/big') assert.ok(work() - before < BIG / 2, `tree members hashed or written: ${work() - before}`);
      const again = await sync(s.url, dir, open.token);
      assert.deepEqual([again.changed, again.removed], [[], []], 'nothing since the token just handed out');
      await s.repo.live.commitJournal();
      const committed = await sync(s.url, dir, token);
      assert.deepEqual({ changed: committed.changed, removed: committed.removed }, expected, 'after the commit');
      assert.deepEqual((await sync(s.url, dir, open.token)).changed, [], 'the token from the open burst, after the commit');
      await s.close();
      s = await serve(root);
      const restarted = await sync(s.url, dir, token);
      assert.deepEqual({ changed: restarted.changed, removed: restarted.removed }, expected, 'after a restart');
      // A token for another collection, or altered, is refused as before.
      assert.equal((await sync(s.url, dir === '/big' ? '/small' : '/big', token)).status, 403);
      assert.equal((await sync(s.url, dir, token.slice(0, -1) + (token.endsWith('0') ? '1' : '0'))).status, 403);
    });
  }

  it('an ETag never names two contents, and two processes on one repository agree: random writes and commits (property)', async () => {
    const { open, removeAll } = journalRepos('gitdav-fetag-p-');
    const name = fc.constantFrom('f-1.txt', 'f-2.txt', 'n-1.txt', 'n-2.txt', 'sub', 'sub/x.txt');
    const op = fc.record({ k: fc.constantFrom('put', 'put', 'delete', 'mkcol', 'commit'), dir: fc.constantFrom('/big', '/small'), name, text: fc.constantFrom('a', 'b') });
    const contentOf = async (b: GitBackend, dir: string) => {
      const out: string[] = [];
      for await (const e of b.list(dir)) out.push(`${e.path} ${e.etag}`);
      return out.sort().join('\n');
    };
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 16 }), async (ops) => {
          const copy = await mkdtemp(join(tmpdir(), 'gitdav-fetag-c-'));
          await cp(root, copy, { recursive: true });
          const { b: one } = await open({}, copy);
          const { b: two } = await open({}, copy);
          const named = new Map<string, string>(); // ETag → the content it was seen with
          try {
            for (const [i, o] of ops.entries()) {
              const b = i % 2 ? two : one;
              const path = `${o.dir}/${o.name}`;
              if (o.k === 'commit') await b.commitJournal();
              else if (o.k === 'put') await b.write(path, body(o.text), { length: 1 }).catch(() => undefined);
              else if (o.k === 'delete') await b.remove(path).catch(() => undefined);
              else await b.mkcol(path).catch(() => undefined);
              for (const dir of ['/big', '/small', '/']) {
                const [e1, e2] = [(await one.stat(dir))!.etag, (await two.stat(dir))!.etag];
                assert.equal(e1, e2, `both processes, ${dir} after op ${i}`);
                const content = await contentOf(one, dir);
                assert.equal(named.get(`${dir} ${e1}`) ?? content, content, `${dir}: ${e1} named two contents (op ${i})`);
                named.set(`${dir} ${e1}`, content);
              }
            }
          } finally {
            await one.close();
            await two.close();
            await rm(copy, { recursive: true, force: true });
          }
        }),
        { numRuns: 6 },
      );
    } finally {
      await removeAll();
    }
  });

  describe('two workers', () => {
    let w: Served | undefined;
    stopAfterEach(() => w, () => (w = undefined));
    const oneEach = new Agent({ keepAlive: false }); // a new connection per request: both workers serve

    it('every worker gives an edited big and small folder the same ETag, and resolves the other one\'s sync token', async () => {
      const repo = await seededRepo();
      w = await serveWorkers(['--root', repo, '--backend', 'git', '--workers', '2', '--no-caldav', '--burst-window-ms', '600000', '--burst-max-age-ms', '600000']);
      const req = (path: string, method: string, body?: string, headers: Record<string, string> = {}) => http(w!.url, path, { method, body, headers, agent: oneEach });
      const seen = new Set<string>();
      let token = '';
      for (let i = 0; i < 3; i++) {
        for (const dir of ['/big', '/small']) {
          assert.equal((await req(`${dir}/w-${i}.txt`, 'PUT', `w ${i}`)).status, 201);
          const etags = new Set<string>();
          for (let k = 0; k < 6; k++) {
            const text = (await req(dir, 'PROPFIND', PROPS, { Depth: '0' })).body.toString();
            etags.add(/getetag>([^<]+)</.exec(text)![1]!.replace(/&quot;/g, '"'));
            if (dir === '/big' && i === 1 && k === 5) token = /sync-token>([^<]+)</.exec(text)![1]!;
          }
          assert.equal(etags.size, 1, `${dir}: one ETag for one state: ${[...etags].join(' ')}`);
          const [etag] = etags;
          assert.match(etag!, JOURNAL_ETAG);
          assert.ok(!seen.has(etag!), `${dir}: a new state, a new ETag`);
          seen.add(etag!);
        }
      }
      for (let k = 0; k < 4; k++) {
        const body = `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>${token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`;
        const r = await req('/big', 'REPORT', body, { Depth: '1' });
        assert.equal(r.status, 207);
        const hrefs = [...r.body.toString().matchAll(/href>([^<]+)</g)].map((m) => m[1]);
        assert.deepEqual(hrefs, ['/big/w-2.txt'], `sync through either worker #${k}`);
      }
      assert.deepEqual([...workersThatServed(w.records())].sort(), [1, 2]);
      await w.stop();
      w = undefined;
      await rm(join(repo, '..'), { recursive: true, force: true });
    });
  });
});

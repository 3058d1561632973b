/**
 * The history pages over HTTP (lib/web/history/): a file's and a folder's history (paging, bounds, a
 * deleted file's history from its versions folder), the commit view (diff lines, side by side,
 * binary files summarised, large diffs collapsed), the diff of two versions, the folder's last
 * commit, and bad input: malformed and unknown revisions, bad pages, a restore from a revision that
 * does not exist (404, nothing changes). On the folder backend the pages say history needs git.
 */
import assert from 'node:assert/strict';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';
import { join } from 'node:path';
import { tool } from '../helpers/tools.js';

const HTML = { Accept: 'text/html' };

async function gitLog(root: string, ...args: string[]): Promise<string> {
  return (await tool('git', ['--git-dir', root, 'log', ...args])).stdout;
}

describe('web interface: history pages (HTTP)', function () {
  this.timeout(120_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: 'git' });
    await raw(s.url, '/docs', { method: 'MKCOL' });
    for (const text of ['one\ntwo\nthree\n', 'one\nTWO\nthree\n', 'one\nTWO\nthree\nfour\n']) {
      assert.equal((await raw(s.url, '/docs/plan.md', { method: 'PUT', body: text })).status < 300, true);
    }
    await raw(s.url, '/docs/gone.txt', { method: 'PUT', body: 'bye\n' });
    await raw(s.url, '/docs/gone.txt', { method: 'DELETE' });
    await raw(s.url, '/docs/pic.bin', { method: 'PUT', body: Buffer.from([1, 0, 2, 3]) });
    await raw(s.url, '/big.txt', { method: 'PUT', body: Array.from({ length: 700 }, (_, i) => `line ${i}`).join('\n') + '\n' });
  });
  after(async () => {
    await s?.close();
  });

  it("a file's history: its 3 commits newest first, with subject, author, age, version links and restore buttons", async () => {
    const r = await raw(s.url, '/docs/plan.md?view=history', { headers: HTML });
    assert.equal(r.status, 200);
    assert.match(r.headers['content-security-policy'] as string, /script-src 'self'/);
    const ids = [...r.text.matchAll(/<li class="commit" data-id="([0-9a-f]{40})"/g)].map((m) => m[1]);
    assert.equal(ids.length, 3);
    const log = (await gitLog(s.root, '--format=%H', '--', 'docs/plan.md')).trim().split('\n');
    assert.deepEqual(ids, log, 'the same commits as git log, newest first');
    assert.match(r.text, /Update docs\/plan\.md/);
    assert.match(r.text, /Add docs\/plan\.md/);
    assert.match(r.text, /<time datetime=/);
    assert.match(r.text, /href="\/\.history\/versions\/docs\/plan\.md\/\d{4}-\d{2}-\d{2}T\d{6}Z-[0-9a-f]{7}\.md"/);
    // The newest is what the file is: no restore there; the two older ones have one.
    assert.equal([...r.text.matchAll(/data-action="restore"/g)].length, 2);
    assert.match(r.text, /data-from="\/\.history\/versions\/docs\/plan\.md\/[^"]+" data-to="\/docs\/plan\.md"/);
  });

  it("a folder's history lists changed files and its deleted members with a restore each; the folder page shows the last commit", async () => {
    const r = await raw(s.url, '/docs/?view=history', { headers: HTML });
    assert.equal(r.status, 200);
    assert.match(r.text, /gone\.txt/);
    assert.match(r.text, /<section id="deleted"[\s\S]*data-path="\/docs\/gone\.txt"[\s\S]*data-action="restore" data-from="\/\.history\/versions\/docs\/gone\.txt\/[^"]+" data-to="\/docs\/gone\.txt"/);
    assert.match(r.text, /id="refs"[\s\S]*href="\/\.history\/branches\/main\/docs\/"/);
    const folder = await raw(s.url, '/docs/', { headers: HTML });
    assert.match(folder.text, /class="last-commit"[\s\S]*Add docs\/pic\.bin[\s\S]*view=history/);
  });

  it("a deleted file's history is reached from its versions folder", async () => {
    assert.equal((await raw(s.url, '/docs/gone.txt?view=history', { headers: HTML })).status, 404);
    const r = await raw(s.url, '/.history/versions/docs/gone.txt/?view=history', { headers: HTML });
    assert.equal(r.status, 200);
    assert.match(r.text, /Delete docs\/gone\.txt/);
    assert.match(r.text, /deleted here/);
    const removal = /<li class="commit" data-id="([0-9a-f]{40})"/.exec(r.text)![1];
    const commit = await raw(s.url, `/?view=commit&id=${removal}`, { headers: HTML });
    assert.match(commit.text, /data-change="D"[\s\S]*href="\/\.history\/versions\/docs\/gone\.txt\/\?view=history">History/);
    assert.match(r.text, /data-action="restore" data-from="\/\.history\/versions\/docs\/gone\.txt\/[^"]+" data-to="\/docs\/gone\.txt"/);
  });

  it('escapes names and messages, and answers HEAD with the length of the page', async () => {
    assert.ok((await raw(s.url, '/docs/q%22%3Cb%3E%26.txt', { method: 'PUT', body: 'x' })).status < 300);
    const r = await raw(s.url, '/docs/?view=history', { headers: HTML });
    assert.match(r.text, /Add docs\/q&quot;&lt;b&gt;&amp;\.txt|Add docs\/q"&lt;b&gt;&amp;\.txt/);
    assert.doesNotMatch(r.text, /<b>/);
    const head = await raw(s.url, '/docs/?view=history', { method: 'HEAD', headers: HTML });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(Number(head.headers['content-length']), Buffer.byteLength((await raw(s.url, '/docs/?view=history', { headers: HTML })).text));
    await raw(s.url, '/docs/q%22%3Cb%3E%26.txt', { method: 'DELETE' });
  });

  it('pages: 50 a page, ?page=2, and 400 for a bad page, 404 past the end', async () => {
    for (let i = 0; i < 52; i++) await raw(s.url, '/many.txt', { method: 'PUT', body: `v${i}\n` });
    const p1 = await raw(s.url, '/many.txt?view=history', { headers: HTML });
    assert.equal([...p1.text.matchAll(/<li class="commit"/g)].length, 50);
    assert.match(p1.text, /page 1 of 2/);
    assert.match(p1.text, /rel="next"/);
    const p2 = await raw(s.url, '/many.txt?view=history&page=2', { headers: HTML });
    assert.equal([...p2.text.matchAll(/<li class="commit"/g)].length, 2);
    assert.match(p2.text, /Add many\.txt/);
    for (const bad of ['0', '-1', 'x', '1.5', '99999999', '']) {
      const r = await raw(s.url, `/many.txt?view=history&page=${bad}`);
      assert.equal(r.status, 400, `page=${bad}`);
      assert.match(r.text, /page/);
    }
    assert.equal((await raw(s.url, '/many.txt?view=history&page=3')).status, 404);
    assert.equal((await raw(s.url, '/many.txt?view=history&page=1&page=2')).status, 400);
  });

  it('the commit view: message, author, parents, +/- lines; side by side; binary summarised; large diffs collapsed', async () => {
    const [newest, parent] = (await gitLog(s.root, '--format=%H', '-2', '--', 'docs/plan.md')).trim().split('\n');
    const r = await raw(s.url, `/?view=commit&id=${newest}`, { headers: HTML });
    assert.equal(r.status, 200);
    assert.match(r.text, /<main id="commit"/);
    assert.match(r.text, /Update docs\/plan\.md/);
    assert.match(r.text, new RegExp(`view=commit&amp;id=${parent}`));
    assert.match(r.text, /<tr class="add"><td class="ln"><\/td><td class="ln">4<\/td><td class="code"><span class="sign" aria-hidden="true">\+<\/span>four<\/td><\/tr>/);
    const short = await raw(s.url, `/docs/?view=commit&id=${newest!.slice(0, 7)}&layout=split`, { headers: HTML });
    assert.equal(short.status, 200);
    assert.match(short.text, /<table class="diff split">/);
    assert.match(short.text, /<td class="code add"><span class="sign" aria-hidden="true">\+<\/span>four<\/td>/);
    const bin = (await gitLog(s.root, '--format=%H', '-1', '--', 'docs/pic.bin')).trim();
    assert.match((await raw(s.url, `/?view=commit&id=${bin}`)).text, /Binary file, not shown: absent → 4 B/);
    const big = (await gitLog(s.root, '--format=%H', '-1', '--', 'big.txt')).trim();
    assert.match((await raw(s.url, `/?view=commit&id=${big}`)).text, /<details class="large"><summary>Large diff: 70\d lines/);
  });

  it('the commit view: a malformed id is a 400, an unknown one a 404, a bad layout a 400', async () => {
    for (const bad of ['xyz', '12', 'g'.repeat(40), '../etc', '1'.repeat(41)]) {
      const r = await raw(s.url, `/?view=commit&id=${encodeURIComponent(bad)}`);
      assert.equal(r.status, 400, bad);
      assert.match(r.text, /commit id/);
    }
    assert.equal((await raw(s.url, '/?view=commit')).status, 400);
    const unknown = await raw(s.url, `/?view=commit&id=${'0'.repeat(40)}`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /no commit/);
    const blob = (await tool('git', ['--git-dir', s.root, 'rev-parse', 'HEAD:docs/plan.md'])).stdout.trim();
    assert.equal((await raw(s.url, `/?view=commit&id=${blob}`)).status, 404, 'a blob is no commit');
    const head = (await tool('git', ['--git-dir', s.root, 'rev-parse', 'HEAD'])).stdout.trim();
    assert.equal((await raw(s.url, `/?view=commit&id=${head}&layout=sideways`)).status, 400);
  });

  it('the diff view: two versions, or one against the live file; bad revisions are 400/404', async () => {
    const [c3, c2, c1] = (await gitLog(s.root, '--format=%H', '--', 'docs/plan.md')).trim().split('\n');
    const r = await raw(s.url, `/docs/plan.md?view=diff&from=${c1}&to=${c2}`, { headers: HTML });
    assert.equal(r.status, 200);
    assert.match(r.text, /<tr class="del">[^]*?two<\/td>/);
    assert.match(r.text, /<tr class="add">[^]*?TWO<\/td>/);
    const live = await raw(s.url, `/docs/plan.md?view=diff&from=${c1!.slice(0, 8)}`, { headers: HTML });
    assert.equal(live.status, 200);
    assert.match(live.text, /the current file/);
    assert.match(live.text, /four<\/td>/);
    void c3;
    assert.equal((await raw(s.url, '/docs/plan.md?view=diff&from=nothex')).status, 400);
    assert.equal((await raw(s.url, '/docs/plan.md?view=diff')).status, 400);
    assert.equal((await raw(s.url, `/docs/plan.md?view=diff&from=${c1}&to=zz`)).status, 400);
    const unknown = await raw(s.url, `/docs/plan.md?view=diff&from=${'f'.repeat(40)}`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /no version of \/docs\/plan\.md/);
    assert.equal((await raw(s.url, `/docs/?view=diff&from=${c1}`)).status, 400, 'a folder');
  });

  it('a restore from a revision that does not exist is a 404 and changes nothing; a real one makes the restore commit', async () => {
    const before = (await tool('git', ['--git-dir', s.root, 'rev-parse', 'HEAD'])).stdout.trim();
    const r = await raw(s.url, '/.history/versions/docs/plan.md/2020-01-01T000000Z-0000000.md', { method: 'COPY', headers: { Destination: `${s.url}/docs/plan.md`, Overwrite: 'T' } });
    assert.equal(r.status, 404);
    assert.equal((await tool('git', ['--git-dir', s.root, 'rev-parse', 'HEAD'])).stdout.trim(), before, 'no commit');
    assert.equal((await raw(s.url, '/docs/plan.md')).text, 'one\nTWO\nthree\nfour\n');
    const page = await raw(s.url, '/docs/plan.md?view=history', { headers: HTML });
    const from = [...page.text.matchAll(/data-from="([^"]+)"/g)].map((m) => m[1]!).pop()!; // the oldest version
    const ok = await raw(s.url, from, { method: 'COPY', headers: { Destination: `${s.url}/docs/plan.md`, Overwrite: 'T' } });
    assert.equal(ok.status, 204);
    assert.equal((await raw(s.url, '/docs/plan.md')).text, 'one\ntwo\nthree\n');
    const sha7 = /-([0-9a-f]{7})\.md$/.exec(from)![1];
    assert.equal((await gitLog(s.root, '-1', '--format=%s')).trim(), `Restore docs/plan.md from ${sha7}`);
  });
});

describe('web interface: history pages, folders, refs and shares', function () {
  this.timeout(120_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: 'git', users: { alice: 'pw-a', bob: 'pw-b' }, shares: [{ owner: 'alice', path: '/proj', grantee: 'bob', access: 'read' }] });
  });
  after(async () => {
    await s?.close();
  });
  const as = (user: string, pw: string) => ({ ...HTML, Authorization: 'Basic ' + Buffer.from(`${user}:${pw}`).toString('base64') });

  it("restores a folder as a commit left it; tags show in the switcher; a grantee sees no history in a share", async () => {
    const alice = as('alice', 'pw-a');
    await raw(s.url, '/proj', { method: 'MKCOL', headers: alice });
    await raw(s.url, '/proj/a.txt', { method: 'PUT', body: 'a1\n', headers: alice });
    await raw(s.url, '/proj/b.txt', { method: 'PUT', body: 'b1\n', headers: alice });
    await raw(s.url, '/proj/a.txt', { method: 'PUT', body: 'a2\n', headers: alice });
    await raw(s.url, '/proj/c.txt', { method: 'PUT', body: 'c2\n', headers: alice });
    const r = await raw(s.url, '/proj/?view=history', { headers: alice });
    assert.equal(r.status, 200);
    const buttons = [...r.text.matchAll(/data-from="([^"]+)" data-to="([^"]+)" aria-label="[^"]*">Restore folder as of this commit/g)];
    assert.equal(buttons.length, 4, 'every commit but the newest');
    // Back to the commit that added b.txt: a1 and b1, no c.txt.
    const [from, to] = [buttons[1]![1]!, buttons[1]![2]!];
    assert.match(from, /^\/\.history\/commits\/[0-9a-f]{40}\/proj\/$/);
    assert.equal(to, '/proj/');
    const copy = await raw(s.url, from, { method: 'COPY', headers: { ...alice, Destination: `${s.url}${to}`, Overwrite: 'T' } });
    assert.ok(copy.status === 204 || copy.status === 201, String(copy.status));
    assert.equal((await raw(s.url, '/proj/a.txt', { headers: alice })).text, 'a1\n');
    assert.equal((await raw(s.url, '/proj/c.txt', { headers: alice })).status, 404);
    const repo = join(s.root, 'users', 'alice');
    assert.match((await gitLog(repo, '-1', '--format=%s')).trim(), /^Restore proj.* from [0-9a-f]{7}$/);
    await tool('git', ['--git-dir', repo, 'tag', 'v1']);
    assert.match((await raw(s.url, '/proj/a.txt?view=history', { headers: alice })).text, /href="\/\.history\/tags\/v1\/proj\/a\.txt"/);
    // Bob reads the share but not alice's history; his own tree has his.
    const bob = as('bob', 'pw-b');
    const at = '/shared/alice/proj/';
    assert.equal((await raw(s.url, `${at}a.txt`, { headers: bob })).text, 'a1\n', 'bob reads the share');
    const inShare = await raw(s.url, `${at}?view=history`, { headers: bob });
    assert.equal(inShare.status, 404);
    assert.match(inShare.text, /no history here/);
    assert.doesNotMatch((await raw(s.url, at, { headers: bob })).text, /last-commit/);
  });
});

describe('web interface: history pages on the folder backend', function () {
  this.timeout(60_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: 'fs' });
    await raw(s.url, '/a.txt', { method: 'PUT', body: 'a' });
  });
  after(async () => {
    await s?.close();
  });

  it('says history needs the git backend (404), and the folder page has no last-commit line', async () => {
    const r = await raw(s.url, '/a.txt?view=history', { headers: HTML });
    assert.equal(r.status, 404);
    assert.match(r.text, /history needs the git backend/);
    assert.equal((await raw(s.url, '/?view=commit&id=abcd')).status, 404);
    assert.doesNotMatch((await raw(s.url, '/', { headers: HTML })).text, /last-commit/);
  });
});

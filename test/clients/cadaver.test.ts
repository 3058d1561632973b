/** cadaver (Debian), the command-line WebDAV client, driven through its command prompt. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend, storageOf } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool, tool } from '../helpers/tools.js';
import { serveGitNow, type GitServed } from '../helpers/history.js';
import { raw } from '../helpers/server.js';

forEachBackend((kind) => describe(`real client: cadaver (${kind})`, function () {
  this.timeout(60_000);
  let s: TestServer;
  let dir: string;
  before(async function () {
    requireTool(this, '/usr/bin/cadaver', 'cadaver');
    s = await startTestServer({ backend: kind });
    dir = await mkdtemp(join(tmpdir(), 'gitdav-cadaver-'));
    await writeFile(join(dir, 'in.txt'), 'cadaver was here\n');
  });
  after(async () => {
    await s?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('mkcol, put, lock/discover/unlock, propset/propget, move, get', async () => {
    const script = [
      'mkcol c',
      `put ${join(dir, 'in.txt')} c/x.txt`,
      'lock c/x.txt',
      'discover c/x.txt',
      'unlock c/x.txt',
      'propset c/x.txt colour green',
      'propget c/x.txt colour',
      'move c/x.txt c/y.txt',
      `get c/y.txt ${join(dir, 'out.txt')}`,
      'quit',
      '',
    ].join('\n');
    const r = await tool('/usr/bin/cadaver', [s.url + '/'], { input: script });
    assert.doesNotMatch(r.stdout, /failed/i, r.stdout);
    assert.match(r.stdout, /Lock token <opaquelocktoken:/);
    assert.match(r.stdout, /Value of colour is: green/);
    assert.equal(await readFile(join(dir, 'out.txt'), 'utf8'), 'cadaver was here\n');
    assert.equal(await storageOf(kind, s.root).text('/c/y.txt'), 'cadaver was here\n');
  });
}));

describe('real client: cadaver in history (git)', function () {
  this.timeout(60_000);
  let s: GitServed;
  before(async function () {
    requireTool(this, '/usr/bin/cadaver', 'cadaver');
    s = await serveGitNow();
    const put = (p: string, body: string) => raw(s.url, p, { method: 'PUT', body });
    for (const d of ['/tree', '/tree/d4', '/tree/d4/b']) await raw(s.url, d, { method: 'MKCOL' });
    await put('/tree/d4/b/x.txt', 'x one\n');
    await put('/tree/gone.txt', 'gone\n');
    await raw(s.url, '/tree/d4/b', { method: 'DELETE' });
    await raw(s.url, '/tree/gone.txt', { method: 'DELETE' });
  });
  after(() => s?.close());

  it('ls finds deleted paths in versions/ and deleted/; one copy restores a folder and a file', async () => {
    const deleted = (await tool('/usr/bin/cadaver', [s.url + '/.history/deleted/'], { input: 'ls\nquit\n' })).stdout;
    const commits = [...deleted.matchAll(/(\d{4}-\d{2}-\d{2}T\d{6}Z-[0-9a-f]{7})/g)].map((m) => m[1]!);
    assert.equal(commits.length, 2, deleted);
    // cadaver sorts its listing by name: which is which comes from the branch.
    const head = (await tool('git', ['--git-dir', s.root, 'rev-parse', '--short=7', 'main'])).stdout.trim();
    const newest = commits.find((c) => c.endsWith(head))!;
    const older = commits.find((c) => c !== newest)!;
    const script = [
      'cd /.history/versions/tree/d4/b/',
      'ls',
      `copy /.history/deleted/${older}/tree/d4/b /tree/d4/b`,
      `copy /.history/deleted/${newest}/tree/gone.txt /tree/gone.txt`,
      'quit',
      '',
    ].join('\n');
    const r = await tool('/usr/bin/cadaver', [s.url + '/'], { input: script });
    assert.match(r.stdout, /x\.txt/, r.stdout);
    assert.doesNotMatch(r.stdout, /failed/i, r.stdout);
    assert.equal((await raw(s.url, '/tree/d4/b/x.txt')).text, 'x one\n');
    assert.equal((await raw(s.url, '/tree/gone.txt')).text, 'gone\n');
  });
});

/** History as folders (docs/git-backend.md, "History as folders") and restore by COPY, against the git backend over HTTP. */
import assert from 'node:assert/strict';
import { raw, startTestServer, type TestServer } from './helpers/server.js';
import { tool } from './helpers/tools.js';
import { parseXml, elements, textOf } from '../lib/dav/xml/parse.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { openGitRepository, type GitRepository } from '../backends/git/repository.js';
import { BackendError } from '../backends/errors.js';
import type { Backend } from '../backends/backend.js';

/** The hrefs of a Depth-1 PROPFIND, the collection itself first. */
async function hrefs(s: TestServer, path: string): Promise<string[]> {
  const r = await raw(s.url, path, { method: 'PROPFIND', headers: { Depth: '1' } });
  assert.equal(r.status, 207, `${path}: ${r.status} ${r.text}`);
  return elements(parseXml(r.text)).map((resp) => textOf(elements(resp).find((e) => e.local === 'href')!));
}

const git = (s: TestServer, ...args: string[]) => tool('git', ['--git-dir', s.root, ...args]);

describe('git history as folders', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: 'git' });
    await raw(s.url, '/notes.txt', { method: 'PUT', body: 'version one', headers: { 'User-Agent': 'test-agent/1' } });
    await raw(s.url, '/notes.txt', { method: 'PUT', body: 'version two' });
    await raw(s.url, '/docs', { method: 'MKCOL' });
    await raw(s.url, '/docs/plan.md', { method: 'PUT', body: '# plan' });
    await git(s, 'tag', 'v1.0', 'main');
    await git(s, 'branch', 'feature/x', 'main');
  });
  after(() => s.close());

  it('/.history lists the six areas and shows in the root listing', async () => {
    assert.deepEqual((await hrefs(s, '/.history/')).slice(1), ['/.history/branches/', '/.history/tags/', '/.history/commits/', '/.history/by-date/', '/.history/versions/', '/.history/deleted/']);
    assert.ok((await hrefs(s, '/')).includes('/.history/'));
  });

  it('branches and tags are folders of the tree as it is there; a / in a ref name shows as ~', async () => {
    assert.deepEqual((await hrefs(s, '/.history/branches/')).slice(1).sort(), ['/.history/branches/feature~x/', '/.history/branches/main/']);
    assert.deepEqual((await hrefs(s, '/.history/tags/')).slice(1), ['/.history/tags/v1.0/']);
    assert.equal((await raw(s.url, '/.history/tags/v1.0/notes.txt')).text, 'version two');
    assert.equal((await raw(s.url, '/.history/branches/feature~x/docs/plan.md')).text, '# plan');
  });

  it('commits/<sha or unique prefix> is an immutable snapshot of that commit', async () => {
    const first = (await git(s, 'rev-list', '--reverse', 'main')).stdout.split('\n')[0]!;
    const r = await raw(s.url, `/.history/commits/${first.slice(0, 8)}/notes.txt`);
    assert.equal(r.text, 'version one');
    assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal((await raw(s.url, `/.history/commits/${first}/docs/`)).status, 404, 'docs did not exist yet');
    const listed = await hrefs(s, '/.history/commits/');
    assert.equal(listed.length - 1, Number((await git(s, 'rev-list', '--count', 'main')).stdout.trim()));
  });

  it('by-date/YYYY/MM/DD/HHMMSSZ-<short sha> holds every commit, with no ":" in any name', async () => {
    const years = (await hrefs(s, '/.history/by-date/')).slice(1);
    const months = (await hrefs(s, years[0]!)).slice(1);
    const days = (await hrefs(s, months[0]!)).slice(1);
    const commits = (await hrefs(s, days[days.length - 1]!)).slice(1);
    assert.ok(commits.every((h) => /\/\d{6}Z-[0-9a-f]{7}\/$/.test(h) && !h.includes(':')));
    const head = (await git(s, 'rev-parse', '--short=7', 'main')).stdout.trim();
    const last = commits.find((h) => h.includes(head))!;
    assert.equal((await raw(s.url, `${last}docs/plan.md`)).text, '# plan');
  });

  it('versions/<file>/ lists each version by date and short sha, newest first', async () => {
    const versions = (await hrefs(s, '/.history/versions/notes.txt/')).slice(1);
    assert.equal(versions.length, 2);
    assert.ok(versions.every((v) => /\/\d{4}-\d{2}-\d{2}T\d{6}Z-[0-9a-f]{7}\.txt$/.test(v)));
    assert.equal((await raw(s.url, versions[0]!)).text, 'version two');
    assert.equal((await raw(s.url, versions[1]!)).text, 'version one');
    assert.ok((await hrefs(s, '/.history/versions/')).includes('/.history/versions/docs/'), 'live folders navigate');
  });

  it('live files carry DAV:checked-in, version-name and creator-displayname (RFC 3253)', async () => {
    const r = await raw(s.url, '/notes.txt', {
      method: 'PROPFIND',
      headers: { Depth: '0' },
      body: '<D:propfind xmlns:D="DAV:"><D:prop><D:checked-in/><D:version-name/><D:creator-displayname/></D:prop></D:propfind>',
    });
    const head = (await git(s, 'log', '-1', '--format=%h', '--abbrev=7', '--', 'notes.txt')).stdout.trim();
    assert.match(r.text, new RegExp(`<D:version-name>${head}</D:version-name>`));
    assert.match(r.text, /<D:creator-displayname>gitdav<\/D:creator-displayname>/);
    const href = /<D:checked-in><D:href>([^<]+)<\/D:href>/.exec(r.text)![1]!;
    assert.equal((await raw(s.url, href)).text, 'version two');
  });

  it('COPY from history to the live tree restores the old version as a new commit', async () => {
    const before = Number((await git(s, 'rev-list', '--count', 'main')).stdout.trim());
    const old = (await hrefs(s, '/.history/versions/notes.txt/')).slice(1).pop()!;
    const r = await raw(s.url, old, { method: 'COPY', headers: { Destination: `${s.url}/notes.txt` } });
    assert.equal(r.status, 204);
    assert.equal((await raw(s.url, '/notes.txt')).text, 'version one');
    assert.equal(Number((await git(s, 'rev-list', '--count', 'main')).stdout.trim()), before + 1);
    assert.match((await git(s, 'log', '-1', '--format=%s')).stdout, /^Restore notes.txt from [0-9a-f]{7}/);
    // A whole folder, from a commit snapshot, under a new name.
    const head = (await git(s, 'rev-parse', 'main')).stdout.trim();
    assert.equal((await raw(s.url, `/.history/commits/${head}/docs/`, { method: 'COPY', headers: { Destination: '/docs-restored/' } })).status, 201);
    assert.equal((await raw(s.url, '/docs-restored/plan.md')).text, '# plan');
  });

  it('history is read-only: writes are 403 with DAV:cannot-modify-version; Depth infinity is 403', async () => {
    for (const [method, path, headers] of [
      ['PUT', '/.history/branches/main/new.txt', {}],
      ['DELETE', '/.history/versions/notes.txt/', {}],
      ['MKCOL', '/.history/x', {}],
      ['PROPPATCH', '/.history/branches/main/notes.txt', {}],
      ['MOVE', '/.history/branches/main/notes.txt', { Destination: '/moved.txt' }],
    ] as Array<[string, string, Record<string, string>]>) {
      const body = method === 'PROPPATCH' ? '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>' : method === 'PUT' ? 'x' : undefined;
      const r = await raw(s.url, path, { method, headers, body });
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.match(r.text, /cannot-modify-version/);
    }
    const inf = await raw(s.url, '/.history/', { method: 'PROPFIND', headers: { Depth: 'infinity' } });
    assert.equal(inf.status, 403);
    assert.match(inf.text, /propfind-finite-depth/);
  });

  it('history never nests in itself: a recursive walk ends, and Depth infinity on / answers', async () => {
    // A client that recurses with Depth 1 (rclone, a search in Explorer) must reach the bottom.
    const seen = new Set<string>();
    const queue = ['/.history/versions/', '/.history/branches/main/'];
    while (queue.length) {
      const dir = queue.shift()!;
      for (const href of (await hrefs(s, dir)).slice(1)) {
        assert.ok(!/\.history\/.*\.history/.test(href), `history inside history: ${href}`);
        assert.ok(seen.size < 500, 'the walk does not end');
        if (href.endsWith('/') && !seen.has(href)) {
          seen.add(href);
          queue.push(href);
        }
      }
    }
    const all = await raw(s.url, '/', { method: 'PROPFIND', headers: { Depth: 'infinity' } });
    assert.equal(all.status, 207, 'the history folder is listed, not walked into');
    assert.match(all.text, /<D:href>\/\.history\/<\/D:href>/);
    assert.doesNotMatch(all.text, /<D:href>\/\.history\/branches\//);
  });

  it('bad input: unknown commit 404, bad ref names 400, non-hex commit 400; the repo stays valid', async () => {
    assert.equal((await raw(s.url, '/.history/commits/ffffffff/')).status, 404);
    assert.equal((await raw(s.url, '/.history/commits/zzzz/')).status, 400);
    assert.equal((await raw(s.url, '/.history/branches/a..b/')).status, 400);
    assert.equal((await raw(s.url, '/.history/branches/a%01b/')).status, 400);
    assert.equal((await raw(s.url, '/.history/branches/nope/')).status, 404);
    assert.equal((await raw(s.url, '/.history/versions/never-existed.txt/')).status, 404);
    const fsck = await git(s, 'fsck', '--strict');
    assert.equal(fsck.code, 0, fsck.stderr);
  });
});

describe('git history as a mount (openGitRepository)', () => {
  let root: string;
  let repo: GitRepository;
  const body = (text: string) => Readable.from([Buffer.from(text)]);
  const commits = async () => Number((await tool('git', ['--git-dir', root, 'rev-list', '--count', 'main'])).stdout.trim());
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gitdav-history-mount-'));
    repo = await openGitRepository({ root, burstWindowMs: 0 });
    await repo.mkcol('/d');
    await repo.write('/d/a.txt', body('a'));
    await repo.write('/d/b.txt', body('b'));
    await repo.patchProps('/d/a.txt', [{ op: 'set', name: '{urn:t}p', value: '<p xmlns="urn:t">old</p>' }]);
  });
  after(async () => {
    await repo.close();
    await rm(root, { recursive: true, force: true });
  });

  it('the live tree knows nothing of history: .history is only a reserved name there', async () => {
    const live: string[] = [];
    for await (const e of repo.live.list('/')) live.push(e.path);
    assert.deepEqual(live, ['/d']);
    const all: string[] = [];
    for await (const e of repo.list('/')) all.push(e.path);
    assert.deepEqual(all, ['/d', '/.history'], 'the view lists the mount after the live members');
    assert.equal(await repo.live.stat('/.history'), null);
    await assert.rejects(repo.live.write('/.history', body('x')), (err: unknown) => err instanceof BackendError && err.code === 'Forbidden');
  });

  it('history refuses every write with ReadOnly, directly and through the view', async () => {
    const readOnly = (err: unknown) => err instanceof BackendError && err.code === 'ReadOnly' && err.message === 'history is read-only; COPY from it to restore';
    const history: Backend = repo.history;
    await assert.rejects(history.write('/branches/main/x', body('x')), readOnly);
    await assert.rejects(repo.write('/.history/branches/main/x', body('x')), readOnly);
    await assert.rejects(repo.patchProps('/.history', [{ op: 'remove', name: '{urn:t}p' }]), readOnly);
    await assert.rejects(repo.move('/.history/branches/main/d', '/moved', { overwrite: false }), readOnly);
    assert.equal(await repo.stat('/moved'), null, 'a refused move copies nothing');
    assert.equal(repo.shareAccess('/.history/branches/main/d'), null, 'history is no share');
  });

  it('a folder restored from history is one commit, reusing its tree by id, with its old properties', async () => {
    const head = (await tool('git', ['--git-dir', root, 'rev-parse', 'main'])).stdout.trim();
    await repo.patchProps('/d/a.txt', [{ op: 'set', name: '{urn:t}p', value: '<p xmlns="urn:t">new</p>' }]);
    const before = await commits();
    const r = await repo.copy(`/.history/commits/${head}/d`, '/restored', { depth: 'infinity', overwrite: false });
    assert.equal(r.created, true);
    assert.equal(await commits(), before + 1, 'one commit, not one per resource');
    assert.equal(r.entry.etag, (await repo.stat(`/.history/commits/${head}/d`))!.etag, 'the same tree');
    assert.equal((await repo.props('/restored/a.txt')).get('{urn:t}p'), '<p xmlns="urn:t">old</p>');
  });

  it('live files name their version in history; history paths have none', async () => {
    const v = await repo.versionOf('/d/b.txt');
    assert.ok(v && v.path.startsWith('/.history/versions/d/b.txt/'), JSON.stringify(v));
    assert.equal((await repo.stat(v.path))?.kind, 'file');
    assert.equal(await repo.versionOf(v.path), null);
  });
});

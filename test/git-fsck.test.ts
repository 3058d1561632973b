/** `gitdav fsck` names a corrupt object and the file it belongs to. */
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { raw, startTestServer, type TestServer } from './helpers/server.js';
import { tool } from './helpers/tools.js';

describe('gitdav fsck', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: 'git' });
    await raw(s.url, '/d', { method: 'MKCOL' });
    await raw(s.url, '/d/good.txt', { method: 'PUT', body: 'good' });
    await raw(s.url, '/d/bad.txt', { method: 'PUT', body: 'soon broken' });
  });
  after(() => s.close());

  const fsck = () => tool(process.execPath, [resolve('dist/lib/cli.js'), 'fsck', '--root', s.root]);

  it('passes a sound repository (exit 0)', async () => {
    const r = await fsck();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\d+ objects checked, 0 broken/);
  });

  it('names a corrupt loose object and where it is used (exit 1)', async () => {
    const oid = (await tool('git', ['--git-dir', s.root, 'rev-parse', 'main:d/bad.txt'])).stdout.trim();
    const file = join(s.root, 'objects', oid.slice(0, 2), oid.slice(2));
    await chmod(file, 0o644);
    await writeFile(file, 'not zlib at all');
    const r = await fsck();
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`broken ${oid} \\([0-9a-f]{12}:d/bad.txt\\): corrupt loose object`));
    assert.match(r.stdout, /1 broken/);
    // The server answers 500 for that file only.
    assert.equal((await raw(s.url, '/d/bad.txt')).status, 500);
    assert.equal((await raw(s.url, '/d/good.txt')).text, 'good');
  });
});

/**
 * What the folder backend's file system cannot hold is a clear 4xx, not a 500 (issue 10, #12): a name
 * over 255 bytes (400), a path over 4 KiB (414), a loop of symbolic links (508 Loop Detected); on
 * PUT, MKCOL, GET, PROPFIND and as a MOVE/COPY destination.
 */
import assert from 'node:assert/strict';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { propfindBody, raw, startTestServer, XML, type TestServer } from '../helpers/server.js';

const LONG_NAME = '/' + 'n'.repeat(256);
const LONG_UTF8_NAME = '/' + encodeURIComponent('é'.repeat(128)); // 256 bytes in 128 characters
const LONG_PATH = ('/' + 'p'.repeat(200)).repeat(21) + '/file.txt'; // 4.2 KiB, every name short
const LOOP = '/loop-a/inner.txt';

describe('names, paths and links the folder cannot hold (folder backend)', function () {
  this.timeout(30_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: 'fs' });
    assert.equal((await raw(s.url, '/keep.txt', { method: 'PUT', body: 'keep' })).status, 201);
    await symlink('loop-b', join(s.root, 'loop-a'));
    await symlink('loop-a', join(s.root, 'loop-b'));
  });
  after(() => s.close());

  const cases: [string, string, number, RegExp][] = [
    ['a name over 255 bytes', LONG_NAME, 400, /longer than 255 bytes/],
    ['a name over 255 bytes of UTF-8', LONG_UTF8_NAME, 400, /longer than 255 bytes/],
    ['a path over 4 KiB', LONG_PATH, 414, /path is longer/],
    ['a loop of symbolic links', LOOP, 508, /loop of symbolic links/],
    ['a loop of symbolic links (the link itself)', '/loop-a', 508, /loop of symbolic links/],
  ];
  for (const [what, path, status, says] of cases) {
    it(`${what} → ${status} on PUT, MKCOL, GET, PROPFIND, and as a MOVE/COPY destination`, async () => {
      const answers = {
        PUT: await raw(s.url, path, { method: 'PUT', body: 'x' }),
        MKCOL: await raw(s.url, path, { method: 'MKCOL' }),
        GET: await raw(s.url, path),
        PROPFIND: await raw(s.url, path, { method: 'PROPFIND', body: propfindBody('getetag'), headers: { ...XML, Depth: '0' } }),
        MOVE: await raw(s.url, '/keep.txt', { method: 'MOVE', headers: { Destination: s.url + path } }),
        COPY: await raw(s.url, '/keep.txt', { method: 'COPY', headers: { Destination: s.url + path } }),
      };
      for (const [method, r] of Object.entries(answers)) {
        assert.equal(r.status, status, `${method}: ${r.status} ${r.text}`);
        if (method !== 'HEAD') assert.match(r.text, says, `${method}: a body that says why`);
      }
      assert.equal((await raw(s.url, '/keep.txt')).text, 'keep', 'the source of MOVE stays');
    });
  }

  it('a listing skips the loop and the server goes on', async () => {
    const r = await raw(s.url, '/', { method: 'PROPFIND', body: propfindBody('getetag'), headers: { ...XML, Depth: '1' } });
    assert.equal(r.status, 207);
    assert.doesNotMatch(r.text, /loop-/);
    assert.match(r.text, /keep\.txt/);
  });
});

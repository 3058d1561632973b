/**
 * ownCloud's headers and properties (lib/dav/owncloud.ts, lib/dav/properties/owncloud.ts) at the
 * protocol level, on both backends: which PUTs pay for SHA-1 and MD5, OC-Checksum on a partial PUT,
 * X-OC-Mtime on COPY and MOVE, DAV:lastmodified read back after PROPPATCH, and a listing whose
 * hashes failed for now not being replayed. rclone itself drives them in ../clients/rclone.test.ts.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { FsBackend } from '../../backends/fs/index.js';
import { GitBackend } from '../../backends/git/index.js';
import { forEachBackend } from '../helpers/backends.js';
import { raw, startTestServer, XML, type TestServer } from '../helpers/server.js';

const OC_PROPS = '<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><d:getlastmodified/><oc:checksums/><d:lastmodified/></d:prop></d:propfind>';
const sha1 = (t: string) => createHash('sha1').update(t).digest('hex');
const T = 1_500_000_000; // a time well in the past, in unix seconds
const httpDate = (secs: number) => new Date(secs * 1000).toUTCString();

forEachBackend((kind) => describe(`ownCloud headers (${kind})`, function () {
  this.timeout(60_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: kind });
    assert.equal((await raw(s.url, '/oc', { method: 'MKCOL' })).status, 201);
  });
  after(() => s.close());

  /** The checksum log's lines (the folder: `<root>/.gitdav/`; git: `<git dir>/gitdav/`). */
  async function logLines(): Promise<number> {
    const found = (await readdir(s.root, { recursive: true })).find((p) => p.endsWith('checksums.log'));
    return found ? (await readFile(join(s.root, found), 'latin1')).split('\n').filter(Boolean).length : 0;
  }
  async function props(path: string, depth = '0'): Promise<string> {
    const res = await raw(s.url, path, { method: 'PROPFIND', headers: { ...XML, Depth: depth }, body: OC_PROPS });
    assert.equal(res.status, 207);
    return res.text;
  }

  it('a PUT hashes SHA-1 and MD5 only when it carries X-OC-Mtime or OC-Checksum; others are hashed on first ask', async () => {
    const before = await logLines();
    assert.equal((await raw(s.url, '/oc/plain.txt', { method: 'PUT', body: 'plain' })).status, 201);
    assert.equal(await logLines(), before, 'a plain PUT records nothing');
    assert.equal((await raw(s.url, '/oc/timed.txt', { method: 'PUT', body: 'timed', headers: { 'X-OC-Mtime': String(T) } })).status, 201);
    assert.equal(await logLines(), before + 1, 'a PUT with X-OC-Mtime records its hashes');
    assert.equal((await raw(s.url, '/oc/summed.txt', { method: 'PUT', body: 'summed', headers: { 'OC-Checksum': `SHA1:${sha1('summed')}` } })).status, 201);
    assert.equal(await logLines(), before + 2, 'a PUT with OC-Checksum records its hashes');
    assert.match(await props('/oc/plain.txt'), new RegExp(`SHA1:${sha1('plain')} `));
    assert.equal(await logLines(), before + 3, 'the plain file was hashed when asked');
  });

  it('OC-Checksum on a partial PUT (Content-Range) is a 400 with a clear body, and nothing is stored', async () => {
    assert.equal((await raw(s.url, '/oc/part.txt', { method: 'PUT', body: 'hello world' })).status, 201);
    const res = await raw(s.url, '/oc/part.txt', {
      method: 'PUT',
      body: 'HELLO',
      headers: { 'Content-Range': 'bytes 0-4/11', 'OC-Checksum': `SHA1:${sha1('anything')}` },
    });
    assert.equal(res.status, 400);
    assert.match(res.text, /OC-Checksum cannot be checked on a partial PUT/);
    assert.equal((await raw(s.url, '/oc/part.txt')).text, 'hello world');
  });

  for (const method of ['COPY', 'MOVE']) {
    it(`X-OC-Mtime on ${method} sets the resulting file's time`, async () => {
      const from = `/oc/${method}-src.txt`;
      const to = `/oc/${method}-dst.txt`;
      assert.equal((await raw(s.url, from, { method: 'PUT', body: method, headers: { 'X-OC-Mtime': String(T) } })).status, 201);
      const res = await raw(s.url, from, { method, headers: { Destination: s.url + to, 'X-OC-Mtime': String(T + 3600) } });
      assert.equal(res.status, 201);
      assert.equal(res.headers['x-oc-mtime'], 'accepted');
      assert.match(await props(to), new RegExp(`getlastmodified>${httpDate(T + 3600)}<`));
      if (method === 'COPY') assert.match(await props(from), new RegExp(`getlastmodified>${httpDate(T)}<`), 'the source keeps its time');
    });
  }

  it('a COPY without X-OC-Mtime answers no X-OC-MTime header', async () => {
    assert.equal((await raw(s.url, '/oc/plain-src.txt', { method: 'PUT', body: 'x' })).status, 201);
    const res = await raw(s.url, '/oc/plain-src.txt', { method: 'COPY', headers: { Destination: s.url + '/oc/plain-dst.txt' } });
    assert.equal(res.status, 201);
    assert.equal(res.headers['x-oc-mtime'], undefined);
  });

  it('PROPPATCH DAV:lastmodified is read back by PROPFIND (seconds); another value stays a dead property', async () => {
    assert.equal((await raw(s.url, '/oc/lm.txt', { method: 'PUT', body: 'lm' })).status, 201);
    const patch = (value: string) => raw(s.url, '/oc/lm.txt', {
      method: 'PROPPATCH',
      headers: XML,
      body: `<d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:lastmodified>${value}</d:lastmodified></d:prop></d:set></d:propertyupdate>`,
    });
    assert.match((await patch(String(T))).text, /HTTP\/1\.1 200/);
    const text = await props('/oc/lm.txt');
    assert.match(text, new RegExp(`lastmodified>${T}</`));
    assert.match(text, new RegExp(`getlastmodified>${httpDate(T)}<`));
    assert.match((await patch('yesterday')).text, /HTTP\/1\.1 200/);
    assert.match(await props('/oc/lm.txt'), /lastmodified[^>]*>yesterday</);
  });

  it('a listing whose hashes failed for now (a read error) is not replayed: the next one has them', async () => {
    assert.equal((await raw(s.url, '/flaky', { method: 'MKCOL' })).status, 201);
    assert.equal((await raw(s.url, '/flaky/f.txt', { method: 'PUT', body: 'flaky' })).status, 201);
    const proto = (kind === 'git' ? GitBackend.prototype : FsBackend.prototype) as { read: (...args: unknown[]) => Promise<unknown> };
    const read = proto.read;
    let failures = 1;
    proto.read = function (this: unknown, ...args: unknown[]) {
      if (args[0] === '/flaky/f.txt' && failures-- > 0) return Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' }));
      return read.apply(this, args);
    };
    try {
      assert.doesNotMatch(await props('/flaky/', '1'), /SHA1:/, 'the failed read: no hashes');
      assert.match(await props('/flaky/', '1'), new RegExp(`SHA1:${sha1('flaky')} `), 'asked again: hashed, not the 404 replayed');
    } finally {
      proto.read = read;
    }
  });
}));

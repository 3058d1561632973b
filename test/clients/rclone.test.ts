/** rclone (Debian) as a WebDAV client without a mount, the way `rclone sync` users drive us. */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend } from '../helpers/backends.js';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';
import { runCli, type CliProcess } from '../helpers/cli.js';
import { requireTool, tool } from '../helpers/tools.js';
import { http, serveWorkers, type Served } from '../workers/helpers.js';

forEachBackend((kind) => describe(`real client: rclone (${kind})`, function () {
  this.timeout(120_000);
  let s: TestServer;
  let local: string;
  let remote: string[];
  const rclone = (...args: string[]) => tool('/usr/bin/rclone', [...args, ...remote, '--config', '/dev/null', '-q']);

  before(async function () {
    requireTool(this, '/usr/bin/rclone', 'rclone');
    s = await startTestServer({ backend: kind });
    remote = ['--webdav-url', s.url + '/', '--webdav-vendor', 'other'];
    local = await mkdtemp(join(tmpdir(), 'gitdav-rclone-'));
    await mkdir(join(local, 'src', 'sub', 'deeper'), { recursive: true });
    await writeFile(join(local, 'src', 'big.bin'), randomBytes(5_000_000));
    await writeFile(join(local, 'src', 'sub', 'hello.txt'), 'hello');
    await writeFile(join(local, 'src', 'sub', 'deeper', 'weird name #1 ü & [x].txt'), 'weird');
  });
  after(async () => {
    await s?.close();
    if (local) await rm(local, { recursive: true, force: true });
  });

  it('copies a tree up, lists it, and `rclone check` finds every file identical', async () => {
    const up = await rclone('copy', join(local, 'src'), ':webdav:backup');
    assert.equal(up.code, 0, up.stderr);
    const ls = await rclone('lsf', '-R', ':webdav:backup');
    assert.deepEqual(ls.stdout.trim().split('\n').sort(), ['big.bin', 'sub/', 'sub/deeper/', 'sub/deeper/weird name #1 ü & [x].txt', 'sub/hello.txt']);
    const check = await rclone('check', '--download', join(local, 'src'), ':webdav:backup');
    assert.equal(check.code, 0, check.stderr);
  });

  it('moves, downloads, deletes and purges', async () => {
    assert.equal((await rclone('moveto', ':webdav:backup/sub/hello.txt', ':webdav:backup/hello-moved.txt')).code, 0);
    assert.equal((await rclone('copy', ':webdav:backup', join(local, 'down'))).code, 0);
    assert.equal(await readFile(join(local, 'down', 'hello-moved.txt'), 'utf8'), 'hello');
    assert.equal((await rclone('delete', ':webdav:backup/big.bin')).code, 0);
    assert.equal((await rclone('purge', ':webdav:backup')).code, 0);
    // The git backend's root always lists its read-only history folder; purge leaves it alone.
    assert.equal((await rclone('lsf', ':webdav:')).stdout.trim(), kind === 'git' ? '.history/' : '');
  });
}));

/**
 * rclone's `owncloud` vendor mode (`--webdav-vendor owncloud`): PUT sends `OC-Checksum: SHA1:…` and
 * `X-OC-Mtime`, listings ask `oc:checksums`; so `rclone check` compares hashes and `rclone sync`
 * compares times. A server of its own (`gitdav serve`, commits without a burst window), so a test can
 * change a file behind its back, with native git or in the folder, and see the commits.
 */
forEachBackend((kind) => describe(`real client: rclone, owncloud vendor (${kind})`, function () {
  this.timeout(180_000);
  let work: string;
  let root: string;
  let url: string;
  let server: CliProcess;
  const local = () => join(work, 'local');
  const remote = () => ['--webdav-url', url + '/', '--webdav-vendor', 'owncloud', '--config', '/dev/null'];
  const rclone = (...args: string[]) => tool('/usr/bin/rclone', [...args, ...remote()], { timeout: 150_000 });
  /** Times well in the past, one per file, so the round trip cannot be the server's clock by chance. */
  const timeOf = (i: number) => new Date(Date.UTC(2020, 0, 1) + i * 61_000);
  const files: string[] = [];

  before(async function () {
    requireTool(this, '/usr/bin/rclone', 'rclone');
    work = await mkdtemp(join(tmpdir(), 'gitdav-rclone-oc-'));
    root = join(work, 'data');
    await mkdir(join(local(), 'many'), { recursive: true });
    await mkdir(join(local(), 'sub'), { recursive: true });
    for (let i = 0; i < 200; i++) files.push(`many/f${String(i).padStart(3, '0')}.txt`);
    files.push('sub/a.bin', 'sub/b name & ü.txt');
    for (const [i, f] of files.entries()) {
      await writeFile(join(local(), f), f.endsWith('.bin') ? randomBytes(300_000) : `file ${i}\n`);
      await utimes(join(local(), f), timeOf(i), timeOf(i));
    }
    server = runCli(['serve', '--root', root, '--backend', kind, '--no-caldav', '--port', '0', '--log-level', 'warn', '--burst-window-ms', '0']);
    url = (await server.url).replace(/\/$/, '');
  });
  after(async () => {
    if (server) {
      server.child.kill('SIGTERM');
      await server.exit;
    }
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('copies 202 files; `rclone check` checks every hash and finds no difference', async () => {
    const up = await rclone('copy', local(), ':webdav:sync');
    assert.equal(up.code, 0, up.stderr);
    const check = await rclone('check', local(), ':webdav:sync');
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /0 differences found/);
    assert.match(check.stderr, /202 matching files/);
    assert.doesNotMatch(check.stderr, /could not be checked/);
  });

  it('keeps the local modification times (`rclone lsl`)', async () => {
    const lsl = await rclone('lsl', ':webdav:sync');
    assert.equal(lsl.code, 0, lsl.stderr);
    const seen = new Map<string, string>();
    for (const line of lsl.stdout.trim().split('\n')) {
      const m = /^\s*\d+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.\d+ (.+)$/.exec(line);
      assert.ok(m, line);
      seen.set(m[2]!, m[1]!);
    }
    assert.equal(seen.size, files.length);
    for (const [i, f] of files.entries()) assert.equal(seen.get(f), timeOf(i).toISOString().slice(0, 19).replace('T', ' '), f);
  });

  it('a second `rclone sync` transfers nothing; after touching one file, exactly that one', async () => {
    const copied = (out: string) => out.split('\n').filter((l) => /INFO {2}: .*: Copied \(/.test(l));
    const again = await rclone('sync', local(), ':webdav:sync', '-v', '--stats-one-line');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(copied(again.stderr), []);
    assert.match(again.stderr, /There was nothing to transfer/);
    await utimes(join(local(), files[7]!), timeOf(1000), timeOf(1000));
    const touched = await rclone('sync', local(), ':webdav:sync', '-v', '--stats-one-line');
    assert.equal(touched.code, 0, touched.stderr);
    assert.equal(copied(touched.stderr).length, 1, touched.stderr);
    assert.match(copied(touched.stderr)[0]!, /many\/f007\.txt: Copied/);
    const third = await rclone('sync', local(), ':webdav:sync', '-v', '--stats-one-line');
    assert.deepEqual(copied(third.stderr), []);
  });

  it('a PUT whose body does not match its OC-Checksum is a 400 and stores nothing', async () => {
    const wrong = 'SHA1:' + createHash('sha1').update('something else').digest('hex');
    const fresh = await raw(url, '/sync/never.txt', { method: 'PUT', body: 'payload', headers: { 'OC-Checksum': wrong } });
    assert.equal(fresh.status, 400);
    assert.match(fresh.text, /OC-Checksum/);
    assert.equal((await raw(url, '/sync/never.txt')).status, 404);
    const over = await raw(url, '/sync/many/f001.txt', { method: 'PUT', body: 'replacement', headers: { 'OC-Checksum': wrong } });
    assert.equal(over.status, 400);
    assert.equal((await raw(url, '/sync/many/f001.txt')).text, 'file 1\n');
    const right = 'SHA1:' + createHash('sha1').update('payload').digest('hex');
    const ok = await raw(url, '/sync/ok.txt', { method: 'PUT', body: 'payload', headers: { 'OC-Checksum': right, 'X-OC-Mtime': '1577934245' } });
    assert.equal(ok.status, 201);
    assert.equal(ok.headers['x-oc-mtime'], 'accepted');
    assert.equal((await raw(url, '/sync/ok.txt', { method: 'DELETE' })).status, 204);
  });

  it(kind === 'git' ? 'hashes and times follow a native git commit' : 'hashes and times follow a change made in the folder', async () => {
    const file = 'many/f002.txt';
    const before = await checksums(`/sync/${file}`);
    assert.equal(before.sha1, sha1Of('file 2\n'));
    if (kind === 'git') {
      const tree = join(work, 'tree');
      await mkdir(tree);
      const gitdir = (await tool('git', ['-C', root, 'rev-parse', '--absolute-git-dir'])).stdout.trim();
      const g = (...args: string[]) => tool('git', [`--git-dir=${gitdir}`, `--work-tree=${tree}`, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: tree });
      assert.equal((await g('read-tree', 'HEAD')).code, 0);
      assert.equal((await g('checkout-index', '-a')).code, 0);
      await writeFile(join(tree, 'sync', file), 'changed natively\n');
      assert.equal((await g('commit', '-qam', 'native change')).code, 0);
    } else {
      await writeFile(join(root, 'sync', file), 'changed natively\n');
    }
    const after = await checksums(`/sync/${file}`);
    assert.equal(after.sha1, sha1Of('changed natively\n'));
    assert.equal(after.md5, createHash('md5').update('changed natively\n').digest('hex'));
    // The time set for the old content is not the new content's.
    assert.notEqual(after.modified, timeOf(2).toUTCString());
  });

  it('folder: an edit in place of the same size with its time put back (`touch -r`) is hashed again', async function () {
    if (kind !== 'fs') this.skip();
    const file = join(root, 'sync', 'many', 'f005.txt');
    const ref = join(work, 'f005.ref');
    assert.equal((await checksums('/sync/many/f005.txt')).sha1, sha1Of('file 5\n'));
    assert.equal((await tool('cp', ['--preserve=timestamps', file, ref])).code, 0);
    await writeFile(file, 'FILE 5\n'); // same inode, same size
    assert.equal((await tool('touch', ['-r', ref, file])).code, 0); // same mtime: only the ctime tells
    const after = await checksums('/sync/many/f005.txt');
    assert.equal(after.sha1, sha1Of('FILE 5\n'));
    assert.equal(after.md5, createHash('md5').update('FILE 5\n').digest('hex'));
  });

  it('PROPPATCH DAV:lastmodified (newer rclone) sets the time listings show; the internal property stays refused', async () => {
    const set = (prop: string) => raw(url, '/sync/many/f004.txt', {
      method: 'PROPPATCH',
      headers: { 'Content-Type': 'application/xml' },
      body: `<d:propertyupdate xmlns:d="DAV:" xmlns:g="urn:x-gitdav:"><d:set><d:prop>${prop}</d:prop></d:set></d:propertyupdate>`,
    });
    const ok = await set('<d:lastmodified>1500000000</d:lastmodified>');
    assert.equal(ok.status, 207);
    assert.match(ok.text, /lastmodified[^]*HTTP\/1\.1 200/);
    assert.equal((await checksums('/sync/many/f004.txt')).modified, new Date(1500000000_000).toUTCString());
    const sneaky = await set('<d:lastmodified>1500000000</d:lastmodified><g:mtime>"x" 1</g:mtime>');
    assert.match(sneaky.text, /HTTP\/1\.1 403/);
  });

  it('every response lists its 200 propstat before its 404 one (rclone reads only the first status)', async () => {
    const body = `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop>
      <d:displayname/><d:getlastmodified/><d:getcontentlength/><d:resourcetype/><d:getcontenttype/>
      <oc:checksums/><oc:permissions/><d:nothing-here/></d:prop></d:propfind>`;
    for (const path of ['/sync/', '/sync/sub/', '/sync/sub/a.bin']) {
      const res = await raw(url, path, { method: 'PROPFIND', body, headers: { Depth: '1', 'Content-Type': 'application/xml' } });
      assert.equal(res.status, 207);
      const responses = res.text.split('<D:response>').slice(1);
      assert.ok(responses.length > 0);
      for (const r of responses) {
        const statuses = [...r.matchAll(/<D:status>HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
        assert.deepEqual(statuses, ['200', '404'], r);
      }
    }
  });

  it('restores a version from history onto the file with `--disable Copy` (server-side COPY says Overwrite: F)', async function () {
    if (kind !== 'git') this.skip();
    const versions = await rclone('lsf', ':webdav:.history/versions/sync/many/f003.txt');
    assert.equal(versions.code, 0, versions.stderr);
    assert.equal((await raw(url, '/sync/many/f003.txt', { method: 'PUT', body: 'newer' })).status, 204);
    const first = versions.stdout.trim().split('\n').sort()[0]!;
    const from = `:webdav:.history/versions/sync/many/f003.txt/${first}`;
    const refused = await rclone('copyto', from, ':webdav:sync/many/f003.txt', '--retries', '1');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /412/);
    const restored = await rclone('copyto', from, ':webdav:sync/many/f003.txt', '--disable', 'Copy');
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal((await raw(url, '/sync/many/f003.txt')).text, 'file 3\n');
  });

  async function checksums(path: string): Promise<{ sha1?: string; md5?: string; modified?: string }> {
    const res = await raw(url, path, {
      method: 'PROPFIND',
      headers: { Depth: '0', 'Content-Type': 'application/xml' },
      body: '<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><d:getlastmodified/><oc:checksums/></d:prop></d:propfind>',
    });
    assert.equal(res.status, 207);
    const m = /checksum[^>]*>SHA1:([0-9a-f]{40}) MD5:([0-9a-f]{32})</.exec(res.text);
    return { sha1: m?.[1], md5: m?.[2], modified: /getlastmodified>([^<]+)</.exec(res.text)?.[1] };
  }
}));

const sha1Of = (text: string) => createHash('sha1').update(text).digest('hex');

/**
 * Two worker processes share one state dir: the checksums recorded by the worker that took the PUTs
 * are read by the other from the shared log (never hashed again, never wrong). Listings go over a
 * fresh connection each until both workers have answered one (the request log names the worker), so
 * the records really cross from one process to the other.
 */
describe('real client: rclone, owncloud vendor, two workers (git)', function () {
  this.timeout(180_000);
  let work: string;
  let server: Served | undefined;

  before(function () {
    requireTool(this, '/usr/bin/rclone', 'rclone');
  });
  after(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('a worker lists with the hashes the other recorded; `rclone check` finds every hash and no difference', async () => {
    work = await mkdtemp(join(tmpdir(), 'gitdav-rclone-w2-'));
    await mkdir(join(work, 'local'));
    for (let i = 0; i < 30; i++) await writeFile(join(work, 'local', `w${i}.txt`), `worker file ${i}\n`);
    server = await serveWorkers(['--root', join(work, 'data'), '--backend', 'git', '--no-caldav', '--workers', '2', '--burst-window-ms', '0']);
    const s = server;
    const remote = ['--webdav-url', s.url.replace(/\/?$/, '/'), '--webdav-vendor', 'owncloud', '--config', '/dev/null'];
    const up = await tool('/usr/bin/rclone', ['copy', join(work, 'local'), ':webdav:w', ...remote], { timeout: 150_000 });
    assert.equal(up.code, 0, up.stderr);
    const requests = (method: string) => s.records().filter((r) => r.msg === 'request' && r.method === method);
    const putters = new Set((await waitForCount(() => requests('PUT'), 30)).map((r) => r.worker));

    const listers = new Set<unknown>();
    for (let i = 0; i < 40 && listers.size < 2; i++) {
      const before = requests('PROPFIND').length;
      const res = await http(s.url, '/w/', {
        method: 'PROPFIND',
        headers: { Depth: '1', 'Content-Type': 'application/xml' },
        body: '<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><oc:checksums/></d:prop></d:propfind>',
        agent: new Agent({ keepAlive: false }),
      });
      assert.equal(res.status, 207);
      const text = res.body.toString();
      for (let f = 0; f < 30; f++) assert.match(text, new RegExp(`w${f}\\.txt</D:href>[^]*?SHA1:${sha1Of(`worker file ${f}\n`)} `));
      listers.add((await waitForCount(() => requests('PROPFIND'), before + 1)).at(-1)!.worker);
    }
    assert.equal(listers.size, 2, 'both workers listed');
    assert.ok([...listers].some((w) => [...putters].some((p) => p !== w)), 'a worker listed files the other one stored');

    const check = await tool('/usr/bin/rclone', ['check', join(work, 'local'), ':webdav:w', ...remote], { timeout: 150_000 });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /30 matching files/);
    assert.doesNotMatch(check.stderr, /could not be checked/);
    // Each content recorded once: the other worker read the records; none was hashed and appended again.
    const gitdir = (await tool('git', ['-C', join(work, 'data'), 'rev-parse', '--absolute-git-dir'])).stdout.trim();
    const log = await readFile(join(gitdir, 'gitdav', 'checksums.log'), 'latin1');
    assert.equal(log.split('\n').filter(Boolean).length, 30);
  });
});

/** The records `get` gives once there are at least `n` (the log is written asynchronously); bounded by the test's timeout. */
async function waitForCount<T>(get: () => T[], n: number): Promise<T[]> {
  for (let step = 0; step < 4000; step++) {
    const got = get();
    if (got.length >= n) return got;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`fewer than ${n} log records`);
}

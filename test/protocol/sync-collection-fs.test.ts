/**
 * sync-collection on the folder backend, whose members' fingerprints are kept by the folder's listing
 * version (backends/fs/sync-members.ts): a change straight in the folder (a file rewritten in place
 * with the same size, a rename), a write or a property change through the server, shows in the next
 * sync-collection after a token whose state was kept — also across two workers.
 */
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { mkdir, mkdtemp, open, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { raw, startTestServer, XML, type TestServer } from '../helpers/server.js';
import { http, serveWorkers, stopAfterEach, workersThatServed, type Served } from '../workers/helpers.js';

interface Synced {
  token: string;
  changed: Map<string, string>; // href → getetag
  removed: string[];
}

const syncBody = (token: string) =>
  `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>${token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`;

function readSync(status: number, text: string): Synced {
  assert.equal(status, 207, text);
  const out: Synced = { token: /<D:sync-token>([^<]*)</.exec(text)![1]!, changed: new Map(), removed: [] };
  for (const m of text.matchAll(/<D:response><D:href>([^<]*)<\/D:href>(.*?)<\/D:response>/gs)) {
    if (/<D:status>[^<]*404/.test(m[2]!) && !/<D:propstat>/.test(m[2]!)) out.removed.push(m[1]!);
    else out.changed.set(m[1]!, /<D:getetag>([^<]*)</.exec(m[2]!)?.[1] ?? '');
  }
  return out;
}

/** Rewrites a file in place (same inode), keeping its size. */
async function rewriteInPlace(file: string, text: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.write(text, 0);
  } finally {
    await fh.close();
  }
}

const patchBody = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:color>blue</Z:color></D:prop></D:set></D:propertyupdate>';
const tick = () => new Promise((r) => setTimeout(r, 20)); // a new mtime for the next write

describe('sync-collection on a folder after changes made around the kept fingerprints (fs, one process)', function () {
  this.timeout(60_000);
  let s: TestServer;
  const sync = async (token: string) => {
    const r = await raw(s.url, '/f/', { method: 'REPORT', body: syncBody(token), headers: XML });
    return readSync(r.status, r.text);
  };
  beforeEach(async () => {
    s = await startTestServer({ backend: 'fs' });
    await raw(s.url, '/f', { method: 'MKCOL' });
    for (const n of ['a', 'b', 'c']) await raw(s.url, `/f/${n}.txt`, { method: 'PUT', body: n });
  });
  afterEach(() => s.close());

  it('a file rewritten in place with the same size, and a rename, both made in the folder', async () => {
    const t0 = (await sync('')).token;
    const none = await sync(t0); // the members' fingerprints are now kept for this state
    assert.equal(none.changed.size + none.removed.length, 0);
    assert.equal(none.token, t0);
    await tick();
    await rewriteInPlace(join(s.root, 'f', 'b.txt'), 'B');
    const after = await sync(t0);
    assert.deepEqual([...after.changed.keys()], ['/f/b.txt']);
    assert.equal(after.changed.get('/f/b.txt'), (await raw(s.url, '/f/b.txt')).headers.etag);
    assert.notEqual(after.token, t0);
    await rename(join(s.root, 'f', 'c.txt'), join(s.root, 'f', 'e.txt'));
    const renamed = await sync(after.token);
    assert.deepEqual([...renamed.changed.keys()], ['/f/e.txt']);
    assert.deepEqual(renamed.removed, ['/f/c.txt']);
  });

  it('a write and a property change through the server, after a token handed out by PROPFIND', async () => {
    const tokenOf = async () => /<D:sync-token>([^<]*)</.exec((await raw(s.url, '/f/', { method: 'PROPFIND', headers: { ...XML, Depth: '0' }, body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>' })).text)![1]!;
    const t0 = await tokenOf();
    assert.equal(await tokenOf(), t0);
    await raw(s.url, '/f/a.txt', { method: 'PROPPATCH', body: patchBody, headers: XML });
    const patched = await sync(t0);
    assert.deepEqual([...patched.changed.keys()], ['/f/a.txt']);
    await raw(s.url, '/f/c.txt', { method: 'PUT', body: 'c2' });
    const put = await sync(patched.token);
    assert.deepEqual([...put.changed.keys()], ['/f/c.txt']);
    assert.equal(await tokenOf(), put.token);
  });
});

describe('sync-collection on a folder served by two workers', function () {
  this.timeout(120_000);
  let dir: string;
  let s: Served | undefined;
  before(async () => void (dir = await mkdtemp(join(tmpdir(), 'gitdav-sync-fs-'))));
  after(() => rm(dir, { recursive: true, force: true }));
  stopAfterEach(
    () => s,
    () => (s = undefined),
  );

  it('a change through either worker, or in the folder, shows at both', async () => {
    const root = join(dir, 'served');
    await mkdir(root, { recursive: true });
    s = await serveWorkers(['--backend', 'fs', '--root', root, '--workers', '2', '--no-caldav', '--log-level', 'info']);
    const url = s.url;
    const send = (path: string, method: string, body?: string, headers: Record<string, string> = {}) => http(url, path, { method, body, headers, agent: new Agent({ keepAlive: false }) });
    const syncAt = async (token: string) => {
      const r = await send('/f/', 'REPORT', syncBody(token), XML);
      return readSync(r.status, r.body.toString());
    };
    /** Eight syncs on new connections (both workers answer); each must report exactly `want`. */
    const everywhere = async (token: string, want: string[], what: string) => {
      for (let i = 0; i < 8; i++) assert.deepEqual([...(await syncAt(token)).changed.keys()].sort(), want, `${what}, sync ${i}`);
    };
    await send('/f', 'MKCOL');
    for (const n of ['a', 'b']) await send(`/f/${n}.txt`, 'PUT', n);
    const t0 = (await syncAt('')).token;
    await everywhere(t0, [], 'before any change');
    await send('/f/a.txt', 'PUT', 'A');
    await everywhere(t0, ['/f/a.txt'], 'after a PUT');
    const t1 = (await syncAt(t0)).token;
    await tick();
    await rewriteInPlace(join(root, 'f', 'b.txt'), 'B');
    await everywhere(t1, ['/f/b.txt'], 'after a rewrite in place in the folder');
    await new Promise((r) => setTimeout(r, 200)); // the log lines of the last requests
    assert.equal(workersThatServed(s.records()).size, 2, 'both workers answered');
  });
});

/**
 * Symbolic links raced (folder backend, review finding 2): a path checked against the link policy
 * and then opened by name again can be swapped in between. Bob (read-write share of /docs) keeps
 * renaming two folders to one name X: `real` (plain folders) and `evil` (holding `lnk -> ../../private`,
 * a link out of its folder that is never followed). A request checked while X is `real` and opened
 * while X is `evil` would read or write Alice's /private. Bounded: a fixed number of GETs, PROPFINDs
 * and PUTs while the MOVE loop runs; the secret must never be served, listed or written.
 *
 * That loop rarely hits the window (a few hundred microseconds), so the second group holds it open
 * with a test hook (raceHooks in containment.ts): every check sees `real`, every use after it `evil`.
 * A write is swapped only outside the write mutex: there a client's MOVE cannot run (it takes the
 * same mutex), so only the check made before the mutex can be raced.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { renameSync } from 'node:fs';
import { raceHooks } from '../../backends/fs/containment.js';
import { join } from 'node:path';
import { basic, propfindBody, raw, startTestServer, XML, type TestServer } from '../helpers/server.js';

const ALICE = basic('alice', 'alice-secret');
const BOB = basic('bob', 'bob-secret!');
const SECRET = 'alice private secret';
const ROUNDS = 300;
/** A response cut off mid-way (the file swapped under the stream) counts as not served. */
const safe = (...args: Parameters<typeof raw>) => raw(...args).catch(() => ({ status: 0, text: '' }));

describe('symbolic links raced by renames (folder backend)', function () {
  this.timeout(180_000);
  let s: TestServer;
  let alice: string;

  before(async () => {
    s = await startTestServer({ backend: 'fs', users: { alice: 'alice-secret', bob: 'bob-secret!' }, shares: [{ owner: 'alice', path: '/docs', grantee: 'bob', access: 'write' }] });
    for (const dir of ['/docs', '/docs/evil', '/private']) assert.equal((await raw(s.url, dir, { method: 'MKCOL', headers: ALICE })).status, 201);
    assert.equal((await raw(s.url, '/private/secret.txt', { method: 'PUT', body: SECRET, headers: ALICE })).status, 201);
    assert.equal((await raw(s.url, '/private/only-private.txt', { method: 'PUT', body: 'x', headers: ALICE })).status, 201);
    alice = join(s.root, 'users', 'alice');
    await symlink('../../private', join(alice, 'docs', 'evil', 'lnk'));
    // Bob's decoy: the same names through plain folders.
    const bob = (m: string, p: string, body?: string) => raw(s.url, `/shared/alice/docs${p}`, { method: m, body, headers: BOB });
    assert.equal((await bob('MKCOL', '/real')).status, 201);
    assert.equal((await bob('MKCOL', '/real/lnk')).status, 201);
    assert.equal((await bob('PUT', '/real/lnk/secret.txt', 'decoy')).status, 201);
  });
  after(() => s.close());

  it('GET, PROPFIND and PUT through a name swapped between a plain folder and one with a link: nothing of /private read or written', async () => {
    const base = `${s.url}/shared/alice/docs`.replace(s.url, '');
    const move = (from: string, to: string) =>
      raw(s.url, `${base}/${from}`, { method: 'MOVE', headers: { ...BOB, Destination: `${s.url}${base}/${to}`, Overwrite: 'F' } });
    let racing = true;
    let moves = 0;
    const mover = (async () => {
      while (racing) {
        for (const [a, b] of [['real', 'X'], ['X', 'real'], ['evil', 'X'], ['X', 'evil']]) {
          await move(a, b);
          moves++;
        }
      }
    })();
    const seen = { served: 0, listed: 0, written: 0 };
    const leaks: string[] = [];
    try {
      for (let i = 0; i < ROUNDS; i++) {
        const [get, list, put] = await Promise.all([
          safe(s.url, `${base}/X/lnk/secret.txt`, { headers: BOB }),
          safe(s.url, `${base}/X/lnk/`, { method: 'PROPFIND', body: propfindBody('getetag'), headers: { ...BOB, ...XML, Depth: '1' } }),
          safe(s.url, `${base}/X/lnk/put-${i}.txt`, { method: 'PUT', body: 'from bob', headers: BOB }),
        ]);
        if (get.status === 200) seen.served++;
        if (list.status === 207) seen.listed++;
        if (put.status === 201 || put.status === 204) seen.written++;
        if (get.text.includes(SECRET)) leaks.push(`GET served the secret (round ${i})`);
        if (list.text.includes('only-private')) leaks.push(`PROPFIND listed /private (round ${i})`);
      }
    } finally {
      racing = false;
      await mover;
    }
    assert.deepEqual(leaks, []);
    assert.equal(await readFile(join(alice, 'private', 'secret.txt'), 'utf8'), SECRET);
    assert.deepEqual((await readdir(join(alice, 'private'))).sort(), ['only-private.txt', 'secret.txt'], 'nothing written into /private');
    // The race was real: the loop ran, and the decoy was reached through X in some rounds.
    assert.ok(moves >= 8, `moves ${moves}`);
    assert.ok(seen.served > 0 && seen.listed > 0, JSON.stringify(seen));
  });

  describe('the window held open by a hook', () => {
    const docs = () => join(alice, 'docs');
    let state: 'real' | 'evil' = 'real';
    /** X is `real` or `evil` (the other keeps its own name). */
    const become = (want: 'real' | 'evil', evil = 'evil') => {
      if (state === want) return;
      renameSync(join(docs(), 'X'), join(docs(), state === 'real' ? 'real' : evil));
      renameSync(join(docs(), want === 'real' ? 'real' : evil), join(docs(), 'X'));
      state = want;
    };
    before(async () => {
      // Left by the loop above as real/evil (X taken back by whichever name is missing).
      const names = await readdir(docs());
      if (names.includes('X')) renameSync(join(docs(), 'X'), join(docs(), names.includes('real') ? 'evil' : 'real'));
      renameSync(join(docs(), 'real'), join(docs(), 'X'));
      // evil2: a link inside its folder (followed for reading), through which nothing may be written.
      await mkdir(join(docs(), 'evil2', 'target'), { recursive: true });
      await symlink('target', join(docs(), 'evil2', 'lnk'));
    });
    afterEach(() => {
      delete raceHooks.beforeCheck;
      delete raceHooks.afterCheck;
    });

    const swapReads = () => {
      raceHooks.beforeCheck = (path) => { if (path.startsWith('/docs/X/')) become('real'); };
      raceHooks.afterCheck = (path) => { if (path.startsWith('/docs/X/')) become('evil'); };
    };

    it('GET and HEAD of a file checked through real and opened through evil: the secret is not served', async () => {
      swapReads();
      for (const method of ['GET', 'HEAD']) {
        const r = await raw(s.url, '/shared/alice/docs/X/lnk/secret.txt', { method, headers: BOB });
        assert.notEqual(r.status, 200, `${method} → ${r.status} ${r.text}`);
        assert.doesNotMatch(r.text, new RegExp(SECRET));
        become('real');
      }
    });

    it('PROPFIND Depth 1 and sync-collection of a folder checked through real: no name of /private listed', async () => {
      swapReads();
      const r = await raw(s.url, '/shared/alice/docs/X/lnk/', { method: 'PROPFIND', body: propfindBody('getetag'), headers: { ...BOB, ...XML, Depth: '1' } });
      assert.doesNotMatch(r.text, /only-private|secret\.txt/, `PROPFIND → ${r.status} ${r.text}`);
      become('real');
      const sync = '<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>';
      const q = await raw(s.url, '/shared/alice/docs/X/lnk/', { method: 'REPORT', body: sync, headers: { ...BOB, ...XML } });
      assert.doesNotMatch(q.text, /only-private|secret\.txt/, `REPORT → ${q.status} ${q.text}`);
      become('real');
    });

    it('COPY from a path checked through real: the secret is not copied into the share', async () => {
      swapReads();
      const r = await raw(s.url, '/shared/alice/docs/X/lnk/secret.txt', { method: 'COPY', headers: { ...BOB, Destination: `${s.url}/shared/alice/docs/copied.txt` } });
      become('real');
      const copied = await readFile(join(docs(), 'copied.txt'), 'utf8').catch(() => '');
      assert.doesNotMatch(copied, new RegExp(SECRET), `COPY → ${r.status}`);
    });

    it('PUT checked (before the write mutex) through a plain folder, then swapped for one with a link: nothing written through the link', async () => {
      let swapped = false;
      raceHooks.afterCheck = (path, access) => {
        if (access === 'write' && path === '/docs/X/lnk/new.txt' && !swapped) {
          swapped = true;
          become('evil', 'evil2');
        }
      };
      const r = await raw(s.url, '/shared/alice/docs/X/lnk/new.txt', { method: 'PUT', body: 'through the alias', headers: BOB });
      assert.ok(swapped, 'the hook ran');
      become('real', 'evil2');
      assert.deepEqual(await readdir(join(docs(), 'evil2', 'target')), [], `PUT → ${r.status} ${r.text}: nothing written through the link`);
    });
  });
});

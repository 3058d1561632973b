/**
 * `gitdav reindex` as a process, against real servers (`gitdav serve`, git and folder backends):
 * deleting the state dir's derived files is safe — a server filled with files, calendar objects and
 * contacts (a user's tree), stopped, reindexed and started again gives the same PROPFIND listing,
 * calendar-query, addressbook-query and sync-collection from a token handed out before (tokens stay
 * valid: the key and the folder's snapshots are kept), and `git fsck --strict` is clean; reindex
 * refuses while a server runs and removes nothing then; acknowledged writes still in the git journal
 * when the server was killed -9 survive a reindex.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import bcrypt from 'bcryptjs';
import { CLI } from './helpers/cli.js';
import { tool } from './helpers/tools.js';
import { basic, propfindBody, XML } from './helpers/server.js';
import { ics } from './helpers/fixtures.js';
import { vcard } from './helpers/vcards.js';
import { syncCollectionBody } from './helpers/sync-report.js';
import { parseIndex } from '../lib/caldav/state/object-index.js';
import { writeUsers } from '../lib/auth/users-file.js';
import { http, serveWorkers, stopAfterEach, type Served } from './workers/helpers.js';

const agent = new Agent({ keepAlive: false });
const reindex = (...args: string[]) => tool(process.execPath, [CLI, 'reindex', ...args]);
const ALICE = basic('alice', 'alice-secret');
const CAL = '/calendars/alice/calendar/';
const BOOK = '/addressbooks/alice/contacts/';
const NS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:A="urn:ietf:params:xml:ns:carddav"';
const event = (uid: string, day: string) => ics('BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20240101T000000Z', `DTSTART:2024${day}T100000Z`, `DTEND:2024${day}T110000Z`, `SUMMARY:${uid}`, 'END:VEVENT');
const CQ = `<?xml version="1.0"?><C:calendar-query ${NS}><D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240301T000000Z" end="20240601T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`;
const AQ = `<?xml version="1.0"?><A:addressbook-query ${NS}><D:prop><D:getetag/><A:address-data/></D:prop><A:filter><A:prop-filter name="FN"><A:text-match collation="i;unicode-casemap" match-type="contains">a</A:text-match></A:prop-filter></A:filter></A:addressbook-query>`;
const LISTING = propfindBody('resourcetype', 'getcontentlength', 'getlastmodified', 'getetag', 'getcontenttype');

/** A multistatus's <D:response> elements, sorted: the same answer whatever order a backend lists in. */
const sortedResponses = (text: string) => text.split(/(?=<D:response>)/).slice(1).map((x) => x.replace(/<\/D:multistatus>\s*$/, '')).sort().join('');

async function serve(root: string, kind: string, extra: string[] = []): Promise<Served> {
  return serveWorkers(['--root', root, '--backend', kind, '--workers', '1', ...extra]);
}

/** The state dir of a tree as each backend places it (gitdav makes a bare repository). */
const stateDirOf = (kind: string, tree: string) => (kind === 'git' ? join(tree, 'gitdav') : join(tree, '.gitdav'));

describe('gitdav reindex', function () {
  this.timeout(300_000);
  let s: Served | undefined;
  stopAfterEach(() => s, () => (s = undefined));
  const req = (path: string, method = 'GET', body?: string, headers: Record<string, string> = {}) => http(s!.url, path, { method, body, headers: { ...ALICE, ...headers }, agent });
  const ok = async (path: string, method: string, body?: string, headers: Record<string, string> = {}) => {
    const r = await req(path, method, body, headers);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.body.toString()}`);
    return r;
  };

  for (const kind of ['git', 'fs']) {
    it(`${kind}: a user's tree stopped, reindexed and started gives the same listing, queries and sync; tokens stay valid`, async () => {
      const root = join(await mkdtemp(join(tmpdir(), 'gitdav-reindex-')), 'data');
      await import('node:fs/promises').then((f) => f.mkdir(root));
      await writeUsers(root, new Map([['alice', (await bcrypt.hash('alice-secret', 4)).replace(/^\$2b\$/, '$2y$')]]));
      s = await serve(root, kind);
      await ok('/docs', 'MKCOL');
      await ok('/docs/a.txt', 'PUT', 'alpha');
      await ok('/docs/b.txt', 'PUT', 'beta', { 'OC-Checksum': 'SHA1:a295e0bdde1938d1fbfd343e5a3e569e868e1465' });
      for (const [uid, day] of [['march', '0312'], ['april', '0410'], ['may', '0512'], ['june', '0612']]) await ok(`${CAL}${uid}.ics`, 'PUT', event(uid!, day!), { 'Content-Type': 'text/calendar' });
      for (const [uid, fn] of [['ada', 'Ada Lovelace'], ['alan', 'Alan Turing'], ['grace', 'Grace Hopper']]) await ok(`${BOOK}${uid}.vcf`, 'PUT', vcard(uid!, fn!), { 'Content-Type': 'text/vcard' });
      await ok(CAL, 'REPORT', CQ, { ...XML, Depth: '1' }); // the object index and member list are made
      const first = await ok(CAL, 'REPORT', syncCollectionBody(''), { ...XML, Depth: '1' });
      const token = /<D:sync-token>([^<]+)</.exec(first.body.toString())![1]!;
      // Changes after the token: what a sync from it must report.
      await ok(`${CAL}april.ics`, 'DELETE');
      await ok(`${CAL}mid-may.ics`, 'PUT', event('mid-may', '0515'), { 'Content-Type': 'text/calendar' });
      await ok('/docs/b.txt', 'PROPFIND', propfindBody('getetag'), { ...XML, Depth: '0' });
      const answers = async () => ({
        listing: sortedResponses((await ok('/docs/', 'PROPFIND', LISTING, { ...XML, Depth: '1' })).body.toString()),
        calendar: sortedResponses((await ok(CAL, 'PROPFIND', LISTING, { ...XML, Depth: '1' })).body.toString()),
        cq: sortedResponses((await ok(CAL, 'REPORT', CQ, { ...XML, Depth: '1' })).body.toString()),
        aq: sortedResponses((await ok(BOOK, 'REPORT', AQ, { ...XML, Depth: '1' })).body.toString()),
        sync: (await ok(CAL, 'REPORT', syncCollectionBody(token), { ...XML, Depth: '1' })).body.toString(),
      });
      const before = await answers();
      assert.match(before.sync, /april\.ics<\/D:href><D:status>HTTP\/1\.1 404/, 'the sync reports the delete');
      assert.match(before.cq, /mid-may\.ics/);
      assert.equal(await s.stop(), 0);
      s = undefined;

      const tree = join(root, 'users', 'alice');
      const state = stateDirOf(kind, tree);
      assert.ok(existsSync(join(state, 'caldav-index.json')), 'the server saved an object index');
      const key = await readFile(join(state, 'sync-token.key'));
      const snapshots = kind === 'fs' ? (await readdir(join(state, 'sync'))).sort() : [];
      const journal = kind === 'git' ? (await readdir(join(state, 'journal'))).sort() : [];

      const r = await reindex('--root', root);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, new RegExp(`^alice: ${tree} \\(${kind}\\)`, 'm'));
      assert.match(r.stdout, /alice:\s+removed .*caldav-index\.json/);
      assert.match(r.stdout, /rebuilt caldav-index\.json: 4 calendar objects in 1 calendars/);
      if (kind === 'git') assert.match(r.stdout, /rebuilt path-index\.json from history/);
      assert.match(r.stdout, /^1 trees reindexed$/m);
      // Rebuilt: every current object is in the index, nothing else.
      const rows = parseIndex(await readFile(join(state, 'caldav-index.json'), 'utf8'));
      assert.deepEqual(rows?.map((row) => row[1]).sort(), ['june', 'march', 'may', 'mid-may']);
      // Kept: the token key, the folder's snapshots, the journal.
      assert.deepEqual(await readFile(join(state, 'sync-token.key')), key, 'the sync-token key is never replaced');
      if (kind === 'fs') assert.deepEqual((await readdir(join(state, 'sync'))).sort(), snapshots);
      if (kind === 'git') assert.deepEqual((await readdir(join(state, 'journal'))).sort(), journal);
      for (const gone of ['checksums.log', 'caldav-members']) assert.ok(!existsSync(join(state, gone)) || (await readdir(join(state, gone))).length === 0, `${gone} removed`);

      s = await serve(root, kind);
      const after = await answers();
      assert.equal(after.listing, before.listing, 'PROPFIND Depth 1');
      assert.equal(after.calendar, before.calendar, 'the calendar listing');
      assert.equal(after.cq, before.cq, 'calendar-query');
      assert.equal(after.aq, before.aq, 'addressbook-query');
      assert.equal(sortedResponses(after.sync), sortedResponses(before.sync), 'sync-collection from the old token');
      assert.equal(/<D:sync-token>([^<]+)</.exec(after.sync)?.[1], /<D:sync-token>([^<]+)</.exec(before.sync)?.[1], 'the same new token');
      if (kind === 'git') {
        const fsck = await tool('git', ['--git-dir', tree, 'fsck', '--strict', '--no-progress']);
        assert.equal(fsck.code, 0, fsck.stderr);
      }
    });
  }

  for (const kind of ['git', 'fs']) {
    it(`${kind}: refuses while a server runs on the tree, and removes nothing`, async () => {
      const root = join(await mkdtemp(join(tmpdir(), 'gitdav-reindex-busy-')), 'data');
      s = await serve(root, kind, ['--no-caldav']);
      const put = await http(s.url, '/a.txt', { method: 'PUT', body: 'a', agent, headers: { 'OC-Checksum': 'SHA1:86f7e437faa5a7fce15d1ddcb9eaeaea377667b8' } });
      assert.equal(put.status, 201);
      const state = stateDirOf(kind, root);
      assert.ok(existsSync(join(state, 'checksums.log')));
      const entries = (await readdir(state)).sort();
      const r = await reindex('--root', root);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, new RegExp(`${root} is in use; stop its server first \\(nothing was removed\\):\\n  ${state}: process ${s.pid} `));
      assert.deepEqual((await readdir(state)).sort(), entries, 'nothing removed');
      assert.ok(existsSync(join(state, 'checksums.log')));
      assert.equal(await s.stop(), 0);
      s = undefined;
      const again = await reindex('--root', root);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /removed .*checksums\.log/);
    });
  }

  it('--user NAME reindexes that user\'s tree only; a user with no tree is a usage error', async () => {
    const root = join(await mkdtemp(join(tmpdir(), 'gitdav-reindex-users-')), 'data');
    for (const [name, kind] of [['alice', 'git'], ['bob', 'fs']]) {
      const add = await tool(process.execPath, [CLI, 'user', 'add', name!, '--root', root, '--password-stdin', '--backend', kind!], { input: 'a-long-password\n' });
      assert.equal(add.code, 0, add.stderr);
    }
    const one = await reindex('--root', root, '--user', 'bob');
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, new RegExp(`^bob: ${join(root, 'users', 'bob')} \\(fs\\)`, 'm'));
    assert.doesNotMatch(one.stdout, /alice/);
    const all = await reindex('--root', root);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^alice: .*\(git\), state dir /m);
    assert.match(all.stdout, /^bob: .*\(fs\), state dir /m);
    assert.match(all.stdout, /^2 trees reindexed$/m);
    const none = await reindex('--root', root, '--user', 'carol');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no repository or folder at .*users\/carol/);
  });

  it('git: acknowledged writes still in the journal when the server was killed -9 survive a reindex', async () => {
    const root = join(await mkdtemp(join(tmpdir(), 'gitdav-reindex-journal-')), 'data');
    // A long burst window: writes are answered from the journal, their commit waits for the burst.
    s = await serve(root, 'git', ['--no-caldav', '--burst-window-ms', '600000', '--burst-max-age-ms', '600000']);
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await http(s.url, `/f${i}.txt`, { method: 'PUT', body: `content ${i}`, agent });
      assert.equal(r.status, 201);
      acked.push(`f${i}.txt`);
    }
    s.child.kill('SIGKILL');
    await s.exit;
    s = undefined;
    const committed = async () => (await tool('git', ['--git-dir', root, 'ls-tree', '--name-only', 'main'])).stdout.split('\n').filter(Boolean);
    const before = await committed();
    assert.ok(acked.some((p) => !before.includes(p)), `some acknowledged writes are in the journal only (committed: ${before.join(' ')})`);
    const r = await reindex('--root', root);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /rebuilt path-index\.json from history/);
    assert.match(r.stdout, /committed \d+ write journal records a crash had left/);
    // Reindex opens the repository as a server start does, which commits what the crash left.
    const reindexed = await committed();
    for (const p of acked) assert.ok(reindexed.includes(p), `${p} committed by the reindex's open`);
    s = await serve(root, 'git', ['--no-caldav']);
    for (let i = 0; i < acked.length; i++) {
      const g = await http(s.url, `/${acked[i]}`, { agent });
      assert.equal(g.status, 200, acked[i]);
      assert.equal(g.body.toString(), `content ${i}`);
    }
    assert.equal(await s.stop(), 0);
    s = undefined;
    const after = await committed();
    for (const p of acked) assert.ok(after.includes(p), `${p} committed`);
    const fsck = await tool('git', ['--git-dir', root, 'fsck', '--strict', '--no-progress']);
    assert.equal(fsck.code, 0, fsck.stderr);
  });
});

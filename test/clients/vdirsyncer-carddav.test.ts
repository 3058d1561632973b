/**
 * vdirsyncer (Debian) syncing folders of .vcf files with the server's address books, the way it runs
 * from cron: discovery (from the root URL and from /.well-known/carddav), an address book created on
 * the server (extended MKCOL), uploads (the contact fixtures when present), downloads, edits and
 * deletions both ways, a conflict (reported without `conflict_resolution`, resolved with "a wins"),
 * metasync of displayname and description. Then with users (login), and as a read-write and a
 * read-only grantee of another user's address book.
 */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../backends/util/log.js';
import { basic, raw, startTestServer, type BackendName, type TestServer } from '../helpers/server.js';
import { requireTool, tool } from '../helpers/tools.js';
import { vdirsyncer, VDIRSYNCER, writePairConfig } from '../helpers/vdirsyncer.js';
import { contactFixtures, fnOf, localCards, remoteCards, vcard } from '../helpers/vcards.js';

const VCARD = { 'Content-Type': 'text/vcard; charset=utf-8' };
const OWN = { 'f-1': 'Ada Lovelace', 'f-2': 'Zoë Ærø', 'f-3': 'Grace Hopper' };

/** Commit subjects of a git tree, newest first (`git log --format=%an|%s` when `author`). */
async function subjects(gitDir: string, author = false): Promise<string[]> {
  return (await tool('git', ['--git-dir', gitDir, 'log', `--format=${author ? '%an|' : ''}%s`])).stdout.split('\n').filter(Boolean);
}

const propfind = (base: string, path: string, props: string, headers: Record<string, string> = {}) =>
  raw(base, path, {
    method: 'PROPFIND',
    headers: { ...headers, Depth: '0', 'Content-Type': 'application/xml' },
    body: `<?xml version="1.0"?><propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><prop>${props}</prop></propfind>`,
  });

// git also with the default 2 s bursts: vdirsyncer lists and reads what is not committed yet.
for (const [backend, bursts] of [['fs', false], ['git', false], ['git', true]] as Array<[BackendName, boolean]>) {
  // Commits wait for the burst window: their subjects are checked without one.
  const history = backend === 'git' && !bursts;
  describe(`real client: vdirsyncer with address books (${backend}${bursts ? ', 2 s bursts' : ''})`, function () {
    this.timeout(180_000);
    let s: TestServer;
    let dir: string;
    let local: string; // one folder per address book
    let strict: string; // any conflict is an error
    let aWins: string; // the same pair: conflict_resolution = "a wins", metadata for metasync
    let wellKnown: string; // another pair whose remote URL is /.well-known/carddav
    const fixtures = contactFixtures();
    let requests: Array<{ method: string; url: string; status: number }> = []; // the server's request log
    const get = (path: string) => raw(s.url, path);
    const put = (path: string, body: string) => raw(s.url, path, { method: 'PUT', headers: VCARD, body });
    const run = (config: string, args: string[], input?: string) => vdirsyncer(dir, config, args, input);

    before(async function () {
      requireTool(this, VDIRSYNCER, 'vdirsyncer');
      const logger = createLogger('info', (line) => {
        const l = JSON.parse(line) as { msg: string; method: string; url: string; status: number };
        if (l.msg === 'request') requests.push({ method: l.method, url: l.url, status: l.status });
      });
      s = await startTestServer({ backend, caldav: true, logger, ...(bursts ? { git: { burstWindowMs: 2000 } } : {}) });
      dir = await mkdtemp(join(tmpdir(), 'gitdav-vdirsyncer-card-'));
      local = join(dir, 'local');
      await mkdir(join(local, 'friends'), { recursive: true });
      await mkdir(join(dir, 'wk'));
      const common = { dir, storage: 'carddav', username: 'user', password: 'ignored', fileext: '.vcf' } as const;
      strict = await writePairConfig({ ...common, name: 'strict', url: `${s.url}/`, local });
      aWins = await writePairConfig({ ...common, name: 'a-wins', status: 'strict', url: `${s.url}/`, local, pairExtra: 'conflict_resolution = "a wins"\nmetadata = ["displayname", "description"]' });
      wellKnown = await writePairConfig({ ...common, name: 'well-known', url: `${s.url}/.well-known/carddav`, local: join(dir, 'wk') });
      // The folder to upload: three cards of ours and every contact fixture (names kept, source first).
      for (const [uid, fn] of Object.entries(OWN)) await writeFile(join(local, 'friends', `${uid}.vcf`), vcard(uid, fn, { extra: [`EMAIL;TYPE=INTERNET:${uid}@example.org`] }));
      for (const f of fixtures) await writeFile(join(local, 'friends', f.name.replace('/', '-')), f.text);
    });
    after(async () => {
      await s?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('discover from the root URL finds the default address book and creates the local-only one on the server', async () => {
      const r = await run(strict, ['discover'], 'y\ny\ny\ny\n');
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /p_remote:\s*\n\s*- "contacts" \("Contacts"\)/, r.out);
      assert.match(r.out, /collections = \[("friends", "contacts"|"contacts", "friends")\]/, r.out);
      assert.ok((await stat(join(local, 'contacts'))).isDirectory(), 'a local folder for the server address book');
      const pf = await propfind(s.url, '/addressbooks/user/friends/', '<resourcetype/>');
      assert.equal(pf.status, 207, pf.text);
      assert.match(pf.text, /<(?:[\w-]+:)?addressbook(?:\s[^>]*)?\/>/, `the new collection is an address book: ${pf.text}`);
      assert.match(pf.text, /urn:ietf:params:xml:ns:carddav/);
    });

    it('discover also starts from /.well-known/carddav', async () => {
      requests = [];
      const r = await run(wellKnown, ['discover'], 'y\ny\ny\ny\n');
      assert.equal(r.code, 0, r.out);
      // vdirsyncer adds a slash to the URL it is given
      assert.deepEqual(requests[0], { method: 'PROPFIND', url: '/.well-known/carddav/', status: 301 }, 'its first request, redirected');
      assert.ok(requests.some((q) => q.method === 'PROPFIND' && q.url === '/' && q.status === 207), 'then the root');
      assert.match(r.out, /- "contacts" \("Contacts"\)/, r.out);
      assert.match(r.out, /- "friends"/, r.out);
    });

    it('sync uploads the folder of cards unchanged, each a commit named after the contact on git', async () => {
      const r = await run(strict, ['sync']);
      assert.equal(r.code, 0, r.out);
      const mine = await localCards(join(local, 'friends'));
      assert.equal(mine.size, 3 + fixtures.length);
      const theirs = await remoteCards(s.url, '/addressbooks/user/friends/');
      assert.deepEqual([...theirs.keys()].sort(), [...mine.keys()].sort(), r.out);
      for (const [uid, card] of mine) assert.equal(theirs.get(uid)!.text, card.text, `${uid} comes back byte for byte`);
      const g = await get('/addressbooks/user/friends/f-1.vcf');
      assert.equal(g.status, 200, 'a safe UID names the href');
      assert.match(String(g.headers['content-type']), /^text\/vcard/);
      if (history) {
        const log = await subjects(s.root);
        for (const fn of Object.values(OWN)) assert.ok(log.includes(`Add contact "${fn}"`), `Add contact "${fn}" in ${log.join('\n')}`);
      }
    });

    it('sync downloads cards PUT on the server (into either address book)', async () => {
      const bodies: Record<string, [string, string]> = {
        's-1': ['/addressbooks/user/contacts/s-1.vcf', vcard('s-1', 'Server One')],
        's-2': ['/addressbooks/user/contacts/s-2.vcf', vcard('s-2', 'Server Two', { version: '4.0' })],
        's-w': ['/addressbooks/user/friends/s-w.vcf', vcard('s-w', 'Server Friend')],
      };
      for (const [path, body] of Object.values(bodies)) assert.equal((await put(path, body)).status, 201, path);
      const r = await run(strict, ['sync']);
      assert.equal(r.code, 0, r.out);
      const contacts = await localCards(join(local, 'contacts'));
      const friends = await localCards(join(local, 'friends'));
      assert.deepEqual([...contacts.keys()].sort(), ['s-1', 's-2']);
      assert.ok(friends.has('s-w'));
      assert.equal(friends.size, 4 + fixtures.length);
      // vdirsyncer asks address-data without a version: 3.0 cards come as stored, a 4.0 one as 3.0
      // (what Apple Contacts can read); GET still gives the stored bytes.
      const served = (body: string) => body.replace('VERSION:4.0', 'VERSION:3.0');
      for (const [uid, [path, body]] of Object.entries(bodies)) {
        assert.equal((uid === 's-w' ? friends : contacts).get(uid)!.text, served(body), `${uid} arrives byte for byte (in 3.0)`);
        assert.equal((await get(path)).text, body, `${uid} is stored as PUT`);
      }
    });

    it('an edit on each side syncs to the other', async () => {
      const f1 = join(local, 'friends', 'f-1.vcf');
      await writeFile(f1, (await readFile(f1, 'utf8')).replace('FN:Ada Lovelace', 'FN:Ada King'));
      assert.equal((await put('/addressbooks/user/contacts/s-1.vcf', vcard('s-1', 'Server One Edited'))).status, 204);
      const r = await run(strict, ['sync']);
      assert.equal(r.code, 0, r.out);
      assert.equal(fnOf((await get('/addressbooks/user/friends/f-1.vcf')).text), 'Ada King');
      assert.equal(fnOf((await localCards(join(local, 'contacts'))).get('s-1')!.text), 'Server One Edited');
      if (history) assert.ok((await subjects(s.root)).includes('Update contact "Ada King"'));
      const again = await run(strict, ['sync']);
      assert.equal(again.code, 0, again.out);
      assert.doesNotMatch(again.out, /Copying|Deleting/, `nothing else moved: ${again.out}`);
    });

    it('a deletion on each side syncs to the other', async () => {
      await unlink(join(local, 'friends', 'f-2.vcf'));
      assert.equal((await raw(s.url, '/addressbooks/user/contacts/s-2.vcf', { method: 'DELETE' })).status, 204);
      const r = await run(strict, ['sync']);
      assert.equal(r.code, 0, r.out);
      assert.equal((await get('/addressbooks/user/friends/f-2.vcf')).status, 404, r.out);
      assert.deepEqual([...(await localCards(join(local, 'contacts'))).keys()], ['s-1']);
      assert.equal((await get('/addressbooks/user/friends/f-1.vcf')).status, 200);
      if (history) assert.ok((await subjects(s.root)).includes('Delete contact "Zoë Ærø"'));
    });

    it('an edit on both sides is a conflict: reported without conflict_resolution, then "a wins" settles it', async () => {
      const f3 = join(local, 'friends', 'f-3.vcf');
      const mine = vcard('f-3', 'Grace Hopper by A');
      const theirs = vcard('f-3', 'Grace Hopper by B');
      await writeFile(f3, mine);
      assert.equal((await put('/addressbooks/user/friends/f-3.vcf', theirs)).status, 204);
      const r = await run(strict, ['sync', 'p/friends']);
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.out, /One item changed on both sides/, r.out);
      assert.match(r.out, /Item ID: f-3/, r.out);
      assert.equal(await readFile(f3, 'utf8'), mine, 'nothing was overwritten locally');
      assert.equal((await get('/addressbooks/user/friends/f-3.vcf')).text, theirs, 'nothing was overwritten on the server');

      const resolved = await run(aWins, ['sync']);
      assert.equal(resolved.code, 0, resolved.out);
      assert.equal(await readFile(f3, 'utf8'), mine);
      assert.equal((await get('/addressbooks/user/friends/f-3.vcf')).text, mine, 'side A won on the server too');
      const again = await run(strict, ['sync']);
      assert.equal(again.code, 0, again.out);
      assert.doesNotMatch(again.out, /Copying|Deleting/, again.out);
    });

    it('metasync copies displayname and addressbook-description both ways (PROPPATCH / PROPFIND)', async () => {
      await writeFile(join(local, 'friends', 'displayname'), 'Friends');
      await writeFile(join(local, 'friends', 'description'), 'People I know');
      const r = await run(aWins, ['metasync']);
      assert.equal(r.code, 0, r.out);
      const pf = await propfind(s.url, '/addressbooks/user/friends/', '<displayname/><C:addressbook-description/>');
      assert.equal(pf.status, 207);
      assert.match(pf.text, /displayname[^>]*>Friends</, pf.text);
      assert.match(pf.text, /addressbook-description[^>]*>People I know</, pf.text);
      assert.equal((await readFile(join(local, 'contacts', 'displayname'), 'utf8')).trim(), 'Contacts');
    });
  });

  if (!bursts) describe(`real client: vdirsyncer with address books, users, a read-write and a read-only share (${backend})`, function () {
    this.timeout(180_000);
    const users = { alice: 'alice-secret', bob: 'bob-secret!', carol: 'carol-secret' };
    let s: TestServer;
    let dir: string;
    let alice: string;
    let bob: string;
    let carol: string;
    const asAlice = { headers: basic('alice', users.alice) };
    const run = (config: string, args: string[], input?: string) => vdirsyncer(dir, config, args, input);

    before(async function () {
      requireTool(this, VDIRSYNCER, 'vdirsyncer');
      s = await startTestServer({
        backend,
        users,
        shares: [
          { owner: 'alice', path: '/addressbooks/alice/contacts', grantee: 'bob', access: 'write' },
          { owner: 'alice', path: '/addressbooks/alice/contacts', grantee: 'carol', access: 'read' },
        ],
      });
      dir = await mkdtemp(join(tmpdir(), 'gitdav-vdirsyncer-card-users-'));
      const common = { dir, storage: 'carddav', url: `${s.url}/`, fileext: '.vcf' } as const;
      await mkdir(join(dir, 'alice'));
      await mkdir(join(dir, 'bob'));
      await mkdir(join(dir, 'carol'));
      alice = await writePairConfig({ ...common, name: 'alice', username: 'alice', password: users.alice, local: join(dir, 'alice') });
      bob = await writePairConfig({ ...common, name: 'bob', username: 'bob', password: users.bob, local: join(dir, 'bob') });
      carol = await writePairConfig({ ...common, name: 'carol', username: 'carol', password: users.carol, local: join(dir, 'carol') });
    });
    after(async () => {
      await s?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('a user who logs in finds their own address book and syncs it both ways', async () => {
      const d = await run(alice, ['discover'], 'y\ny\n');
      assert.equal(d.code, 0, d.out);
      assert.match(d.out, /collections = \["contacts"\]/, d.out);
      assert.equal((await raw(s.url, '/addressbooks/alice/contacts/a-1.vcf', { method: 'PUT', headers: { ...VCARD, ...asAlice.headers }, body: vcard('a-1', 'Alice Remote') })).status, 201);
      await writeFile(join(dir, 'alice', 'contacts', 'a-2.vcf'), vcard('a-2', 'Alice Local'));
      await writeFile(join(dir, 'alice', 'contacts', 'a-3.vcf'), vcard('a-3', 'Alice Other'));
      const r = await run(alice, ['sync']);
      assert.equal(r.code, 0, r.out);
      assert.deepEqual([...(await localCards(join(dir, 'alice', 'contacts'))).keys()].sort(), ['a-1', 'a-2', 'a-3']);
      assert.deepEqual([...(await remoteCards(s.url, '/addressbooks/alice/contacts/', asAlice)).keys()].sort(), ['a-1', 'a-2', 'a-3']);
      assert.equal((await raw(s.url, '/addressbooks/alice/contacts/a-2.vcf')).status, 401, 'not without a login');
      const wrong = await writePairConfig({ dir, name: 'wrong', storage: 'carddav', url: `${s.url}/`, username: 'alice', password: 'nope', local: join(dir, 'alice'), fileext: '.vcf' });
      const denied = await run(wrong, ['sync']);
      assert.notEqual(denied.code, 0, denied.out);
    });

    it('a read-write grantee sees the shared book beside their own and syncs into the owner’s tree', async () => {
      const d = await run(bob, ['discover'], 'y\ny\ny\ny\n');
      assert.equal(d.code, 0, d.out);
      assert.match(d.out, /collections = \[("alice~contacts", "contacts"|"contacts", "alice~contacts")\]/, d.out);
      const r = await run(bob, ['sync']);
      assert.equal(r.code, 0, r.out);
      const shared = join(dir, 'bob', 'alice~contacts');
      assert.deepEqual([...(await localCards(shared)).keys()].sort(), ['a-1', 'a-2', 'a-3']);
      assert.equal((await localCards(join(dir, 'bob', 'contacts'))).size, 0, 'bob’s own book is his own');

      await writeFile(join(shared, 'b-1.vcf'), vcard('b-1', 'Bob Shared'));
      const a1 = (await localCards(shared)).get('a-1')!;
      await writeFile(a1.where, a1.text.replace('FN:Alice Remote', 'FN:Alice Edited By Bob'));
      const up = await run(bob, ['sync']);
      assert.equal(up.code, 0, up.out);
      const owners = await remoteCards(s.url, '/addressbooks/alice/contacts/', asAlice);
      assert.deepEqual([...owners.keys()].sort(), ['a-1', 'a-2', 'a-3', 'b-1'], 'stored in alice’s book');
      assert.equal(fnOf(owners.get('a-1')!.text), 'Alice Edited By Bob');
      if (backend === 'git') {
        const log = await subjects(join(s.root, 'users', 'alice'), true);
        assert.ok(log.includes('bob|Add contact "Bob Shared"'), log.join('\n'));
        assert.ok(log.includes('bob|Update contact "Alice Edited By Bob"'), log.join('\n'));
      }

      assert.equal((await raw(s.url, '/addressbooks/alice/contacts/a-3.vcf', { method: 'DELETE', ...asAlice })).status, 204);
      const down = await run(bob, ['sync']);
      assert.equal(down.code, 0, down.out);
      assert.deepEqual([...(await localCards(shared)).keys()].sort(), ['a-1', 'a-2', 'b-1'], 'the owner’s deletion reaches the grantee');
    });

    it('a read-only grantee syncs the shared book down; their local edit is refused and changes nothing', async () => {
      const d = await run(carol, ['discover'], 'y\ny\ny\ny\n');
      assert.equal(d.code, 0, d.out);
      assert.match(d.out, /"alice~contacts"/, d.out);
      const r = await run(carol, ['sync']);
      assert.equal(r.code, 0, r.out);
      const shared = join(dir, 'carol', 'alice~contacts');
      const mine = await localCards(shared);
      assert.deepEqual([...mine.keys()].sort(), ['a-1', 'a-2', 'b-1']);

      const before = await remoteCards(s.url, '/addressbooks/alice/contacts/', asAlice);
      await writeFile(mine.get('a-2')!.where, mine.get('a-2')!.text.replace('FN:Alice Local', 'FN:Carol Was Here'));
      await writeFile(join(shared, 'c-1.vcf'), vcard('c-1', 'Carol New'));
      const up = await run(carol, ['sync', 'p/alice~contacts']);
      assert.notEqual(up.code, 0, up.out);
      assert.match(up.out, /403/, up.out);
      const after = await remoteCards(s.url, '/addressbooks/alice/contacts/', asAlice);
      assert.deepEqual([...after.entries()], [...before.entries()], 'alice’s book is unchanged');
    });
  });
}

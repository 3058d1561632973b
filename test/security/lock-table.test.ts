/**
 * A read-write grantee locks in the owner's lock table (shares route locks there), so the table is
 * the owner's resource that another user fills: a 900 KiB DAV:owner is refused (400), one user's
 * locks per table are capped (507), and a lock change writes that one lock's file, never the table.
 * The locks still survive a restart. Both backends, through a share.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Share } from '../../lib/auth/shares-file.js';
import { basic, lockBody, propfindBody, raw, startTestServer, XML, type BackendName, type TestServer } from '../helpers/server.js';

const ALICE = basic('alice', 'alice-secret');
const BOB = basic('bob', 'bob-secret!');
const USERS = { alice: 'alice-secret', bob: 'bob-secret!' };
const SHARES: Share[] = [{ owner: 'alice', path: '/docs', grantee: 'bob', access: 'write' }];
const PER_USER = 5;
const tokenOf = (r: { headers: Record<string, unknown> }) => String(r.headers['lock-token']).replace(/[<>]/g, '');

/** The folder of Alice's lock files, wherever her backend keeps its state (made by the first lock). */
async function locksDirOf(root: string, optional = false): Promise<string | undefined> {
  const walk = async (dir: string, depth: number): Promise<string | undefined> => {
    if (depth > 4) return undefined;
    for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      if (e.name === 'locks' && /(^|[/\\])\.?gitdav$/.test(dir)) return p;
      const found = await walk(p, depth + 1);
      if (found) return found;
    }
    return undefined;
  };
  const found = await walk(join(root, 'users', 'alice'), 0);
  assert.ok(found || optional, 'alice has a lock folder');
  return found;
}

/** name → inode, mtime and size of each lock file in a folder, and their total size (not the journal, which grows with every change). */
async function filesOf(dir: string): Promise<{ stamps: Map<string, string>; bytes: number }> {
  const stamps = new Map<string, string>();
  let bytes = 0;
  for (const name of (await fsp.readdir(dir)).filter((n) => n.endsWith('.json'))) {
    const st = await fsp.stat(join(dir, name));
    stamps.set(name, `${st.ino}:${st.mtimeMs}:${st.size}`);
    bytes += st.size;
  }
  return { stamps, bytes };
}

for (const backend of ['fs', 'git'] as BackendName[]) describe(`lock table bounds through a read-write share (${backend} backend)`, function () {
  this.timeout(60_000);
  let s: TestServer;
  const lock = (path: string, who: Record<string, string>, owner = 'me', headers: Record<string, string> = {}) =>
    raw(s.url, path, { method: 'LOCK', body: lockBody('exclusive', owner), headers: { ...who, ...XML, Depth: '0', ...headers } });

  before(async () => {
    s = await startTestServer({ backend, users: USERS, shares: SHARES, dav: { limits: { maxLocksPerUser: PER_USER } as never } });
    assert.equal((await raw(s.url, '/docs', { method: 'MKCOL', headers: ALICE })).status, 201);
    for (let i = 0; i < 8; i++) assert.equal((await raw(s.url, `/docs/f${i}.txt`, { method: 'PUT', body: 'x', headers: ALICE })).status, 201);
  });
  after(async () => {
    const root = s.root;
    await s.close();
    await fsp.rm(root, { recursive: true, force: true }); // a restarted server does not own its root
  });

  it('a LOCK with a 900 KiB owner is a 400 with a clear body; nothing is locked and the table stays small', async () => {
    const huge = 'o'.repeat(900 * 1024);
    const r = await lock('/shared/alice/docs/f0.txt', BOB, huge);
    assert.equal(r.status, 400, r.text.slice(0, 200));
    assert.match(r.text, /DAV:owner is \d+ bytes; at most 4096/);
    const onUnmapped = await lock('/shared/alice/docs/new.txt', BOB, huge);
    assert.equal(onUnmapped.status, 400);
    assert.equal((await raw(s.url, '/docs/new.txt', { headers: ALICE })).status, 404, 'no empty file was left');
    assert.equal((await raw(s.url, '/docs/f0.txt', { method: 'PUT', body: 'y', headers: ALICE })).status, 204, 'not locked');
    const dir = await locksDirOf(s.root, true);
    const { bytes } = dir ? await filesOf(dir) : { bytes: 0 };
    assert.ok(bytes < 16 * 1024, `lock files hold ${bytes} bytes`);
    const disc = await raw(s.url, '/docs/f0.txt', { method: 'PROPFIND', body: propfindBody('lockdiscovery'), headers: { ...ALICE, ...XML, Depth: '0' } });
    assert.doesNotMatch(disc.text, /activelock/);
  });

  it(`Bob holds ${PER_USER} locks in Alice's table at most (507 after), Alice still locks, an UNLOCK frees a place`, async () => {
    const tokens: string[] = [];
    for (let i = 0; i < PER_USER; i++) {
      const r = await lock(`/shared/alice/docs/f${i}.txt`, BOB);
      assert.equal(r.status, 200, r.text);
      tokens.push(tokenOf(r));
    }
    const over = await lock(`/shared/alice/docs/f${PER_USER}.txt`, BOB);
    assert.equal(over.status, 507, over.text);
    assert.match(over.text, /bob already holds 5 locks/);
    const alices = await lock(`/docs/f${PER_USER}.txt`, ALICE);
    assert.equal(alices.status, 200, 'the cap is per user');
    assert.equal((await raw(s.url, `/shared/alice/docs/f0.txt`, { method: 'UNLOCK', headers: { ...BOB, 'Lock-Token': `<${tokens[0]}>` } })).status, 204);
    const again = await lock(`/shared/alice/docs/f${PER_USER + 1}.txt`, BOB);
    assert.equal(again.status, 200);
    for (const t of [...tokens.slice(1), tokenOf(again)]) assert.ok(t.startsWith('opaquelocktoken:'));
  });

  it("one lock change writes one lock's file: every other lock file is left as it was", async () => {
    const dir = (await locksDirOf(s.root))!;
    const before = await filesOf(dir);
    assert.ok(before.stamps.size >= PER_USER, `${before.stamps.size} lock files`);
    const r = await lock('/docs/f7.txt', ALICE, 'a'.repeat(3000));
    assert.equal(r.status, 200);
    const after = await filesOf(dir);
    assert.equal(after.stamps.size, before.stamps.size + 1);
    for (const [name, stamp] of before.stamps) assert.equal(after.stamps.get(name), stamp, `${name} untouched`);
    assert.ok(after.bytes - before.bytes < 4096, `the change added ${after.bytes - before.bytes} bytes`);
    assert.equal((await raw(s.url, '/docs/f7.txt', { method: 'UNLOCK', headers: { ...ALICE, 'Lock-Token': `<${tokenOf(r)}>` } })).status, 204);
    assert.deepEqual((await filesOf(dir)).stamps, before.stamps, 'an UNLOCK removes that one file');
  });

  it('the locks survive a restart, and still count against the cap', async () => {
    const root = s.root;
    await s.running.close(100);
    s = await startTestServer({ root, backend, users: USERS, shares: SHARES, dav: { limits: { maxLocksPerUser: PER_USER } as never } });
    assert.equal((await raw(s.url, '/docs/f1.txt', { method: 'PUT', body: 'z', headers: ALICE })).status, 423, "Bob's lock still stands");
    assert.equal((await lock('/shared/alice/docs/f7.txt', BOB)).status, 507, 'Bob still holds his five');
  });
});

/**
 * Review finding 4: with the table's size counted over everyone's locks, grantees together could
 * fill it and Alice got 507 on LOCK of her own files. Now each user's locks are capped in bytes, the
 * table cap bounds only the others' locks, and Alice is refused by her own caps only.
 */
for (const backend of ['fs', 'git'] as BackendName[]) describe(`grantees cannot fill the owner's lock table (${backend} backend)`, function () {
  this.timeout(60_000);
  const CAROL = basic('carol', 'carol-secret');
  const users = { ...USERS, carol: 'carol-secret' };
  const shares: Share[] = [...SHARES, { owner: 'alice', path: '/docs', grantee: 'carol', access: 'write' }];
  // A lock with a 1,800-byte owner is ~2.1 KB as stored: 4 fit in a user's 10,000 bytes, a 5th does
  // not; two grantees' 4 each (~17 KB) fit under 18,000 bytes, but not one more of Alice's on top.
  const limits = { maxLocksPerUser: 1000, maxLockBytesPerUser: 10_000, maxLockTableBytes: 18_000 };
  const OWNER = 'o'.repeat(1800);
  let s: TestServer;
  const lock = (path: string, who: Record<string, string>) =>
    raw(s.url, path, { method: 'LOCK', body: lockBody('exclusive', OWNER), headers: { ...who, ...XML, Depth: '0' } });

  before(async () => {
    s = await startTestServer({ backend, users, shares, dav: { limits: limits as never } });
    assert.equal((await raw(s.url, '/docs', { method: 'MKCOL', headers: ALICE })).status, 201);
    for (let i = 0; i < 16; i++) assert.equal((await raw(s.url, `/docs/f${i}.txt`, { method: 'PUT', body: 'x', headers: ALICE })).status, 201);
  });
  after(async () => {
    const root = s.root;
    await s.close();
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('two grantees fill their own caps (507 past them); Alice still locks her own files up to her own cap', async () => {
    let file = 0;
    for (const [name, who] of [['bob', BOB], ['carol', CAROL]] as const) {
      for (let i = 0; i < 4; i++) {
        const r = await lock(`/shared/alice/docs/f${file++}.txt`, who);
        assert.equal(r.status, 200, `${name}'s lock ${i + 1}: ${r.text.slice(0, 300)}`);
      }
      const over = await lock(`/shared/alice/docs/f${file}.txt`, who);
      assert.equal(over.status, 507, `${name} past the cap: ${over.text.slice(0, 300)}`);
      assert.match(over.text, new RegExp(`${name} already holds 4 locks of \\d+ bytes`));
    }
    for (let i = 0; i < 4; i++) {
      const mine = await lock(`/docs/f${file++}.txt`, ALICE);
      assert.equal(mine.status, 200, `Alice's own lock ${i + 1}: ${mine.text.slice(0, 300)}`);
    }
    const hers = await lock(`/docs/f${file}.txt`, ALICE);
    assert.equal(hers.status, 507, 'Alice is bounded by her own per-user cap');
    assert.match(hers.text, /alice already holds 4 locks/);
  });
});

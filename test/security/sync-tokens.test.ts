/**
 * Sync tokens are bound to the collection they were issued for (issue 10 #5). A token used to be any
 * state of the owner's tree: Bob, through a share of Alice's `/ro`, sent her root's token and got her
 * top-level names, and could test a guess at her files by building a tree himself and sending its id.
 * Now every token is signed for its collection with a key of the owner's own; anything else is 403
 * `valid-sync-token`. A legitimate token keeps working, across a restart too. Both backends.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Share } from '../../lib/auth/shares-file.js';
import { basic, propfindBody, raw, startTestServer, XML, type BackendName, type TestServer } from '../helpers/server.js';
import { tool } from '../helpers/tools.js';

const ALICE = basic('alice', 'alice-secret');
const BOB = basic('bob', 'bob-secret!');
const USERS = { alice: 'alice-secret', bob: 'bob-secret!' };
const SHARES: Share[] = [
  { owner: 'alice', path: '/ro', grantee: 'bob', access: 'read' },
  { owner: 'alice', path: '/rw', grantee: 'bob', access: 'write' },
];
const syncBody = (token: string) =>
  `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>${token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`;

for (const backend of ['fs', 'git'] as BackendName[]) describe(`sync tokens are bound to their collection (${backend} backend)`, function () {
  this.timeout(60_000);
  let root: string;
  let s: TestServer;
  const start = async () => (s = await startTestServer({ root, backend, users: USERS, shares: SHARES }));

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gitdav-sync-tokens-'));
    await start();
    for (const dir of ['/ro', '/rw', '/sib']) assert.equal((await raw(s.url, dir, { method: 'MKCOL', headers: ALICE })).status, 201);
    const puts: Array<[string, string]> = [['/secret.txt', 'alice-secret'], ['/ro/plan.txt', 'the plan'], ['/rw/notes.txt', 'notes'], ['/sib/hidden.txt', 'sibling only']];
    for (const [p, body] of puts) assert.equal((await raw(s.url, p, { method: 'PUT', body, headers: ALICE })).status, 201);
    assert.equal((await raw(s.url, '/mine', { method: 'MKCOL', headers: BOB })).status, 201);
  });
  after(async () => {
    await s.close();
    await rm(root, { recursive: true, force: true });
  });

  const tokenOf = async (path: string, who: Record<string, string>) => {
    const r = await raw(s.url, path, { method: 'PROPFIND', body: propfindBody('sync-token'), headers: { ...who, ...XML, Depth: '0' } });
    assert.equal(r.status, 207, r.text);
    return /<D:sync-token>([^<]+)</.exec(r.text)![1]!;
  };
  const sync = (path: string, token: string, who: Record<string, string>) => raw(s.url, path, { method: 'REPORT', body: syncBody(token), headers: { ...who, ...XML } });
  const refused = async (path: string, token: string, who: Record<string, string>, what: string) => {
    const r = await sync(path, token, who);
    assert.equal(r.status, 403, `${what}: ${r.status} ${r.text}`);
    assert.match(r.text, /valid-sync-token/, what);
    assert.doesNotMatch(r.text, /secret\.txt|hidden\.txt|sib\b/, `${what}: nothing of Alice's leaks`);
  };

  it('Bob, through a read-only and a read-write share, cannot use Alice’s root token, a sibling’s, or his own', async () => {
    const aliceRoot = await tokenOf('/', ALICE);
    const aliceSib = await tokenOf('/sib/', ALICE);
    const bobRoot = await tokenOf('/', BOB);
    const bobMine = await tokenOf('/mine/', BOB);
    for (const share of ['/shared/alice/ro/', '/shared/alice/rw/']) {
      await refused(share, aliceRoot, BOB, `Alice's root token on ${share}`);
      await refused(share, aliceSib, BOB, `a sibling's token on ${share}`);
      await refused(share, bobRoot, BOB, `Bob's own root token on ${share}`);
      await refused(share, bobMine, BOB, `Bob's own folder's token on ${share}`);
    }
    // The other way round: a token of a share, or of Alice's tree, means nothing in Bob's own tree.
    await refused('/', aliceRoot, BOB, 'Alice’s root token on Bob’s root');
    await refused('/mine/', await tokenOf('/shared/alice/ro/', BOB), BOB, 'a share’s token on Bob’s folder');
    // And Alice cannot use one collection's token on another either.
    await refused('/ro/', aliceSib, ALICE, 'a sibling’s token on /ro (Alice)');
    await refused('/', aliceSib, ALICE, 'a child’s token on the root (Alice)');
  });

  it('a handcrafted state (a tree Bob built, an unsigned or re-signed token) is refused', async () => {
    const legit = await tokenOf('/shared/alice/ro/', BOB);
    const [, state, mac] = /^urn:x-gitdav:sync:(.+)\.([0-9a-f]+)$/.exec(legit)!;
    const forged = [
      `urn:x-gitdav:sync:${state}`, // unsigned, as tokens were before
      `urn:x-gitdav:sync:${state}.${'0'.repeat(mac!.length)}`,
      `urn:x-gitdav:sync:${state}.${mac!.slice(0, -1)}`,
      `urn:x-gitdav:sync:${state}.${mac}0`,
    ];
    if (backend === 'git') {
      // The tree of the issue: {.davprops, secret.txt: "alice-secret"}, written into Alice's repository.
      const gitdir = join(root, 'users', 'alice');
      const blob = async (text: string) => (await tool('git', ['--git-dir', gitdir, 'hash-object', '-w', '--stdin'], { input: text })).stdout.trim();
      const listing = `100644 blob ${await blob('{}\n')}\t.davprops\n100644 blob ${await blob('alice-secret')}\tsecret.txt\n`;
      const tree = (await tool('git', ['--git-dir', gitdir, 'mktree'], { input: listing })).stdout.trim();
      assert.match(tree, /^[0-9a-f]{40}$/);
      forged.push(`urn:x-gitdav:sync:${tree}`, `urn:x-gitdav:sync:${tree}.${mac}`);
      // Alice's real root tree, unsigned.
      const rootTree = (await tool('git', ['--git-dir', gitdir, 'rev-parse', 'main^{tree}'])).stdout.trim();
      forged.push(`urn:x-gitdav:sync:${rootTree}`);
    } else {
      forged.push(`urn:x-gitdav:sync:fs-${createHash('sha1').update('[]').digest('hex')}`);
    }
    for (const token of forged) await refused('/shared/alice/ro/', token, BOB, `forged ${token}`);
  });

  it('a legitimate token works through either share, follows changes, and survives a restart', async () => {
    const ro = await tokenOf('/shared/alice/ro/', BOB);
    const rw = await tokenOf('/shared/alice/rw/', BOB);
    const aliceRo = await tokenOf('/ro/', ALICE);
    assert.equal((await raw(s.url, '/ro/new.txt', { method: 'PUT', body: 'new', headers: ALICE })).status, 201);
    assert.equal((await raw(s.url, '/shared/alice/rw/bob.txt', { method: 'PUT', body: 'from bob', headers: BOB })).status, 201);
    const check = async () => {
      const a = await sync('/shared/alice/ro/', ro, BOB);
      assert.equal(a.status, 207, a.text);
      assert.match(a.text, /\/shared\/alice\/ro\/new\.txt/);
      assert.doesNotMatch(a.text, /plan\.txt|secret/);
      const b = await sync('/shared/alice/rw/', rw, BOB);
      assert.equal(b.status, 207, b.text);
      assert.match(b.text, /\/shared\/alice\/rw\/bob\.txt/);
      // Alice's own token of /ro names the same stored collection: it holds there too.
      const c = await sync('/ro/', aliceRo, ALICE);
      assert.equal(c.status, 207, c.text);
      assert.match(c.text, /\/ro\/new\.txt/);
    };
    await check();
    await s.close();
    await start();
    await check();
  });
});

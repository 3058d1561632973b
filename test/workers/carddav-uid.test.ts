/**
 * no-uid-conflict for cards across the workers of a real `gitdav serve --workers 2`: PUTs of one UID
 * to two hrefs, raced through both workers, store exactly one (the UID index is CalDAV's, shared
 * through the tree's state: lib/caldav/uid-index.ts), on both backends and with git's bursts.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import { http, serveWorkers, workersThatServed, stopAfterEach, type Served } from './helpers.js';

const oneEach = new Agent({ keepAlive: false });
const card = (uid: string, n: number) => ['BEGIN:VCARD', 'VERSION:3.0', `UID:${uid}`, `FN:Person ${n}`, 'END:VCARD', ''].join('\r\n');

describe('gitdav serve --workers 2: one card UID once per address book', function () {
  this.timeout(180_000);
  let s: Served | undefined;
  stopAfterEach(() => s, () => (s = undefined));

  for (const [backend, bursts] of [['git', false], ['git', true], ['fs', false]] as const) {
    const label = bursts ? `${backend}, 2 s bursts` : backend;
    it(`one UID is accepted once when PUTs of it race through both workers (${label})`, async () => {
      s = await serveWorkers(['--root', join(await mkdtemp(join(tmpdir(), 'gitdav-carduid-')), 'data'), '--backend', backend, ...(bursts ? ['--burst-window-ms', '2000'] : []), '--workers', '2']);
      const book = '/addressbooks/user/contacts/';
      const put = (name: string, uid: string, n: number) => http(s!.url, book + name, { method: 'PUT', body: card(uid, n), headers: { 'Content-Type': 'text/vcard; charset=utf-8' }, agent: oneEach });
      const rounds = 24;
      for (let round = 0; round < rounds; round++) {
        const [a, b] = await Promise.all([put(`r${round}-a.vcf`, `uid-${round}`, round), put(`r${round}-b.vcf`, `uid-${round}`, round), put(`other-${round}.vcf`, `other-${round}`, round)]);
        assert.deepEqual([a.status, b.status].sort(), [201, 409], `round ${round}: ${a.status} ${b.status}`);
        assert.match((a.status === 409 ? a : b).body.toString(), /no-uid-conflict/);
      }
      const listing = await http(s.url, book, { method: 'PROPFIND', headers: { Depth: '1' }, agent: oneEach });
      const members = [...listing.body.toString().matchAll(/<D:href>[^<]*\/(r\d+-[ab]\.vcf)<\/D:href>/g)].map((m) => m[1]);
      assert.equal(members.length, rounds, `one member per UID: ${members.join(' ')}`);
      assert.deepEqual([...workersThatServed(s.records())].sort(), [1, 2]);
    });
  }
});

/**
 * The saved member list's file (lib/caldav/state/member-file.ts): a round trip; strict parsing (every
 * truncation, a changed byte, another user's or path's list, malformed rows: null, as if absent); the
 * folder bounded to MAX_FILES lists.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { turnsDuring } from '../helpers/steps.js';
import { loadList, MAX_FILES, memberFile, parseList, saveList, serializeList, serializeListInSlices, TEMP_MAX_AGE_MS, type SavedList } from '../../lib/caldav/state/member-file.js';

const list: SavedList = { token: 'urn:x-gitdav:sync:abc', members: [['a.ics', '"0123"', 12], ['b é.ics', '"4567"', 0]] };

describe('CalDAV saved member lists', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'gitdav-memberfile-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('round-trips through temp + rename, for its user and path only', async () => {
    const file = memberFile(dir, 'alice', '/cal');
    await saveList(file, 'alice', '/cal', list);
    assert.deepEqual(await loadList(file, 'alice', '/cal'), list);
    assert.equal(await loadList(file, 'bob', '/cal'), null);
    assert.equal(await loadList(file, 'alice', '/other'), null);
    assert.notEqual(memberFile(dir, 'bob', '/cal'), file);
    assert.equal(await loadList(join(dir, 'none.json'), 'alice', '/cal'), null);
  });

  it('refuses every truncation and any changed character', () => {
    const text = serializeList('u', '/c', list);
    assert.deepEqual(parseList(text, 'u', '/c'), list);
    for (let n = 0; n < text.length; n++) assert.equal(parseList(text.slice(0, n), 'u', '/c'), null, `cut at ${n}`);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: text.length - 1 }), fc.integer({ min: 32, max: 126 }), (at, code) => {
        const c = String.fromCharCode(code);
        if (text[at] === c) return;
        assert.equal(parseList(text.slice(0, at) + c + text.slice(at + 1), 'u', '/c'), null);
      }),
      { numRuns: 2000, seed: 13 },
    );
  });

  it('refuses malformed rows even with a right checksum', () => {
    const rows: unknown[][] = [
      [['a.ics', '"1"', 1], ['a.ics', '"2"', 2]], // a name twice
      [['x/a.ics', '"1"', 1]],
      [['..', '"1"', 1]],
      [['', '"1"', 1]],
      [['a.ics', '1', 1]],
      [['a.ics', '"1"', -1]],
      [['a.ics', '"1"', 1.5]],
      [['a.ics', '"1"']],
      [['a.ics', '"1"', 1, 0]],
    ];
    for (const members of rows) {
      const text = serializeList('u', '/c', { token: 't', members: members as SavedList['members'] });
      assert.equal(parseList(text, 'u', '/c'), null, JSON.stringify(members));
    }
    assert.equal(parseList(serializeList('u', '/c', { token: '', members: [] }), 'u', '/c'), null, 'no token');
  });

  it(`keeps at most ${MAX_FILES} lists in the folder, the least recently used removed`, async function () {
    this.timeout(60_000);
    const sub = join(dir, 'many');
    await mkdir(sub);
    for (let i = 0; i < MAX_FILES + 3; i++) await saveList(memberFile(sub, 'u', `/c${i}`), 'u', `/c${i}`, list);
    const names = await readdir(join(sub, 'caldav-members'));
    assert.equal(names.length, MAX_FILES);
    assert.deepEqual(await loadList(memberFile(sub, 'u', `/c${MAX_FILES + 2}`), 'u', `/c${MAX_FILES + 2}`), list);
    await writeFile(join(sub, 'caldav-members', 'README'), 'not a list'); // other names are left alone
    await saveList(memberFile(sub, 'u', '/again'), 'u', '/again', list);
    assert.equal((await readdir(join(sub, 'caldav-members'))).length, MAX_FILES + 1);
  });

  it('serialises a long list in slices, with turns of the event loop between them, to the same text', async () => {
    const long: SavedList = { token: 't', members: Array.from({ length: 10_000 }, (_, i) => [`e${i}.ics`, `"${i}"`, i] as [string, string, number]) };
    const { value: text, turns } = await turnsDuring(() => serializeListInSlices('u', '/c', long));
    assert.equal(text, serializeList('u', '/c', long));
    assert.ok(turns >= 10, `${turns} turns of the loop while 10,000 rows were serialised`);
    assert.deepEqual(parseList(text, 'u', '/c'), long);
    assert.equal(await serializeListInSlices('u', '/c', { token: 't', members: [] }), serializeList('u', '/c', { token: 't', members: [] }));
  });

  it('trims by last use: a list read recently stays, an older unused one goes', async function () {
    this.timeout(60_000);
    const sub = join(dir, 'used');
    await mkdir(sub);
    const files = [];
    for (let i = 0; i < MAX_FILES; i++) {
      const f = memberFile(sub, 'u', `/c${i}`);
      await saveList(f, 'u', `/c${i}`, list);
      files.push(f);
    }
    // Written long ago, the oldest first.
    for (let i = 0; i < MAX_FILES; i++) await utimes(files[i]!, new Date(1e12 + i * 1000), new Date(1e12 + i * 1000));
    assert.deepEqual(await loadList(files[0]!, 'u', '/c0'), list); // the oldest written is used now
    await saveList(memberFile(sub, 'u', '/new'), 'u', '/new', list);
    assert.deepEqual(await loadList(files[0]!, 'u', '/c0'), list, 'the list in use stays');
    assert.equal(await loadList(files[1]!, 'u', '/c1'), null, 'the oldest unused one went');
  });

  it('removes temp files a crash left behind, and only old ones', async () => {
    const sub = join(dir, 'crash');
    await mkdir(join(sub, 'caldav-members'), { recursive: true });
    const stale = join(sub, 'caldav-members', `${'a'.repeat(40)}.json.123.0123456789ab.tmp`);
    const fresh = join(sub, 'caldav-members', `${'b'.repeat(40)}.json.124.0123456789ab.tmp`);
    await writeFile(stale, '{"format":');
    await writeFile(fresh, '{"format":');
    const old = new Date(Date.now() - TEMP_MAX_AGE_MS - 60_000);
    await utimes(stale, old, old);
    await saveList(memberFile(sub, 'u', '/c'), 'u', '/c', list);
    const names = await readdir(join(sub, 'caldav-members'));
    assert.ok(!names.includes(stale.split('/').pop()!), 'the stale temp file is removed');
    assert.ok(names.includes(fresh.split('/').pop()!), 'a temp file that may be a save in progress stays');
  });

  it('never makes a removed state dir again', async () => {
    const sub = join(dir, 'removed');
    await mkdir(sub);
    await saveList(memberFile(sub, 'u', '/c'), 'u', '/c', list);
    await rm(sub, { recursive: true });
    await assert.rejects(saveList(memberFile(sub, 'u', '/c'), 'u', '/c', list), { code: 'ENOENT' });
    await assert.rejects(stat(sub), { code: 'ENOENT' });
  });
});

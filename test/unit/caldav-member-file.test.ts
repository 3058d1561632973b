/**
 * The saved member list's file (lib/caldav/state/member-file.ts): a round trip; strict parsing (every
 * truncation, a changed byte, another user's or path's list, malformed rows: null, as if absent); the
 * folder bounded to MAX_FILES lists.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadList, MAX_FILES, memberFile, parseList, saveList, serializeList, type SavedList } from '../../lib/caldav/state/member-file.js';

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

  it(`keeps at most ${MAX_FILES} lists in the folder, the least recently written removed`, async function () {
    this.timeout(60_000);
    const sub = join(dir, 'many');
    for (let i = 0; i < MAX_FILES + 3; i++) await saveList(memberFile(sub, 'u', `/c${i}`), 'u', `/c${i}`, list);
    const names = await readdir(join(sub, 'caldav-members'));
    assert.equal(names.length, MAX_FILES);
    assert.deepEqual(await loadList(memberFile(sub, 'u', `/c${MAX_FILES + 2}`), 'u', `/c${MAX_FILES + 2}`), list);
    await writeFile(join(sub, 'caldav-members', 'README'), 'not a list'); // other names are left alone
    await saveList(memberFile(sub, 'u', '/again'), 'u', '/again', list);
    assert.equal((await readdir(join(sub, 'caldav-members'))).length, MAX_FILES + 1);
  });
});

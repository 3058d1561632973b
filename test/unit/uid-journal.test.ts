/** The folder backend's UID journal (lib/caldav/state/uid-journal.ts): a reader knows its file by generation, not inode. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendJournal, journalEnd, readJournal } from '../../lib/caldav/state/uid-journal.js';

describe('UID journal', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-uidj-'));
    file = join(dir, 'caldav-uids', 'c.log');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads the lines after a position, then none', async () => {
    const pos = await journalEnd(file);
    await appendJournal(file, ['e1', '/a.ics', 'u-a']);
    await appendJournal(file, ['e2', '/b.ics', 'u-b']);
    const read = await readJournal(file, pos);
    assert.deepEqual(read?.lines, [['e1', '/a.ics', 'u-a'], ['e2', '/b.ics', 'u-b']]);
    assert.deepEqual((await readJournal(file, read!.pos))?.lines, []);
  });

  it('a file of another generation is not read on, whatever its inode (rotation, removal)', async () => {
    const pos = await journalEnd(file);
    await appendJournal(file, ['e1', '/a.ics', 'u-a']);
    // Rewritten in place (same inode), as a file system reusing the number would show it.
    const text = await readFile(file, 'utf8');
    await writeFile(file, `#${'0'.repeat(32)}\n` + text.slice(34) + JSON.stringify(['e2', '/b.ics', 'u-b']) + '\n');
    assert.equal(await readJournal(file, pos), null);
    await rm(file);
    assert.equal(await readJournal(file, pos), null);
    await appendJournal(file, ['e3', '/c.ics', 'u-c']); // made afresh, with a generation
    assert.equal(await readJournal(file, pos), null);
    const again = await journalEnd(file);
    assert.notEqual(again.gen, pos.gen);
  });

  it('a file without a generation (an older gitdav) is replaced by one with a generation', async () => {
    await appendJournal(file, ['e0', '/z.ics', 'u-z']);
    await writeFile(file, JSON.stringify(['e1', '/a.ics', 'u-a']) + '\n');
    const pos = await journalEnd(file);
    assert.match(pos.gen, /^[0-9a-f]{32}$/);
    await appendJournal(file, ['e2', '/b.ics', 'u-b']);
    assert.deepEqual((await readJournal(file, pos))?.lines, [['e2', '/b.ics', 'u-b']]);
  });
});

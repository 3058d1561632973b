import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockJournal, type JournalNews } from '../../lib/dav/locks/lock-journal.js';

const name = (i: number) => i.toString(16).padStart(32, '0');
/** The next turn: a journal answers at most once per run of microtasks. */
const turn = () => new Promise((r) => setImmediate(r));
const files = (n: JournalNews) => (n.kind === 'files' ? [...n.names].sort() : n.kind);

describe('the lock journal: how processes learn of each other\'s lock changes', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-journal-'));
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('nothing before the first line; then a reader that finds the journal reloads all, then follows line by line', async () => {
    const writer = new LockJournal(join(dir, 'journal'));
    const reader = new LockJournal(join(dir, 'journal'));
    assert.equal(reader.news(true).kind, 'none');
    writer.append([name(1)]);
    assert.equal(reader.news(true).kind, 'all', 'what came before it opened is unknown');
    assert.equal(reader.news(true).kind, 'none');
    writer.append([name(2), name(3)]);
    assert.deepEqual(files(reader.news(true)), [name(2), name(3)]);
    assert.equal(writer.news(true).kind, 'none', 'a writer does not read its own lines back');
    writer.append('all');
    assert.equal(reader.news(true).kind, 'all');
    writer.close();
    reader.close();
  });

  it('answers once per turn unless forced', async () => {
    const writer = new LockJournal(join(dir, 'journal'));
    const reader = new LockJournal(join(dir, 'journal'));
    writer.append([name(1)]);
    reader.news(true);
    writer.append([name(2)]);
    await turn();
    assert.deepEqual(files(reader.news()), [name(2)]);
    writer.append([name(3)]);
    assert.equal(reader.news().kind, 'none', 'the same turn: the answer stands');
    await turn();
    assert.deepEqual(files(reader.news()), [name(3)]);
    writer.close();
    reader.close();
  });

  it('past its size a new journal starts: readers of the old one reopen, reload, and follow the new one', async () => {
    const writer = new LockJournal(join(dir, 'journal'), 200);
    const reader = new LockJournal(join(dir, 'journal'), 200);
    writer.append([name(0)]);
    reader.news(true);
    let rolled = false;
    for (let i = 1; i < 10 && !rolled; i++) {
      writer.append([name(i)]);
      rolled = (await fsp.stat(join(dir, 'journal'))).size < 33 * i;
    }
    assert.ok(rolled, 'a new journal was started');
    assert.equal(reader.news(true).kind, 'all');
    writer.append([name(42)]);
    assert.deepEqual(files(reader.news(true)), [name(42)]);
    assert.deepEqual((await fsp.readdir(dir)).sort(), ['journal']);
    writer.close();
    reader.close();
  });
});

/** Junk files (backends/git/junk/): which names are junk, and the store's index read back strictly. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { DEFAULT_JUNK, JunkRules } from '../../backends/git/junk/rules.js';
import { JunkStore, parseIndex } from '../../backends/git/junk/store.js';

describe('junk rules (gitignore syntax, npm ignore)', () => {
  const rules = new JunkRules();

  it('the default list is exactly the documented one', () => {
    assert.deepEqual([...DEFAULT_JUNK], ['.DS_Store', '._*', 'Thumbs.db', 'desktop.ini', '~$*', '.~lock.*#', '*.swp', '*.swx', '.#*']);
  });

  it('each default pattern makes junk, at the root and in folders', () => {
    const junk = ['.DS_Store', '._x', '._Photo.jpg', 'Thumbs.db', 'desktop.ini', '~$x.docx', '~$Report.xlsx', '.~lock.x#', '.~lock.Report.odt#', 'x.swp', '.x.txt.swp', 'x.swx', '.#notes.org'];
    for (const name of junk) {
      assert.equal(rules.isJunk(`/${name}`), true, name);
      assert.equal(rules.isJunk(`/a/b/${name}`), true, `/a/b/${name}`);
    }
  });

  it('ordinary names are not junk', () => {
    const plain = ['x.txt', 'DS_Store', 'a._x', 'Thumbs.db.bak', 'my~$x.docx', '.~lock.x', 'x.swpx', 'swp', 'notes.org', '#x#', '.git-like', 'x.swp.txt', '.hidden'];
    for (const name of plain) assert.equal(rules.isJunk(`/d/${name}`), false, name);
    assert.equal(rules.isJunk('/'), false, 'the root');
  });

  it('as in git, a file inside a folder whose name matches is junk too', () => {
    assert.equal(rules.isJunk('/._d/file.txt'), true);
  });

  it('a configured list replaces the default; `!` re-includes; comments and blank lines count for nothing', () => {
    const own = new JunkRules(['*.tmp', '*.swp', '!keep.swp', '# a comment', '']);
    assert.equal(own.isJunk('/a.tmp'), true);
    assert.equal(own.isJunk('/x.swp'), true);
    assert.equal(own.isJunk('/keep.swp'), false);
    assert.equal(own.isJunk('/d/keep.swp'), false);
    assert.equal(own.isJunk('/.DS_Store'), false, 'the default is replaced, not added to');
    const both = new JunkRules([...DEFAULT_JUNK, '*.tmp']);
    assert.equal(both.isJunk('/.DS_Store') && both.isJunk('/x.tmp'), true, 'the default listed again, plus one');
  });

  it('an empty list (or only comments) keeps nothing out', () => {
    for (const list of [[], ['# nothing', '  ']]) {
      const none = new JunkRules(list);
      assert.equal(none.empty, true);
      assert.equal(none.isJunk('/.DS_Store'), false);
    }
  });

  it('anchored patterns and folder-only patterns follow gitignore', () => {
    const r = new JunkRules(['/top.log', 'cache/']);
    assert.equal(r.isJunk('/top.log'), true);
    assert.equal(r.isJunk('/d/top.log'), false);
    assert.equal(r.isJunk('/cache/x'), true);
  });

  it('never throws on any path', () => {
    fc.assert(fc.property(fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 4 }), (segments) => {
      rules.isJunk('/' + segments.join('/'));
    }));
  });
});

describe('junk store: the index file read back strictly', () => {
  let dir: string;
  const warnings: string[] = [];
  const open = () => new JunkStore(join(dir, 'junk'), () => join(dir, 'tmp'), (m) => warnings.push(m));
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gitdav-junk-'));
    warnings.length = 0;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('what it writes it reads back; content is shared by id and removed when no entry names it', async () => {
    const a = open();
    await a.put('/x/.DS_Store', Readable.from([Buffer.from('same')]), async () => undefined);
    await a.put('/y/.DS_Store', Readable.from([Buffer.from('same')]), async () => undefined);
    await a.put('/z.swp', Readable.from([Buffer.from('other')]), async () => undefined);
    assert.equal((await readdir(join(dir, 'junk', 'content'))).length, 2);
    const b = open(); // another process's view of the same files
    assert.equal(b.get('/y/.DS_Store')?.size, 4);
    await b.removeWithin('/x');
    assert.equal(a.get('/x/.DS_Store'), undefined, 'the other store sees the change');
    assert.equal((await readdir(join(dir, 'junk', 'content'))).length, 2, 'still named by /y');
    await a.removeWithin('/y');
    await a.copyWithin('/z.swp', '/w.swp', true);
    assert.deepEqual(await readdir(join(dir, 'junk', 'content')), [a.get('/w.swp')!.id]);
    assert.equal(warnings.length, 0);
    a.close();
    b.close();
  });

  it('a corrupt or truncated index is taken as empty (and said), never trusted; the next write starts afresh', async () => {
    const s = open();
    await s.put('/a.swp', Readable.from([Buffer.from('bytes')]), async () => undefined);
    const good = await readFile(join(dir, 'junk', 'index.json'), 'utf8');
    const bad = [good.slice(0, good.length - 3), '', 'null', '[]', good.replace('"format":1', '"format":2'), good.replace(/"size":5/, '"size":-1'), good.replace(/"id":"[0-9a-f]+"/, '"id":"../../etc/passwd"'), good.replace('"/a.swp"', '"a.swp"')];
    for (const text of bad) {
      await writeFile(join(dir, 'junk', 'index.json.tmp'), text);
      const { rename } = await import('node:fs/promises');
      await rename(join(dir, 'junk', 'index.json.tmp'), join(dir, 'junk', 'index.json'));
      assert.equal(s.get('/a.swp'), undefined, JSON.stringify(text).slice(0, 60));
    }
    assert.ok(warnings.length >= bad.length);
    await s.put('/b.swp', Readable.from([Buffer.from('new')]), async () => undefined);
    assert.equal(open().get('/b.swp')?.size, 3);
    s.close();
  });

  it('parseIndex never throws (property)', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ format: 1, files: { '/x': v } }))), (text) => {
      const r = parseIndex(text);
      assert.ok(r === null || r instanceof Map);
    }));
  });

  it('two stores on one folder (two processes) writing and removing at once lose nothing', async () => {
    const a = open();
    const b = open();
    const writes = [];
    for (let i = 0; i < 20; i++) {
      writes.push(a.put(`/a${i}.swp`, Readable.from([Buffer.from(`same ${i % 3}`)]), async () => undefined));
      writes.push(b.put(`/b${i}.swp`, Readable.from([Buffer.from(`same ${i % 3}`)]), async () => undefined));
    }
    await Promise.all(writes);
    await Promise.all([a.removeWithin('/a0.swp'), b.removeWithin('/b1.swp')]);
    const c = open();
    const paths = c.membersOf('/').map(([p]) => p);
    assert.equal(paths.length, 38);
    assert.ok(!paths.includes('/a0.swp') && !paths.includes('/b1.swp'));
    assert.deepEqual((await readdir(join(dir, 'junk', 'content'))).length, 3, 'three distinct contents, each once');
    for (const s of [a, b, c]) s.close();
  });

  it('a check that throws leaves nothing behind', async () => {
    const s = open();
    await assert.rejects(s.put('/a.swp', Readable.from([Buffer.from('x')]), async () => {
      throw new Error('guard');
    }), /guard/);
    assert.equal(s.get('/a.swp'), undefined);
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
    s.close();
  });
});

/** Junk files (backends/git/junk/): which names are junk, and the store's index read back strictly. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { DEFAULT_JUNK, JunkRules } from '../../backends/git/junk/rules.js';
import { folderHash, JunkStore, parseFolder, parseFolders } from '../../backends/git/junk/store.js';

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
    const contents = async () => (await Promise.all((await readdir(join(dir, 'junk', 'content'))).map((h) => readdir(join(dir, 'junk', 'content', h))))).flat();
    assert.equal((await contents()).length, 3, 'one content file per folder and id');
    const b = open(); // another process's view of the same files
    assert.equal(b.get('/y/.DS_Store')?.size, 4);
    await b.removeWithin('/x');
    assert.equal(a.get('/x/.DS_Store'), undefined, 'the other store sees the change');
    assert.equal((await contents()).length, 2, '/x\'s is gone, /y\'s stays');
    await a.removeWithin('/y');
    await a.change(['/'], (r) => r.set('/w.swp', r.get('/z.swp')!).delete('/z.swp'));
    await a.put('/x/sub/._s', Readable.from([Buffer.from('s')]), async () => undefined);
    await a.copyWithin('/x', '/v', true);
    assert.equal(b.get('/v/sub/._s')?.size, 1, 'a folder\'s junk moves with it');
    await b.removeWithin('/v');
    assert.equal(a.hasWithin('/v'), false);
    assert.deepEqual(await contents(), [a.get('/w.swp')!.id]);
    assert.equal(warnings.length, 0);
    await a.close();
    await b.close();
  });

  it('a corrupt or truncated index is taken as empty (and said), never trusted; the next write starts afresh', async () => {
    const s = open();
    await s.put('/a.swp', Readable.from([Buffer.from('bytes')]), async () => undefined);
    const file = join(dir, 'junk', 'index', `${folderHash('/')}.json`);
    const good = await readFile(file, 'utf8');
    const bad = [
      good.slice(0, good.length - 3), '', 'null', '[]', good.replace('"format":2', '"format":1'), good.replace(/"size":5/, '"size":-1'),
      good.replace(/"id":"[0-9a-f]+"/, '"id":"../../etc/passwd"'), good.replace('"/a.swp"', '"a.swp"'),
      good.replace(/"modified":\d+/, '"modified":1e300'), good.replace(/"created":\d+/, '"created":1.5'), good.replace(/"modified":\d+/, '"modified":8640000000000001'),
      good.replace('"size":5', '"size":5,"extra":1'), good.replace('"format":2', '"format":2,"more":1'),
      good.replace('"/a.swp"', '"//a.swp"'), good.replace('"/a.swp"', '"/./a.swp"'), good.replace('"/a.swp"', '"/d/../a.swp"'), good.replace('"/a.swp"', '"/d/a.swp"'),
      good.replace('"folder":"/"', '"folder":"/d"'),
    ];
    for (const text of bad) {
      assert.notEqual(text, good);
      await writeFile(`${file}.x.tmp`, text);
      const { rename } = await import('node:fs/promises');
      await rename(`${file}.x.tmp`, file);
      assert.equal(s.get('/a.swp'), undefined, JSON.stringify(text).slice(0, 60));
    }
    assert.ok(warnings.length >= bad.length);
    await s.put('/b.swp', Readable.from([Buffer.from('new')]), async () => undefined);
    const again = open();
    assert.equal(again.get('/b.swp')?.size, 3);
    await again.close();
    await s.close();
  });

  it('parseFolder and parseFolders never throw, and every date read is a date (property)', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ format: 2, folder: '/', files: { '/x': v } }))), (text) => {
      const r = parseFolder(text, '/');
      assert.ok(r === null || r instanceof Map);
      for (const rec of r?.values() ?? []) assert.ok(!Number.isNaN(new Date(rec.modified).getTime()) && !Number.isNaN(new Date(rec.created).getTime()));
      const f = parseFolders(text);
      assert.ok(f === null || f instanceof Set);
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
    await Promise.all([a.change(['/'], (r) => r.delete('/a0.swp')), b.change(['/'], (r) => r.delete('/b1.swp'))]);
    const c = open();
    const paths = c.membersOf('/').map(([p]) => p);
    assert.equal(paths.length, 38);
    assert.ok(!paths.includes('/a0.swp') && !paths.includes('/b1.swp'));
    assert.deepEqual((await readdir(join(dir, 'junk', 'content', folderHash('/')))).length, 3, 'three distinct contents, each once');
    for (const s of [a, b, c]) await s.close();
  });

  it('a check that throws leaves nothing behind', async () => {
    const s = open();
    await assert.rejects(s.put('/a.swp', Readable.from([Buffer.from('x')]), async () => {
      throw new Error('guard');
    }), /guard/);
    assert.equal(s.get('/a.swp'), undefined);
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
    await s.close();
  });
  it('a change rewrites one folder\'s index file: another folder\'s file, and what readers parsed of it, stay as they are', async () => {
    const a = open();
    const b = open();
    await a.put('/big/._1', Readable.from([Buffer.from('1')]), async () => undefined);
    await a.put('/big/._2', Readable.from([Buffer.from('2')]), async () => undefined);
    const bigFile = join(dir, 'junk', 'index', `${folderHash('/big')}.json`);
    const { stat } = await import('node:fs/promises');
    const inode = (await stat(bigFile)).ino;
    const seen = b.version('/big');
    assert.equal(b.get('/big/._2')?.size, 1);
    await a.put('/small/._x', Readable.from([Buffer.from('x')]), async () => undefined);
    await a.change(['/small'], (r) => r.delete('/small/._x'));
    assert.equal((await stat(bigFile)).ino, inode, 'not rewritten');
    assert.equal(b.version('/big'), seen, 'not read again by the other store');
    assert.notEqual(b.version('/small'), b.version('/big'));
    await a.put('/big/._3', Readable.from([Buffer.from('3')]), async () => undefined);
    assert.notEqual(b.version('/big'), seen, 'its own change is seen');
    assert.equal(b.membersOf('/big').length, 3);
    assert.equal(b.hasWithin('/big') && b.hasWithin('/') && !b.hasWithin('/small'), true);
    await a.close();
    await b.close();
  });

  it('orphaned content (a crash between placing it and saving the index, a folder file gone) is swept when a store opens', async () => {
    const a = open();
    await a.put('/d/._x', Readable.from([Buffer.from('kept')]), async () => undefined);
    await a.close();
    const orphan = join(dir, 'junk', 'content', folderHash('/d'), 'f'.repeat(64));
    const lostFolder = join(dir, 'junk', 'content', folderHash('/gone'));
    const { mkdir, access } = await import('node:fs/promises');
    await writeFile(orphan, 'orphan');
    await mkdir(lostFolder);
    await writeFile(join(lostFolder, 'e'.repeat(64)), 'orphan');
    const b = open();
    await b.close(); // waits for the sweep
    await assert.rejects(access(orphan));
    await assert.rejects(access(lostFolder));
    const c = open();
    assert.equal(c.get('/d/._x')?.size, 4, 'named content stays');
    await c.close();
  });

  it('an index file removed by hand is empty from then on, never written back from memory', async () => {
    const a = open();
    await a.put('/._old', Readable.from([Buffer.from('old')]), async () => undefined);
    assert.ok(a.get('/._old'));
    await rm(join(dir, 'junk', 'index', `${folderHash('/')}.json`));
    await a.put('/._new', Readable.from([Buffer.from('new')]), async () => undefined);
    assert.equal(a.get('/._old'), undefined);
    const b = open();
    assert.deepEqual(b.membersOf('/').map(([p]) => p), ['/._new']);
    await a.close();
    await b.close();
  });
});

/** cadaver (Debian), the command-line WebDAV client, driven through its command prompt. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBackend, storageOf } from '../helpers/backends.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { requireTool, tool } from '../helpers/tools.js';

forEachBackend((kind) => describe(`real client: cadaver (${kind})`, function () {
  this.timeout(60_000);
  let s: TestServer;
  let dir: string;
  before(async function () {
    requireTool(this, '/usr/bin/cadaver', 'cadaver');
    s = await startTestServer({ backend: kind });
    dir = await mkdtemp(join(tmpdir(), 'gitdav-cadaver-'));
    await writeFile(join(dir, 'in.txt'), 'cadaver was here\n');
  });
  after(async () => {
    await s?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('mkcol, put, lock/discover/unlock, propset/propget, move, get', async () => {
    const script = [
      'mkcol c',
      `put ${join(dir, 'in.txt')} c/x.txt`,
      'lock c/x.txt',
      'discover c/x.txt',
      'unlock c/x.txt',
      'propset c/x.txt colour green',
      'propget c/x.txt colour',
      'move c/x.txt c/y.txt',
      `get c/y.txt ${join(dir, 'out.txt')}`,
      'quit',
      '',
    ].join('\n');
    const r = await tool('/usr/bin/cadaver', [s.url + '/'], { input: script });
    assert.doesNotMatch(r.stdout, /failed/i, r.stdout);
    assert.match(r.stdout, /Lock token <opaquelocktoken:/);
    assert.match(r.stdout, /Value of colour is: green/);
    assert.equal(await readFile(join(dir, 'out.txt'), 'utf8'), 'cadaver was here\n');
    assert.equal(await storageOf(kind, s.root).text('/c/y.txt'), 'cadaver was here\n');
  });
}));

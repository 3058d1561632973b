/**
 * The folder backend's state folder (sync-token.key, server.pid, locks, temp uploads) is hidden from
 * clients and never written by them wherever it lies inside the root, not only under its default name
 * `.gitdav` (review, lower finding): a readable sync-token.key would let a client forge sync tokens.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FsBackend } from '../backends/fs/index.js';
import { BackendError } from '../backends/errors.js';

describe('a custom state folder inside the root (folder backend)', () => {
  let root: string;
  let b: FsBackend;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gitdav-state-'));
    b = await FsBackend.open({ root, stateDir: join(root, 'meta', 'state') });
    await b.syncToken('/'); // makes sync-token.key
  });
  afterEach(async () => {
    await b.close();
    await rm(root, { recursive: true, force: true });
  });
  const forbidden = (e: unknown) => e instanceof BackendError && e.code === 'Forbidden';
  const notFound = (e: unknown) => e instanceof BackendError && e.code === 'NotFound';

  it('is not listed, stat’ed, read or written, by its own path or through a link', async () => {
    const names = await readdir(join(root, 'meta', 'state'));
    assert.ok(names.includes('sync-token.key') && names.includes('server.pid'), names.join(', '));
    for (const p of ['/meta/state', '/meta/state/sync-token.key', '/meta/state/server.pid']) assert.equal(await b.stat(p), null, p);
    await assert.rejects(b.read('/meta/state/sync-token.key'), notFound);
    const listed = [];
    for await (const e of b.list('/meta')) listed.push(e.path);
    assert.deepEqual(listed, []);
    await assert.rejects(b.write('/meta/state/sync-token.key', Readable.from(['forged'])), forbidden);
    await assert.rejects(b.write('/meta/state/new', Readable.from(['x'])), forbidden);
    await assert.rejects(b.remove('/meta/state/server.pid'), forbidden);
    await assert.rejects(b.remove('/meta/state'), forbidden);
    await assert.rejects(b.mkcol('/meta/state/x'), forbidden);
    await assert.rejects(b.move('/meta/state', '/stolen', { overwrite: true }), forbidden);
    await b.write('/f.txt', Readable.from(['f']));
    await assert.rejects(b.copy('/f.txt', '/meta/state/sync-token.key', { overwrite: true, depth: 'infinity' }), forbidden);
    await assert.rejects(b.patchProps('/meta/state', []), forbidden);
    // A link inside its folder (followed for reading) that leads into the state folder.
    await symlink('state', join(root, 'meta', 'st'));
    assert.equal(await b.stat('/meta/st/sync-token.key'), null);
    await assert.rejects(b.read('/meta/st/sync-token.key'), notFound);
    const viaLink = [];
    for await (const e of b.list('/meta')) viaLink.push(e.path);
    assert.deepEqual(viaLink, [], 'the link is not listed either');
    // Nor is a folder holding it deleted, moved or copied (its key would leave the hidden path).
    await assert.rejects(b.remove('/meta'), forbidden);
    await assert.rejects(b.move('/meta', '/meta2', { overwrite: true }), forbidden);
    await assert.rejects(b.copy('/meta', '/meta2', { overwrite: true, depth: 'infinity' }), forbidden);
    assert.equal(await b.stat('/meta2'), null);
    // The server's files are untouched.
    assert.ok((await readdir(join(root, 'meta', 'state'))).includes('sync-token.key'));
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile, mkdir, readdir, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FsBackend } from '../backends/fs/index.js';
import { BackendError } from '../backends/errors.js';
import { runBackendContract } from './contract/backend-contract.js';
import { holderName, parent } from '../backends/util/process-identity.js';
import { tempFilesIn } from './helpers/backends.js';

runBackendContract({
  name: 'fs',
  async create() {
    const root = await mkdtemp(join(tmpdir(), 'gitdav-fs-'));
    return { backend: await FsBackend.open({ root }), cleanup: () => rm(root, { recursive: true, force: true }) };
  },
});

describe('fs backend specifics', () => {
  let root: string;
  let outside: string;
  let b: FsBackend;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'gitdav-fs-'));
    outside = await mkdtemp(join(tmpdir(), 'gitdav-outside-'));
    await writeFile(join(outside, 'secret'), 'secret');
    b = await FsBackend.open({ root });
  });
  afterEach(async () => {
    await b.close();
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('never follows a symlink out of the root (read, list, write through it)', async () => {
    await symlink(outside, join(root, 'escape'));
    await symlink(join(outside, 'secret'), join(root, 'secret-link'));
    await mkdir(join(root, 'in'));
    await symlink(join(root, 'in'), join(root, 'inside-link'));
    const forbidden = (e: unknown) => e instanceof BackendError && e.code === 'Forbidden';
    await assert.rejects(b.stat('/escape'), forbidden);
    await assert.rejects(b.stat('/escape/secret'), forbidden);
    await assert.rejects(b.stat('/secret-link'), forbidden);
    const listed: string[] = [];
    for await (const e of b.list('/')) listed.push(e.path);
    assert.deepEqual(listed.sort(), ['/in', '/inside-link'], 'links inside the root are fine, links out are hidden');
    await assert.rejects(b.write('/escape/new', Readable.from(['x'])), (e: unknown) => e instanceof BackendError);
    assert.deepEqual(await readdir(outside), ['secret']);
  });

  it('refuses the reserved names as write targets and hides them', async () => {
    await assert.rejects(b.write('/.davprops', Readable.from(['{}'])), (e: unknown) => e instanceof BackendError && e.code === 'Forbidden');
    await assert.rejects(b.mkcol('/.gitdav'), (e: unknown) => e instanceof BackendError && e.code === 'Forbidden');
    assert.equal(await b.stat('/.gitdav'), null);
  });

  it('serialises concurrent writes of one file: each read sees one whole version', async () => {
    const versions = Array.from({ length: 20 }, (_, i) => String(i).repeat(10_000));
    await Promise.all(versions.map((v) => b.write('/same', Readable.from([v]))));
    const chunks: Buffer[] = [];
    for await (const c of await b.read('/same')) chunks.push(c as Buffer);
    assert.ok(versions.includes(Buffer.concat(chunks).toString()));
  });

  it('leaves no temp files after failed writes, and clears leftovers of processes that cannot still run at open', async () => {
    const tmp = join(root, '.gitdav', 'tmp');
    const dead = join(tmp, 'p999999-1-deadbeef-1'); // another boot: cannot still run
    const live = join(tmp, holderName(parent())); // our parent, running now: a sibling worker's uploads
    const oldFlat = join(tmp, 'old-flat'); // an older gitdav's flat temp file, an hour old
    for (const d of [dead, live]) await mkdir(d, { recursive: true });
    await writeFile(join(dead, 'leftover'), 'x');
    await writeFile(join(live, 'in-flight'), 'x');
    await writeFile(oldFlat, 'x');
    await utimes(oldFlat, new Date(Date.now() - 7200_000), new Date(Date.now() - 7200_000));
    await writeFile(join(tmp, 'new-flat'), 'x'); // may be an older worker's upload still in flight
    await b.close(); // the first backend of a process on a folder clears its own folder too
    const again = await FsBackend.open({ root });
    assert.deepEqual((await tempFilesIn(tmp)).sort(), [`${holderName(parent())}/in-flight`, 'new-flat'].sort());
    await rm(join(tmp, 'new-flat'));
    await rm(live, { recursive: true });
    await assert.rejects(again.write('/f', new Readable({ read() { this.destroy(new Error('cut')); } })));
    await again.close();
    assert.deepEqual(await tempFilesIn(tmp), []);
  });
});

/**
 * The folder backend's parsed-sidecar cache (backends/fs/props-store.ts): a `.davprops` edited by
 * hand in place — same inode, same size, its mtime put back — is read again, not served from the
 * cache (the listing version hashes ctime, so properties must follow it).
 */
import assert from 'node:assert/strict';
import { promises as fsp, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PropsStore, SIDECAR } from '../../backends/fs/props-store.js';
import { serializeSidecar } from '../../backends/sidecar.js';

describe('fs props store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(join(tmpdir(), 'gitdav-propsstore-'));
  });
  afterEach(() => fsp.rm(dir, { recursive: true, force: true }));

  it('a sidecar rewritten in place with the same size and its mtime set back is read again', async () => {
    const file = join(dir, SIDECAR);
    const before = serializeSidecar({ 'a.txt': { '{urn:x}p': '<p xmlns="urn:x">1</p>' } });
    const after = serializeSidecar({ 'a.txt': { '{urn:x}p': '<p xmlns="urn:x">2</p>' } });
    assert.equal(after.length, before.length);
    // Whole seconds, so utimes sets the very same mtime again (a double of seconds can't carry ns).
    const when = 1_700_000_000;
    writeFileSync(file, before);
    utimesSync(file, when, when);
    const store = new PropsStore(() => join(dir, `tmp-${Math.random()}`));
    assert.deepEqual(await store.read(dir), JSON.parse(before));
    const old = statSync(file, { bigint: true });

    writeFileSync(file, after); // in place: the same inode, truncated and written
    utimesSync(file, when, when);
    // ctime is the kernel's clock, coarse on some file systems: set the times again until it moved
    // (a bounded count of tries, each a millisecond apart; no time is asserted).
    for (let i = 0; i < 1000 && statSync(file, { bigint: true }).ctimeNs === old.ctimeNs; i++) {
      await new Promise((r) => setTimeout(r, 1));
      utimesSync(file, when, when);
    }
    const now = statSync(file, { bigint: true });
    assert.deepEqual([now.ino, now.size, now.mtimeNs], [old.ino, old.size, old.mtimeNs], 'the edit kept inode, size and mtime');
    assert.notEqual(now.ctimeNs, old.ctimeNs, 'the edit moved ctime');

    assert.deepEqual(await store.read(dir), JSON.parse(after));
  });
});

/**
 * COPY/MOVE between two backends (backends/mount/cross-copy.ts), on both kinds: nothing is lost when a step
 * fails or when the source changes while it is moved; an overwritten destination is replaced in one
 * step, its old dead properties with it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Backend } from '../../backends/backend.js';
import { BackendError } from '../../backends/errors.js';
import { FsBackend } from '../../backends/fs/index.js';
import { openGitRepository } from '../../backends/git/repository.js';
import { copyAcross, moveAcross } from '../../backends/mount/cross-copy.js';

const put = (b: Backend, path: string, text: string) => b.write(path, Readable.from([Buffer.from(text)]), { length: Buffer.byteLength(text) });
const text = async (b: Backend, path: string) => {
  const chunks: Buffer[] = [];
  for await (const c of await b.read(path)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
};
const names = async (b: Backend, path: string) => {
  const out: string[] = [];
  for await (const e of b.list(path)) if (e.path !== '/.history') out.push(e.path); // git's history view
  return out.sort();
};

for (const kind of ['fs', 'git'] as const) {
  describe(`COPY/MOVE across two backends (${kind})`, () => {
    let dirs: string[];
    let a: Backend;
    let b: Backend;
    const open = async () => {
      const root = await mkdtemp(join(tmpdir(), 'gitdav-cross-'));
      dirs.push(root);
      return kind === 'fs' ? FsBackend.open({ root }) : openGitRepository({ root, burstWindowMs: 0 });
    };
    beforeEach(async () => {
      dirs = [];
      a = await open();
      b = await open();
      await a.mkcol('/src');
      await put(a, '/src/one.txt', 'one');
      await a.mkcol('/src/sub');
      await put(a, '/src/sub/two.txt', 'two');
      await b.mkcol('/dest');
      await put(b, '/dest/precious.txt', 'precious');
      await b.patchProps('/dest', [{ op: 'set', name: '{urn:x}old', value: '<x:old xmlns:x="urn:x">stale</x:old>' }]);
    });
    afterEach(async () => {
      for (const x of [a, b]) await x.close?.();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    });

    it('an overwriting copy replaces the destination in one step: old members and properties go, nothing temporary stays', async () => {
      const r = await copyAcross(a, '/src', b, '/dest', { depth: 'infinity', overwrite: true });
      assert.equal(r.created, false);
      assert.deepEqual(await names(b, '/dest'), ['/dest/one.txt', '/dest/sub']);
      assert.equal(await text(b, '/dest/sub/two.txt'), 'two');
      assert.equal((await b.props('/dest')).size, 0, 'the destination’s old dead properties are gone');
      assert.deepEqual(await names(b, '/'), ['/dest'], 'no temporary copy left at the root');
    });

    it('a guard that fails at the last step leaves the destination as it was', async () => {
      const guard = () => {
        throw new BackendError('Forbidden', '/dest', 'the If header no longer holds');
      };
      await assert.rejects(copyAcross(a, '/src', b, '/dest', { depth: 'infinity', overwrite: true, guard }), /If header/);
      assert.equal(await text(b, '/dest/precious.txt'), 'precious');
      assert.deepEqual(await names(b, '/'), ['/dest']);
    });

    it('a source that fails half-way leaves the destination as it was', async () => {
      const failing: Backend = Object.create(a, {
        read: { value: async (path: string) => (path.endsWith('two.txt') ? Promise.reject(new Error('disk error')) : a.read(path)) },
      });
      await assert.rejects(copyAcross(failing, '/src', b, '/dest', { depth: 'infinity', overwrite: true }), /disk error/);
      assert.equal(await text(b, '/dest/precious.txt'), 'precious');
      assert.deepEqual(await names(b, '/'), ['/dest']);
    });

    it('a move whose source changed meanwhile keeps the source (and the copy): nothing lost', async () => {
      // Someone adds a file to the source between the copy and the removal.
      const busy: Backend = Object.create(a, {
        remove: {
          value: async (path: string, options: Parameters<Backend['remove']>[1]) => {
            await put(a, '/src/sub/late.txt', 'late');
            return a.remove(path, options);
          },
        },
      });
      await assert.rejects(moveAcross(busy, '/src', b, '/moved', { depth: 'infinity', overwrite: false }, {}), (err: unknown) => err instanceof BackendError && err.code === 'Conflict');
      assert.equal(await text(a, '/src/sub/late.txt'), 'late', 'the late file is still in the source');
      assert.equal(await text(a, '/src/one.txt'), 'one');
      assert.equal(await text(b, '/moved/sub/two.txt'), 'two', 'and the copy is complete');
    });

    it('a move of an unchanged source removes it', async () => {
      await moveAcross(a, '/src', b, '/moved', { depth: 'infinity', overwrite: false }, {});
      assert.equal(await a.stat('/src'), null);
      assert.deepEqual(await names(b, '/moved'), ['/moved/one.txt', '/moved/sub']);
    });
  });
}

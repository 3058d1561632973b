/**
 * The backend contract (backends/backend.ts), written once and run against every implementation:
 * `runBackendContract({ name, create })` from each backend's test file.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { Backend } from '../../backends/backend.js';
import { BackendError } from '../../backends/errors.js';

export interface ContractOptions {
  name: string;
  create(): Promise<{ backend: Backend; cleanup(): Promise<void> }>;
}

const body = (s: string | Buffer) => Readable.from([Buffer.from(s)]);

async function text(b: Backend, path: string, range?: { start: number; end: number }): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await b.read(path, range)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

/** Listed paths, without the git backend's read-only history space (not content). */
async function names(b: Backend, path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of b.list(path)) if (e.path !== '/.history') out.push(e.path);
  return out.sort();
}

async function rejectsWith(p: Promise<unknown>, code: BackendError['code']): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof BackendError && err.code === code);
}

export function runBackendContract({ name, create }: ContractOptions): void {
  describe(`backend contract: ${name}`, () => {
    let b: Backend;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ backend: b, cleanup } = await create()));
    afterEach(async () => cleanup());

    it('writes, stats and reads a file; ETags are strong, quoted, and change with the content', async () => {
      const first = await b.write('/a.txt', body('hello'));
      assert.equal(first.created, true);
      assert.equal(first.entry.kind, 'file');
      assert.equal(first.entry.size, 5);
      assert.match(first.entry.etag, /^"[^"]+"$/);
      assert.equal(await text(b, '/a.txt'), 'hello');
      const second = await b.write('/a.txt', body('hello, world'));
      assert.equal(second.created, false);
      assert.notEqual(second.entry.etag, first.entry.etag);
      assert.equal((await b.stat('/a.txt'))!.etag, second.entry.etag);
    });

    it('reads byte ranges', async () => {
      await b.write('/r.bin', body('0123456789'));
      assert.equal(await text(b, '/r.bin', { start: 2, end: 5 }), '2345');
    });

    it('stats the root as a collection and missing paths as null', async () => {
      assert.equal((await b.stat('/'))!.kind, 'collection');
      assert.equal(await b.stat('/nope'), null);
      await rejectsWith(b.read('/nope'), 'NotFound');
    });

    it('refuses a write whose parent is missing, and changes nothing', async () => {
      await rejectsWith(b.write('/no/such/file', body('x')), 'ParentMissing');
      assert.equal(await b.stat('/no'), null);
    });

    it('keeps the old content when the body fails midway', async () => {
      await b.write('/keep.txt', body('original'));
      const failing = new Readable({
        read() {
          this.push(Buffer.from('partial'));
          this.destroy(new Error('client went away'));
        },
      });
      await assert.rejects(b.write('/keep.txt', failing));
      assert.equal(await text(b, '/keep.txt'), 'original');
      assert.deepEqual(await names(b, '/'), ['/keep.txt']);
    });

    it('aborts a write when the guard throws, and runs the guard against the current state', async () => {
      const v1 = await b.write('/g.txt', body('v1'));
      let seen: string | undefined;
      await assert.rejects(
        b.write('/g.txt', body('v2'), {
          guard: async (view) => {
            seen = (await view.stat('/g.txt'))?.etag;
            throw new Error('precondition failed');
          },
        }),
        /precondition failed/,
      );
      assert.equal(seen, v1.entry.etag);
      assert.equal(await text(b, '/g.txt'), 'v1');
    });

    it('lists one level, hiding bookkeeping files', async () => {
      await b.mkcol('/d');
      await b.write('/d/x', body('x'));
      await b.mkcol('/d/sub');
      await b.write('/d/sub/y', body('y'));
      await b.patchProps('/d', [{ op: 'set', name: '{urn:t}p', value: '<p xmlns="urn:t">1</p>' }]);
      await b.patchProps('/d/x', [{ op: 'set', name: '{urn:t}p', value: '<p xmlns="urn:t">2</p>' }]);
      assert.deepEqual(await names(b, '/d'), ['/d/sub', '/d/x']);
      assert.deepEqual(await names(b, '/'), ['/d']);
      await rejectsWith(names(b, '/missing'), 'NotFound');
    });

    it('creates collections: AlreadyExists and ParentMissing', async () => {
      const e = await b.mkcol('/c');
      assert.equal(e.kind, 'collection');
      await rejectsWith(b.mkcol('/c'), 'AlreadyExists');
      await rejectsWith(b.mkcol('/x/y'), 'ParentMissing');
    });

    it('removes files and whole trees, with their properties', async () => {
      await b.mkcol('/t');
      await b.write('/t/f', body('f'));
      await b.patchProps('/t/f', [{ op: 'set', name: '{urn:t}p', value: '<p xmlns="urn:t">f</p>' }]);
      await b.remove('/t/f');
      assert.equal(await b.stat('/t/f'), null);
      await b.write('/t/f', body('again'));
      assert.equal((await b.props('/t/f')).size, 0, 'a new file does not inherit a deleted one’s properties');
      await b.mkcol('/t/s');
      await b.write('/t/s/g', body('g'));
      await b.remove('/t');
      assert.equal(await b.stat('/t'), null);
      await rejectsWith(b.remove('/t'), 'NotFound');
    });

    it('stores dead properties atomically and exactly', async () => {
      await b.write('/p.txt', body('p'));
      const value = '<x:v xmlns:x="urn:t" xml:lang="fr">caf\u00e9 <x:b>&amp;</x:b></x:v>';
      await b.patchProps('/p.txt', [
        { op: 'set', name: '{urn:t}v', value },
        { op: 'set', name: '{urn:t}w', value: '<w xmlns="urn:t"/>' },
        { op: 'remove', name: '{urn:t}w' },
      ]);
      const props = await b.props('/p.txt');
      assert.equal(props.get('{urn:t}v'), value);
      assert.equal(props.has('{urn:t}w'), false);
      await assert.rejects(
        b.patchProps('/p.txt', [{ op: 'set', name: '{urn:t}z', value: '<z xmlns="urn:t"/>' }], {
          guard: () => {
            throw new Error('no');
          },
        }),
      );
      assert.equal((await b.props('/p.txt')).has('{urn:t}z'), false);
    });

    it('copies files and trees with their properties; depth 0 copies only the collection', async () => {
      await b.mkcol('/src');
      await b.write('/src/a', body('a'));
      await b.patchProps('/src', [{ op: 'set', name: '{urn:t}c', value: '<c xmlns="urn:t">coll</c>' }]);
      await b.patchProps('/src/a', [{ op: 'set', name: '{urn:t}f', value: '<f xmlns="urn:t">file</f>' }]);
      const r = await b.copy('/src', '/dst', { depth: 'infinity', overwrite: false });
      assert.equal(r.created, true);
      assert.equal(await text(b, '/dst/a'), 'a');
      assert.equal((await b.props('/dst')).get('{urn:t}c'), '<c xmlns="urn:t">coll</c>');
      assert.equal((await b.props('/dst/a')).get('{urn:t}f'), '<f xmlns="urn:t">file</f>');
      assert.equal(await text(b, '/src/a'), 'a', 'the source stays');
      await b.copy('/src', '/shallow', { depth: 0, overwrite: false });
      assert.deepEqual(await names(b, '/shallow'), []);
      assert.equal((await b.props('/shallow')).get('{urn:t}c'), '<c xmlns="urn:t">coll</c>');
      await rejectsWith(b.copy('/src/a', '/dst/a', { depth: 'infinity', overwrite: false }), 'AlreadyExists');
      await b.write('/other', body('other'));
      const over = await b.copy('/other', '/dst/a', { depth: 'infinity', overwrite: true });
      assert.equal(over.created, false);
      assert.equal(await text(b, '/dst/a'), 'other');
      assert.equal((await b.props('/dst/a')).size, 0, 'the replaced file’s properties are gone');
    });

    it('moves files and trees with their properties', async () => {
      await b.mkcol('/m');
      await b.write('/m/a', body('a'));
      await b.patchProps('/m/a', [{ op: 'set', name: '{urn:t}f', value: '<f xmlns="urn:t">1</f>' }]);
      await b.move('/m/a', '/a2', { overwrite: false });
      assert.equal(await b.stat('/m/a'), null);
      assert.equal((await b.props('/a2')).get('{urn:t}f'), '<f xmlns="urn:t">1</f>');
      await b.write('/m/b', body('b'));
      await b.move('/m', '/n', { overwrite: false });
      assert.equal(await text(b, '/n/b'), 'b');
      await b.mkcol('/target');
      await rejectsWith(b.move('/n', '/target', { overwrite: false }), 'AlreadyExists');
      const r = await b.move('/n', '/target', { overwrite: true });
      assert.equal(r.created, false);
      assert.deepEqual(await names(b, '/target'), ['/target/b']);
    });

    it('writes at an offset (resumed uploads) and refuses gaps', async () => {
      await b.write('/big', body('01234'));
      await b.write('/big', body('56789'), { offset: 5 });
      assert.equal(await text(b, '/big'), '0123456789');
      await b.write('/big', body('AB'), { offset: 2 });
      assert.equal(await text(b, '/big'), '01AB456789');
      await rejectsWith(b.write('/big', body('x'), { offset: 11 }), 'InvalidRange');
      assert.equal(await text(b, '/big'), '01AB456789');
    });
  });
}

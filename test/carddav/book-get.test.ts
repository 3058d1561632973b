/**
 * GET of an address book while its cards change: a member deleted between the listing and its read is
 * left out of the streamed body (a whole 200 of the others, no server error), not a cut-off 200. The
 * race is made deterministic on the folder backend: reading `gone.vcf` unlinks it first, so the real
 * read then fails as it would had another program deleted it at that moment.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBackend } from '../../backends/fs/index.js';
import type { Backend } from '../../backends/backend.js';
import { createApp, listen, type RunningServer } from '../../lib/server.js';
import { parseCard } from '../../lib/carddav/vcard/index.js';
import { raw } from '../helpers/server.js';
import { BOOK, vcard } from './helpers.js';

/** The folder backend, except that reading a path ending in /gone.vcf deletes that file first. */
function deletingOnRead(fs: Backend, root: string): Backend {
  return new Proxy(fs, {
    get(target, key) {
      if (key === 'read') {
        return async (path: string, ...rest: unknown[]) => {
          if (path.endsWith('/gone.vcf')) await unlink(join(root, path)).catch(() => undefined);
          return (target.read as (...a: unknown[]) => unknown).call(target, path, ...rest);
        };
      }
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('CardDAV address book GET with a card deleted while it streams (fs backend)', function () {
  this.timeout(60_000);
  let root: string;
  let running: RunningServer;
  const errors: string[] = [];
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gitdav-test-'));
    const backend = deletingOnRead(await FsBackend.open({ root }), root);
    const logger = { debug() {}, info() {}, warn() {}, error: (msg: string) => void errors.push(msg) };
    running = await listen(await createApp({ backend, caldav: {}, logger }), '127.0.0.1', 0);
    // Written behind the server's back: nothing of them is cached, so each is read during the GET.
    for (const name of ['a', 'gone', 'z']) await writeFile(join(root, BOOK, `${name}.vcf`), vcard(name, name.toUpperCase()));
  });
  after(async () => {
    await running.close(1000);
    await rm(root, { recursive: true, force: true });
  });

  it('the others, whole; the gone one left out; no server error', async () => {
    const r = await raw(running.url, BOOK);
    assert.equal(r.status, 200);
    const pieces = r.text.split(/^(?=BEGIN:VCARD)/m);
    assert.deepEqual(pieces.map((p) => parseCard(Buffer.from(p, 'utf8'), { maxResourceSize: 1 << 20 }).uid).sort(), ['a', 'z']);
    assert.deepEqual(errors, []);
    assert.equal((await raw(running.url, `${BOOK}gone.vcf`)).status, 404, 'it is really gone');
  });
});

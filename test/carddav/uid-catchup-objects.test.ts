/**
 * On git, the UID index's catch-up on every PUT into an address book stores nothing: within an open
 * burst a sync token for the book is a delta blob listing every member changed since the last commit,
 * and asking changes() for one on each PUT wrote O(burst) bytes per PUT (a 50–60 KB blob per PUT
 * after 1,000 cards). The index now keeps an in-memory state instead (changesSinceState). Still
 * exact: a UID stored earlier in the burst is refused at another path; one removed is free again.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { raw, startTestServer, type TestServer } from '../helpers/server.js';
import { assertPrecondition, BOOK, put, vcard } from './helpers.js';

const LONG = 600_000;

/** The loose objects of the bare repository at `root`, by id. */
async function looseObjects(root: string): Promise<Set<string>> {
  const ids = new Set<string>();
  const dir = join(root, 'objects');
  for (const fan of await readdir(dir)) {
    if (!/^[0-9a-f]{2}$/.test(fan)) continue;
    for (const rest of await readdir(join(dir, fan))) ids.add(fan + rest);
  }
  return ids;
}

describe('CardDAV UID catch-up on git stores no sync delta per PUT', function () {
  this.timeout(60_000);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ backend: 'git', caldav: true, git: { burstWindowMs: LONG, burstMaxAgeMs: LONG } });
  });
  after(() => s.close());

  it('N PUTs into one book in an open burst add no delta blob, and the index still refuses a stored UID', async () => {
    assert.equal((await put(s, `${BOOK}first.vcf`, vcard('first', 'First'))).status, 201);
    const before = await looseObjects(s.root);
    const n = 30;
    for (let i = 0; i < n; i++) assert.equal((await put(s, `${BOOK}c${i}.vcf`, vcard(`c${i}`, `Card ${i}`))).status, 201);
    const added = [...(await looseObjects(s.root))].filter((id) => !before.has(id));
    const deltas: string[] = [];
    const other: string[] = []; // neither a card nor a delta: the setup's trees and commit, a constant
    for (const id of added) {
      const body = inflateSync(await readFile(join(s.root, 'objects', id.slice(0, 2), id.slice(2)))).toString('utf8');
      if (body.includes('"gitdav-sync-delta"')) deltas.push(id);
      else if (!/^blob \d+\0BEGIN:VCARD/.test(body)) other.push(id);
    }
    assert.deepEqual(deltas, [], 'no delta blob written by the PUTs');
    assert.ok(other.length <= 12, `objects besides the ${n} cards: a few, not one per PUT; got ${other.length}`);
    // The index is still exact within the burst: a UID stored in it is refused at another path...
    assertPrecondition(await put(s, `${BOOK}other.vcf`, vcard('c7', 'Again')), 409, 'no-uid-conflict');
    // ...and free again once its card is deleted.
    assert.equal((await raw(s.url, `${BOOK}c7.vcf`, { method: 'DELETE' })).status, 204);
    assert.equal((await put(s, `${BOOK}other.vcf`, vcard('c7', 'Again'))).status, 201);
  });
});

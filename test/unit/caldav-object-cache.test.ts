/**
 * lib/caldav/state/object-cache.ts: `parsedOnce` (a UID look-up) parses without keeping the parsed
 * object, so a calendar upload does not fill the cache with objects no query asked for; `parsed`
 * keeps it, and `parsedOnce` uses a kept one.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { Backend, Entry } from '../../backends/backend.js';
import { ObjectCache, objectMemory } from '../../lib/caldav/state/object-cache.js';

const entry: Entry = { path: '/cal/a.ics', kind: 'file', size: 5, etag: '"e1"', modified: new Date(0) };

function backendCounting(): { backend: Backend; reads: () => number } {
  let reads = 0;
  const backend = {
    read: async () => {
      reads++;
      return Readable.from([Buffer.from('hello')]);
    },
  } as unknown as Backend;
  return { backend, reads: () => reads };
}

describe('CalDAV object cache: parsed once for a UID, not kept', () => {
  it('parsedOnce parses every time without keeping the result; the text is kept (weight 1× its length)', async () => {
    const memory = objectMemory<{ n: number }>(1024 * 1024);
    const cache = new ObjectCache(memory, 'scope');
    const { backend, reads } = backendCounting();
    let parses = 0;
    const parse = (text: string) => ({ n: ++parses, text });
    assert.equal((await cache.parsedOnce(backend, entry, parse)).n, 1);
    assert.equal((await cache.parsedOnce(backend, entry, parse)).n, 2, 'not kept: parsed again');
    assert.equal(reads(), 1, 'the text is kept');
    assert.equal(memory.weightHeld, 'hello'.length, 'weighed as text alone');
  });

  it('parsed keeps the object, and parsedOnce then uses it', async () => {
    const memory = objectMemory<{ n: number }>(1024 * 1024);
    const cache = new ObjectCache(memory, 'scope');
    const { backend } = backendCounting();
    let parses = 0;
    const parse = () => ({ n: ++parses });
    const kept = await cache.parsed(backend, entry, parse);
    assert.equal(await cache.parsedOnce(backend, entry, parse), kept);
    assert.equal(parses, 1);
    assert.ok(memory.weightHeld > 'hello'.length, 'weighed as parsed');
  });

  it('a parse failure (null) is kept by parsedOnce and by parsed: a broken object is parsed once per ETag', async () => {
    for (const first of ['parsedOnce', 'parsed'] as const) {
      const memory = objectMemory<{ n: number } | null>(1024 * 1024);
      const cache = new ObjectCache(memory, 'scope');
      const { backend } = backendCounting();
      let parses = 0;
      const parse = () => (parses++, null);
      assert.equal(await cache[first](backend, entry, parse), null);
      assert.equal(await cache.parsedOnce(backend, entry, parse), null);
      assert.equal(await cache.parsed(backend, entry, parse), null);
      assert.equal(parses, 1, `parsed once (first by ${first})`);
      assert.equal(memory.weightHeld, 'hello'.length, 'a failure weighs nothing beyond its text');
    }
  });
});

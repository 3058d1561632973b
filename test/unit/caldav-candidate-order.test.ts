/** calendar-query's candidates come in UTF-8 byte order of their paths (git tree order), ASCII or not. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Entry } from '../../backends/backend.js';
import { sortedByName } from '../../lib/caldav/query-candidates.js';

const entry = (path: string): Entry => ({ path, kind: 'file', size: 0, etag: '"x"', modified: new Date(0) });
const byBytes = (paths: string[]) => paths.slice().sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

describe('calendar-query candidates: sortedByName', () => {
  // ASCII, Latin-1, U+E000 and up, and astral characters (surrogate pairs), where UTF-16 and UTF-8 orders differ.
  const ch = fc.constantFrom('a', 'b', 'Z', '0', '-', '.', 'é', 'ÿ', '\uE000', '\uFFFD', '😀', '𝄞', '中');
  const path = fc.array(ch, { minLength: 1, maxLength: 6 }).map((cs) => '/cal/' + cs.join(''));

  it('orders paths as their UTF-8 bytes, ASCII-only or not', () => {
    fc.assert(
      fc.property(fc.uniqueArray(path, { maxLength: 30 }), (paths) => {
        assert.deepEqual(sortedByName(paths.map(entry)).map((e) => e.path), byBytes(paths));
      }),
      { numRuns: 2000 },
    );
  });

  it('an astral character sorts after U+FFFD, as in UTF-8', () => {
    assert.deepEqual(sortedByName(['/c/😀', '/c/\uFFFD', '/c/a'].map(entry)).map((e) => e.path), ['/c/a', '/c/\uFFFD', '/c/😀']);
  });
});

/**
 * backends/git/object-format.ts findTreeEntry: a member of a big parsed tree found by binary search
 * in git's order (a folder sorts as its name + '/'), a miss confirmed by a scan; and the mode
 * strings parseTree shares.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareTreeEntries, findTreeEntry, parseTree, serialiseTree, type TreeEntry } from '../../backends/git/object-format.js';

const OID = 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391';
// Names git could hold, with the characters that sort around '/' (0x2f): '-', '.', '0', and non-ASCII.
const name = fc.stringOf(fc.constantFrom('a', 'b', '-', '.', '0', '/x'.slice(1), 'é', '\u{1F600}'), { minLength: 1, maxLength: 5 });
const members = fc.uniqueArray(fc.record({ name, dir: fc.boolean() }), { selector: (m) => m.name, maxLength: 60 });

function tree(ms: Array<{ name: string; dir: boolean }>): TreeEntry[] {
  return ms.map((m) => ({ mode: m.dir ? '40000' : '100644', name: m.name, oid: OID })).sort(compareTreeEntries);
}

describe('git tree search (findTreeEntry)', () => {
  it('property: finds every member of a tree in git order by name, and nothing for a name it lacks', () => {
    fc.assert(
      fc.property(members, name, (ms, other) => {
        const t = tree(ms);
        for (const e of t) assert.equal(findTreeEntry(t, e.name), e);
        assert.equal(findTreeEntry(t, other), t.find((e) => e.name === other));
      }),
      { numRuns: 300 },
    );
  });

  it('property: a tree out of git order (a foreign writer) still gives every member (the scan after a miss)', () => {
    fc.assert(
      fc.property(members, (ms) => {
        const t = tree(ms).reverse();
        for (const e of t) assert.equal(findTreeEntry(t, e.name), e);
      }),
    );
  });

  it('a file and a folder whose names sort around each other ("a", "a-b", "a.b", "a/" as a folder)', () => {
    const t = tree([{ name: 'a', dir: true }, { name: 'a-b', dir: false }, { name: 'a.b', dir: true }, { name: 'a0', dir: false }]);
    assert.deepEqual(t.map((e) => e.name), ['a-b', 'a.b', 'a', 'a0']);
    for (const e of t) assert.equal(findTreeEntry(t, e.name), e);
    assert.equal(findTreeEntry(t, 'a/'), undefined);
  });

  it('parseTree reads every mode (a zero-padded folder as 40000) and keeps an unknown one as written', () => {
    const entries: TreeEntry[] = [
      { mode: '100644', name: 'a', oid: OID },
      { mode: '100644', name: 'b', oid: OID },
      { mode: '100755', name: 'c', oid: OID },
      { mode: '40000', name: 'd', oid: OID },
    ];
    const raw = Buffer.concat([serialiseTree(entries), Buffer.from('040000 e\0'), Buffer.from(OID, 'hex'), Buffer.from('100664 f\0'), Buffer.from(OID, 'hex')]);
    const parsed = parseTree('t', raw);
    assert.deepEqual(parsed.map((e) => e.mode), ['100644', '100644', '100755', '40000', '40000', '100664']);
  });
});

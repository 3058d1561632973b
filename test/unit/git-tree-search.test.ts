/**
 * backends/git/object-format.ts searchTreeEntry: a member of a parsed tree found by binary search in
 * git's order alone (a folder sorts as its name + '/'), checked against a reference order written
 * here; findTreeEntry's scan after a miss (a tree out of order); and the mode strings parseTree shares.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { findTreeEntry, parseTree, searchTreeEntry, serialiseTree, type TreeEntry } from '../../backends/git/object-format.js';

const OID = 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391';
// Names git could hold, with the characters that sort around '/' (0x2f): '-', '.', '0', and non-ASCII.
const name = fc.stringOf(fc.constantFrom('a', 'b', '-', '.', '0', ' ', '~', 'é', '\u{1F600}'), { minLength: 1, maxLength: 5 });
const MODES = ['100644', '100755', '120000', '160000', '40000'];
const members = fc.uniqueArray(fc.record({ name, mode: fc.constantFrom(...MODES) }), { selector: (m) => m.name, maxLength: 80 });

/** The reference: git sorts by the bytes of the name, a tree's (mode 40000 only) with '/' appended. */
function gitKey(e: { mode: string; name: string }): Buffer {
  return Buffer.from(e.mode === '40000' ? `${e.name}/` : e.name, 'utf8');
}

function tree(ms: Array<{ name: string; mode: string }>): TreeEntry[] {
  return ms.map((m) => ({ mode: m.mode, name: m.name, oid: OID })).sort((a, b) => Buffer.compare(gitKey(a), gitKey(b)));
}

describe('git tree search (searchTreeEntry)', () => {
  it('property: the search alone finds every member of a tree in git order, and nothing for a name it lacks', () => {
    fc.assert(
      fc.property(members, name, (ms, other) => {
        const t = tree(ms);
        for (const e of t) assert.equal(searchTreeEntry(t, e.name), e, e.name);
        if (!ms.some((m) => m.name === other)) assert.equal(searchTreeEntry(t, other), undefined);
      }),
      { numRuns: 500 },
    );
  });

  it('a file and a folder whose names sort around each other ("a", "a-b", "a.b", "a/" as a folder)', () => {
    const t = tree([{ name: 'a', mode: '40000' }, { name: 'a-b', mode: '100644' }, { name: 'a.b', mode: '40000' }, { name: 'a0', mode: '120000' }]);
    assert.deepEqual(t.map((e) => e.name), ['a-b', 'a.b', 'a', 'a0']);
    for (const e of t) assert.equal(searchTreeEntry(t, e.name), e);
    assert.equal(searchTreeEntry(t, 'a/'), undefined);
  });

  it('property: findTreeEntry scans only after a miss: a tree out of git order still gives every member', () => {
    fc.assert(
      fc.property(members, (ms) => {
        const ordered = tree(ms);
        const noScan = Object.assign([...ordered], { find: () => assert.fail('scanned although the search found it') });
        for (const e of ordered) assert.equal(findTreeEntry(noScan, e.name), e);
        const reversed = [...ordered].reverse();
        for (const e of reversed) assert.equal(findTreeEntry(reversed, e.name), e);
      }),
    );
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

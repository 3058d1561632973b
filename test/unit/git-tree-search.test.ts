/**
 * backends/git/object-format.ts searchTreeEntry: a member of a parsed tree found by binary search in
 * git's order alone (a folder sorts as its name + '/'), checked against a reference order written
 * here; which trees parseTree and markIfGitOrdered record as in git's order, each name once (where a
 * search is final); and the mode strings parseTree shares.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isGitOrdered, markIfGitOrdered, parseTree, searchTreeEntry, serialiseTree, type TreeEntry } from '../../backends/git/object-format.js';

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

  it('property: a tree is recorded as in git order exactly when its names are strictly so, each once (parsed or written)', () => {
    // Any list: names may repeat (as a file and a folder, or twice), and the order may be anything.
    const anyList = fc.array(fc.record({ name, mode: fc.constantFrom(...MODES) }), { maxLength: 40 });
    const sortedOrNot = fc.oneof(anyList, anyList.map(tree));
    fc.assert(
      fc.property(sortedOrNot, (list) => {
        const t = list.map((m) => ({ mode: m.mode, name: m.name, oid: OID }));
        const keys = t.map(gitKey);
        const expected = keys.every((k, i) => i === 0 || Buffer.compare(keys[i - 1]!, k) < 0) && new Set(t.map((e) => e.name)).size === t.length;
        assert.equal(isGitOrdered(parseTree('t', serialiseTree(t))), expected, 'parsed');
        markIfGitOrdered(t);
        assert.equal(isGitOrdered(t), expected, 'written');
      }),
      { numRuns: 1000 },
    );
  });

  it('a file and a folder of one name are not in order, wherever they are (git fsck: duplicateEntries)', () => {
    const cases = [
      ['a', 'a/'],
      ['a', 'a-b', 'a.b', 'a/'],
      ['a', 'a-b', 'a.b', 'a.c/', 'a/', 'b'],
    ];
    for (const names of cases) {
      const t = names.map((n) => ({ mode: n.endsWith('/') ? '40000' : '100644', name: n.replace(/\/$/, ''), oid: OID }));
      assert.equal(isGitOrdered(parseTree('t', serialiseTree(t))), false, names.join(' '));
      const unique = t.filter((e, i) => t.findIndex((o) => o.name === e.name) === i);
      assert.equal(isGitOrdered(parseTree('t', serialiseTree(unique))), true, `${names.join(' ')} without the folder`);
    }
    // Bytes that are not UTF-8 (both read as U+FFFD), and a name holding '/': not trusted.
    const raw = (...parts: Array<[string, Buffer]>) => Buffer.concat(parts.flatMap(([mode, n]) => [Buffer.from(`${mode} `), n, Buffer.from([0]), Buffer.from(OID, 'hex')]));
    assert.equal(isGitOrdered(parseTree('t', raw(['100644', Buffer.from([0xc3])], ['100644', Buffer.from([0xc4])]))), false);
    assert.equal(isGitOrdered(parseTree('t', raw(['40000', Buffer.from('a')], ['100644', Buffer.from('a/b')]))), false);
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

/** The burst rules (backends/git/journal/burst.ts): which journal records make one commit. */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { burstUser, makesCommit, mayCloseEarlier, splitBursts, type BurstRules } from '../../backends/git/journal/burst.js';
import type { JournalRecord } from '../../backends/git/journal/record.js';

const RULES: BurstRules = { windowMs: 2_000, maxAgeMs: 30_000 };
const FILE = { kind: 'file' as const, mode: '100644', oid: 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391' };

let seq = 0;
function put(time: number, user?: string, path = '/a.txt'): JournalRecord {
  return { seq: ++seq, time, user, meta: { op: 'PUT', path }, effects: [{ path, slot: FILE }] };
}
function unlock(time: number, lockedAt: number, user?: string, path = '/a.txt'): JournalRecord {
  return { seq: ++seq, time, user, meta: { op: 'UNLOCK', path, lockedAt }, effects: [] };
}
const seqs = (bursts: JournalRecord[][]) => bursts.map((b) => b.map((r) => r.seq));

describe('git bursts: splitBursts', () => {
  it('keeps one user\'s writes with short pauses in one open burst, closed a window after the last', () => {
    const rs = [put(0, 'ann'), put(500, 'ann'), put(1_900, 'ann')];
    const open = splitBursts(rs, 2_000, RULES);
    assert.deepEqual(open.closed, []);
    assert.equal(open.open.length, 3);
    assert.equal(open.nextCloseAt, 3_900);
    const shut = splitBursts(rs, 3_900, RULES);
    assert.deepEqual(seqs(shut.closed), [rs.map((r) => r.seq)]);
    assert.equal(shut.nextCloseAt, null);
  });

  it('closes a burst at another user\'s write, and treats anonymous requests as one user', () => {
    const rs = [put(0, 'ann'), put(10, 'bob'), put(20), put(30), put(40, 'ann')];
    const s = splitBursts(rs, 50, RULES);
    assert.deepEqual(seqs(s.closed), [[rs[0]!.seq], [rs[1]!.seq], [rs[2]!.seq, rs[3]!.seq]]);
    assert.deepEqual(s.open, [rs[4]]);
    assert.equal(s.nextCloseAt, 2_040);
  });

  it('cuts a busy burst at its maximum age, and a pause in the records even when the clock is late', () => {
    const busy = Array.from({ length: 40 }, (_, i) => put(i * 1_000, 'ann'));
    const s = splitBursts(busy, 39_500, RULES);
    assert.equal(s.closed.length, 1);
    assert.equal(s.closed[0]!.length, 30);
    assert.equal(s.open.length, 10);
    assert.equal(s.nextCloseAt, 39_000 + 2_000);
    const paused = [put(0, 'ann'), put(5_000, 'ann')];
    assert.deepEqual(seqs(splitBursts(paused, 5_001, RULES).closed), [[paused[0]!.seq]]);
  });

  it('closes at the UNLOCK of a lock held over the whole burst, not at a per-file UNLOCK', () => {
    // An editor: LOCK at 0, saves at 10 s, UNLOCK on close.
    const editor = [put(10_000, 'ann'), unlock(10_100, 0, 'ann'), put(10_200, 'ann')];
    const e = splitBursts(editor, 10_300, RULES);
    assert.deepEqual(seqs(e.closed), [[editor[0]!.seq, editor[1]!.seq]]);
    assert.deepEqual(e.open, [editor[2]]);
    // davfs2 / Finder: LOCK, PUT 0 bytes, PUT, UNLOCK per file, each lock a moment before its PUT.
    const copy = [put(1_000, 'ann', '/x'), put(1_001, 'ann', '/x'), unlock(1_002, 999, 'ann', '/x'), put(1_005, 'ann', '/y'), put(1_006, 'ann', '/y'), unlock(1_007, 1_004, 'ann', '/y')];
    const c = splitBursts(copy, 1_010, RULES);
    assert.deepEqual(c.closed, []);
    assert.equal(c.open.length, 6);
  });

  it('closes at an UNLOCK only if its lock covers a path the burst wrote', () => {
    // Ann keeps /notes.txt open in an editor since 0 and copies /tree at 100 s; closing the editor
    // cuts nothing. A lock on a folder covers the files written in it.
    const rs = [put(100_000, 'ann', '/tree/a'), put(100_100, 'ann', '/tree/b'), unlock(100_500, 0, 'ann', '/notes.txt'), put(100_600, 'ann', '/tree/c')];
    const s = splitBursts(rs, 100_700, RULES);
    assert.deepEqual(s.closed, []);
    assert.equal(s.open.length, 4);
    const folder = [put(100_000, 'ann', '/tree/a'), unlock(100_500, 0, 'ann', '/tree/'), put(100_600, 'ann', '/x')];
    assert.deepEqual(seqs(splitBursts(folder, 100_700, RULES).closed), [[folder[0]!.seq, folder[1]!.seq]]);
  });

  it('compares the lock\'s time with the burst\'s first write under the lock, up to the exact window', () => {
    // The burst began at 10 s with /a; /x, locked at lockedAt, was first written at 10.5 s.
    const at = (lockedAt: number) => [put(10_000, 'ann', '/a'), put(10_500, 'ann', '/x'), unlock(10_600, lockedAt, 'ann', '/x'), put(10_700, 'ann', '/b')];
    const held = at(10_500 - RULES.windowMs); // taken exactly a window before its first write: held over it
    assert.deepEqual(seqs(splitBursts(held, 10_800, RULES).closed), [held.slice(0, 3).map((r) => r.seq)]);
    const perFile = at(10_500 - RULES.windowMs + 1); // a moment later: a lock for that write
    assert.deepEqual(splitBursts(perFile, 10_800, RULES).closed, []);
  });

  it('lets another user\'s UNLOCK neither cut nor close a burst (it writes nothing)', () => {
    const rs = [put(0, 'ann'), unlock(10, -10_000, 'bob', '/a.txt'), put(20, 'ann'), unlock(30, -10_000, undefined, '/')];
    const s = splitBursts(rs, 40, RULES);
    assert.deepEqual(s.closed, []);
    assert.equal(s.open.length, 4);
    const shut = splitBursts(rs, 40, RULES, true);
    assert.deepEqual(seqs(shut.closed), [rs.map((r) => r.seq)]);
    assert.equal(burstUser(shut.closed[0]!), 'ann');
    // A burst that starts with someone's marker is that user's (markers only: no commit).
    const lone = [unlock(0, -10_000, 'bob'), put(10, 'ann')];
    assert.deepEqual(seqs(splitBursts(lone, 20, RULES).closed), [[lone[0]!.seq]]);
  });

  it('makes a burst of markers only a closed burst that makes no commit', () => {
    const rs = [put(0, 'ann'), unlock(9_000, 0, 'ann')];
    const s = splitBursts(rs, 11_000, RULES);
    assert.deepEqual(seqs(s.closed), [[rs[0]!.seq], [rs[1]!.seq]]);
    assert.equal(makesCommit(s.closed[0]!), true);
    assert.equal(makesCommit(s.closed[1]!), false);
  });

  it('with a window of 0 closes each run of one user at once (a commit per write batch); final closes everything', () => {
    const rs = [put(0, 'ann'), put(0, 'ann'), put(1, 'ann')];
    const zero = { windowMs: 0, maxAgeMs: 30_000 };
    assert.deepEqual(seqs(splitBursts(rs, 1, zero).closed), [rs.map((r) => r.seq)]);
    assert.equal(splitBursts(rs, 1, zero).open.length, 0);
    // Also when record times go back (a clock stepped back) or now is before the last record.
    const back = [put(1_000, 'ann'), put(999, 'ann'), put(999, 'bob')];
    assert.deepEqual(seqs(splitBursts(back, 998, zero).closed), [[back[0]!.seq, back[1]!.seq], [back[2]!.seq]]);
    const f = splitBursts(rs, 1, RULES, true);
    assert.equal(f.open.length, 0);
    assert.deepEqual(seqs(f.closed), [rs.map((r) => r.seq)]);
  });

  describe('properties', () => {
    const arbRecords = fc
      .array(
        fc.record({
          gap: fc.integer({ min: 0, max: 4_000 }),
          user: fc.constantFrom(undefined, 'ann', 'bob'),
          marker: fc.boolean(),
          lockedBack: fc.integer({ min: 0, max: 10_000 }),
          path: fc.constantFrom('/f', '/d/g', '/d', '/'),
        }),
        { maxLength: 60 },
      )
      .map((specs) => {
        let t = 1_000_000;
        let n = 0;
        return specs.map((s): JournalRecord => {
          t += s.gap;
          n++;
          return s.marker
            ? { seq: n, time: t, user: s.user, meta: { op: 'UNLOCK', path: s.path, lockedAt: t - s.lockedBack }, effects: [] }
            : { seq: n, time: t, user: s.user, meta: { op: 'PUT', path: s.path === '/' ? '/f' : s.path }, effects: [{ path: s.path === '/' ? '/f' : s.path, slot: FILE }] };
        });
      });
    const arbRules = fc.record({ windowMs: fc.integer({ min: 0, max: 3_000 }), maxAgeMs: fc.integer({ min: 1, max: 40_000 }) });
    const lastTime = (rs: JournalRecord[]) => (rs.length ? rs[rs.length - 1]!.time : 0);

    it('closed then open is the input, in order; each closed burst writes as one user; final leaves nothing open', () => {
      fc.assert(
        fc.property(arbRecords, arbRules, fc.integer({ min: 0, max: 50_000 }), fc.boolean(), (rs, rules, later, final) => {
          const s = splitBursts(rs, lastTime(rs) + later, rules, final);
          assert.deepEqual([...s.closed.flat(), ...s.open], rs);
          for (const b of s.closed) {
            assert.ok(b.length > 0);
            // Its first record's user writes it all; other users' records in it are UNLOCK markers.
            assert.ok(b.every((r) => r.user === b[0]!.user || (r.meta.op === 'UNLOCK' && r.effects.length === 0)));
          }
          if (final) assert.equal(s.open.length, 0);
          assert.equal(s.nextCloseAt === null, s.open.length === 0);
          if (s.nextCloseAt !== null) assert.ok(s.nextCloseAt > lastTime(rs) + later);
        }),
        { numRuns: 300 },
      );
    });

    it('is monotone in now: a burst closed at t is closed at any later t, with the same boundaries', () => {
      fc.assert(
        fc.property(arbRecords, arbRules, fc.integer({ min: 0, max: 50_000 }), fc.integer({ min: 0, max: 50_000 }), (rs, rules, a, b) => {
          const t = lastTime(rs) + a;
          const early = splitBursts(rs, t, rules);
          const late = splitBursts(rs, t + b, rules);
          assert.ok(late.closed.length >= early.closed.length);
          assert.deepEqual(seqs(late.closed.slice(0, early.closed.length)), seqs(early.closed));
          // Once nextCloseAt is reached, what was open is closed.
          if (early.nextCloseAt !== null) assert.equal(splitBursts(rs, early.nextCloseAt, rules).open.length, 0);
        }),
        { numRuns: 300 },
      );
    });
  });

  it('mayCloseEarlier: only another user\'s record or a marker among the added ones can move a deadline earlier', () => {
    const a = [put(0, 'ann'), put(1, 'ann'), put(2, 'ann')];
    assert.equal(mayCloseEarlier(a, a.slice(2)), false);
    assert.equal(mayCloseEarlier(a, a.slice(1)), false);
    const b = [...a, put(3, 'bob')];
    assert.equal(mayCloseEarlier(b, b.slice(3)), true);
    const u = [...a, unlock(3, 0, 'ann')];
    assert.equal(mayCloseEarlier(u, u.slice(3)), true);
    assert.equal(mayCloseEarlier(a, [put(9, 'ann')]), true, 'records that are not the tail: split');
    assert.equal(mayCloseEarlier(a.slice(0, 1), a.slice(0, 1)), true, 'nothing before them: split');
  });
});

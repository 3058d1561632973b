/**
 * The journal file's framing (backends/git/journal/format.ts): records round-trip, a buffer cut at any
 * byte reads exactly the records wholly before the cut, and nothing that does not frame, check and
 * have the record shape is ever returned (or thrown).
 */
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { crc32, decodeHeader, decodeRecords, encodeHeader, encodeRecords, FRAME_BYTES, HEADER_BYTES, newJournalId, tableCrc32 } from '../../backends/git/journal/format.js';
import type { JournalEntry, JournalRecord, RecordOp } from '../../backends/git/journal/record.js';

const OPS: RecordOp[] = ['PUT', 'DELETE', 'MOVE', 'COPY', 'MKCOL', 'PROPPATCH', 'RESTORE', 'UNLOCK'];
const oid = fc.stringMatching(/^[0-9a-f]{40}$/);
const path = fc.string({ maxLength: 30, unit: 'binary' }).map((s) => `/${s}`);
const slot = fc.oneof(
  fc.constant(null),
  fc.record({ kind: fc.constant('file' as const), mode: fc.constantFrom('100644', '100755', '120000'), oid }),
  fc.record({ kind: fc.constant('dir' as const), oid }),
);
const entry: fc.Arbitrary<JournalEntry> = fc.record(
  {
    time: fc.integer({ min: 0, max: 2 ** 45 }),
    user: fc.string({ maxLength: 12, unit: 'binary' }),
    userAgent: fc.string({ maxLength: 40 }),
    meta: fc.record(
      {
        op: fc.constantFrom(...OPS),
        path,
        to: path,
        summary: fc.string({ maxLength: 40, unit: 'binary' }),
        restoredFrom: fc.stringMatching(/^[0-9a-f]{7,40}$/),
        lockedAt: fc.integer({ min: 0, max: 2 ** 45 }),
      },
      { requiredKeys: ['op', 'path'] },
    ),
    effects: fc.array(fc.record({ path, slot }), { maxLength: 5 }),
  },
  { requiredKeys: ['time', 'meta', 'effects'] },
);
const numbered = (entries: JournalEntry[], first: number): JournalRecord[] => entries.map((e, i) => ({ ...e, seq: first + i }));
const record = (seq: number, path = '/a.txt'): JournalRecord => ({
  seq,
  time: 1_700_000_000_000,
  user: 'alice',
  meta: { op: 'PUT', path },
  effects: [{ path, slot: { kind: 'file', mode: '100644', oid: 'a'.repeat(40) } }],
});

/** A frame around `json` bytes with a CRC that checks. */
function frame(json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  const head = Buffer.alloc(FRAME_BYTES);
  head.writeUInt32LE(body.length, 0);
  head.writeUInt32LE(crc32(body), 4);
  return Buffer.concat([head, body]);
}

describe('journal format', () => {
  it('computes CRC-32 as zlib does (the table fallback too)', () => {
    assert.equal(tableCrc32(Buffer.from('123456789')), 0xcbf43926);
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => tableCrc32(bytes) === zlib.crc32(bytes) >>> 0));
  });

  it('round-trips the header and refuses one that does not check', () => {
    const id = newJournalId();
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.notEqual(newJournalId(), id);
    for (const seq of [1, 2, 1000, Number.MAX_SAFE_INTEGER]) assert.deepEqual(decodeHeader(encodeHeader(seq, id)), { firstSeq: seq, id });
    assert.throws(() => encodeHeader(0, id), RangeError);
    assert.throws(() => encodeHeader(1, 'not-an-id'), RangeError);
    const good = encodeHeader(7, id);
    assert.equal(decodeHeader(good.subarray(0, HEADER_BYTES - 1)), null);
    for (let i = 0; i < HEADER_BYTES; i++) {
      const bad = Buffer.from(good);
      bad[i] ^= 0x10;
      assert.equal(decodeHeader(bad), null, `byte ${i} flipped`);
    }
  });

  it('round-trips any records (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), fc.integer({ min: 1, max: 2 ** 40 }), (entries, first) => {
        const records = numbered(entries, first);
        const bytes = encodeRecords(records);
        const decoded = decodeRecords(bytes, first);
        assert.deepEqual(decoded.records, JSON.parse(JSON.stringify(records)));
        assert.equal(decoded.consumed, bytes.length);
        assert.equal(decoded.rest, false);
      }),
    );
  });

  it('reads, from a buffer cut at every byte offset, exactly the records wholly before the cut', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 4 }), (entries) => {
        const records = numbered(entries, 5);
        const ends: number[] = [];
        let at = 0;
        for (const r of records) ends.push((at += encodeRecords([r]).length));
        const bytes = encodeRecords(records);
        for (let cut = 0; cut <= bytes.length; cut++) {
          const whole = ends.filter((e) => e <= cut).length;
          const decoded = decodeRecords(bytes.subarray(0, cut), 5);
          assert.equal(decoded.records.length, whole, `cut at ${cut}`);
          assert.equal(decoded.consumed, whole === 0 ? 0 : ends[whole - 1]);
          assert.equal(decoded.rest, cut > decoded.consumed);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('stops before a record whose CRC does not check', () => {
    const bytes = encodeRecords([record(1), record(2), record(3)]);
    const third = bytes.length - encodeRecords([record(3)]).length;
    const bad = Buffer.from(bytes);
    bad[bad.length - 2] ^= 0xff; // in the last record's JSON
    assert.deepEqual(decodeRecords(bad, 1), { records: [record(1), record(2)], consumed: third, rest: true });
    const badCrc = Buffer.from(bytes);
    badCrc[third + 5] ^= 0x01; // in its CRC
    assert.equal(decodeRecords(badCrc, 1).records.length, 2);
  });

  it('never returns what checks but is not a record: garbage JSON, a wrong shape, a seq out of turn', () => {
    const good = encodeRecords([record(1)]);
    const cases: Record<string, Buffer> = {
      'not JSON': frame('{"seq":2,'),
      'an array': frame('[1,2,3]'),
      'no effects': frame(JSON.stringify({ ...record(2), effects: undefined })),
      'effects not an array': frame(JSON.stringify({ ...record(2), effects: {} })),
      'an effect without a path': frame(JSON.stringify({ ...record(2), effects: [{ slot: null }] })),
      'a relative path': frame(JSON.stringify({ ...record(2), effects: [{ path: 'a', slot: null }] })),
      'a slot of no kind': frame(JSON.stringify({ ...record(2), effects: [{ path: '/a', slot: { kind: 'link', oid: 'a'.repeat(40) } }] })),
      'an oid not hex': frame(JSON.stringify({ ...record(2), effects: [{ path: '/a', slot: { kind: 'dir', oid: 'z'.repeat(40) } }] })),
      'an unknown op': frame(JSON.stringify({ ...record(2), meta: { op: 'GET', path: '/a' } })),
      'no meta': frame(JSON.stringify({ ...record(2), meta: null })),
      'a string seq': frame(JSON.stringify({ ...record(2), seq: '2' })),
      'a time not a number': frame(JSON.stringify({ ...record(2), time: 'now' })),
      'seq skipped': frame(JSON.stringify(record(3))),
      'seq repeated': frame(JSON.stringify(record(1))),
      'length zero': Buffer.alloc(FRAME_BYTES),
      'length huge': Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2, 3]),
    };
    for (const [what, tail] of Object.entries(cases)) {
      const decoded = decodeRecords(Buffer.concat([good, tail, encodeRecords([record(2)])]), 1);
      assert.deepEqual(decoded.records, [record(1)], what);
      assert.equal(decoded.consumed, good.length, what);
      assert.equal(decoded.rest, true, what);
    }
  });

  it('never throws on random bytes, and whatever it returns is a numbered record', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const decoded = decodeRecords(bytes, 1);
        assert.ok(decoded.consumed <= bytes.length);
        decoded.records.forEach((r, i) => assert.equal(r.seq, 1 + i));
      }),
    );
  });

  it('keeps inline objects only when asked (the committer), drops them for readers, and checks their shape', () => {
    const inline = fc.array(fc.record({ oid, z: fc.base64String({ maxLength: 80 }) }), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(fc.array(fc.tuple(entry, inline), { minLength: 1, maxLength: 5 }), (pairs) => {
        const records = numbered(pairs.map(([e, objects]) => ({ ...e, inline: objects })), 1);
        const bytes = encodeRecords(records);
        assert.deepEqual(decodeRecords(bytes, 1, true).records, records);
        assert.deepEqual(decodeRecords(bytes, 1).records, records.map(({ inline: _dropped, ...rest }) => rest));
      }),
    );
    assert.throws(() => encodeRecords([{ ...record(1), inline: [{ oid: 'nope', z: '' }] }]), TypeError);
    assert.throws(() => encodeRecords([{ ...record(1), inline: [{ oid: 'a'.repeat(40), z: 'not base64!' }] }]), TypeError);
    assert.throws(() => encodeRecords([{ ...record(1), inline: {} as never }]), TypeError);
  });

  it('refuses to encode an entry that would not read back', () => {
    assert.throws(() => encodeRecords([{ ...record(1), effects: [{ path: 'x', slot: null }] }]), TypeError);
    assert.throws(() => encodeRecords([{ ...record(1), meta: { op: 'PUT', path: '/a', lockedAt: Number.NaN } }]), TypeError);
    assert.throws(() => encodeRecords([{ ...record(1), seq: 0 }]), TypeError);
  });
});

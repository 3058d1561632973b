import assert from 'node:assert/strict';
import fc from 'fast-check';
import { coalesce, multipartByteranges, parseRange, parseContentRange, type RangeResult } from '../../lib/dav/range.js';

const ranges = (...rs: [number, number][]) => ({ kind: 'ranges' as const, ranges: rs.map(([start, end]) => ({ start, end })) });
const NONE = { kind: 'none' as const };
const UNSAT = { kind: 'unsatisfiable' as const };

const show = (r: RangeResult) => (r.kind === 'ranges' ? r.ranges.map((x) => `${x.start}-${x.end}`).join(',') : r.kind);

/** A rule of RFC 9110 and the rows that probe it: [Range header, representation size, result, note]. */
type ParseTable = [rule: string, rows: Array<[header: string | undefined, size: number, expected: RangeResult, note?: string]>];

/** One `it` per row, under a describe named by the rule. */
function parseTables(tables: ParseTable[]): void {
  for (const [rule, rows] of tables) {
    describe(rule, () => {
      for (const [header, size, expected, note] of rows) {
        it(`${JSON.stringify(header)} of ${size} bytes → ${show(expected)}${note ? ` (${note})` : ''}`, () => assert.deepEqual(parseRange(header, size), expected));
      }
    });
  }
}

describe('RFC 9110 §14.2 Range: parseRange', () => {
  describe('no usable header', () => parseTables([
    ['returns none for a missing or empty header', [[undefined, 100, NONE], ['', 100, NONE]]],
    ['ignores range units other than bytes (§14.1: unknown units are ignored)', [['items=0-5', 100, NONE], ['bytesx=0-5', 100, NONE]]],
    ['accepts the unit case-insensitively (§14.1: range units are case-insensitive)', [['BYTES=0-4', 100, ranges([0, 4])]]],
  ]));

  describe('§14.1.2 int-range', () => parseTables([
    ['first-pos and last-pos are inclusive offsets', [
      ['bytes=0-499', 10000, ranges([0, 499]), 'RFC 9110 §14.1.2 example: the first 500 bytes'],
      ['bytes=500-999', 10000, ranges([500, 999]), 'the second 500 bytes'],
    ]],
    ['a single byte', [['bytes=0-0', 10000, ranges([0, 0])], ['bytes=9999-9999', 10000, ranges([9999, 9999])]]],
    ['open-ended: a missing last-pos means the remainder', [
      ['bytes=9500-', 10000, ranges([9500, 9999]), 'RFC 9110 §14.1.2 example: the final 500 bytes'],
      ['bytes=0-', 1, ranges([0, 0])],
    ]],
    ['clips a last-pos at or beyond the end to size-1', [['bytes=0-10000', 10000, ranges([0, 9999])], ['bytes=100-99999999999', 200, ranges([100, 199])]]],
    ['an int-range whose last-pos is less than first-pos is invalid: the header is ignored', [['bytes=5-3', 100, NONE], ['bytes=0-1,5-3', 100, NONE]]],
    ['an int-range starting at or beyond the size is unsatisfiable', [['bytes=100-', 100, UNSAT], ['bytes=100-200', 100, UNSAT], ['bytes=1000-2000', 100, UNSAT]]],
  ]));

  describe('§14.1.2 suffix-range', () => parseTables([
    ['the last N bytes', [['bytes=-500', 10000, ranges([9500, 9999]), 'RFC 9110 §14.1.2 example'], ['bytes=-1', 10, ranges([9, 9])]]],
    ['a suffix longer than the representation selects the whole representation', [['bytes=-500', 100, ranges([0, 99])], ['bytes=-100', 100, ranges([0, 99])]]],
    ['a zero suffix-length is unsatisfiable', [['bytes=-0', 100, UNSAT]]],
  ]));

  describe('§14.1.1 multiple ranges and satisfiability', () => {
    parseTables([
      ['keeps several ranges in request order', [
        ['bytes=0-0,-1', 10000, ranges([0, 0], [9999, 9999]), 'RFC 9110 §14.1.2 example: first and last bytes only'],
        ['bytes=900-999,0-9,500-510', 10000, ranges([900, 999], [0, 9], [500, 510])],
      ]],
      ['tolerates optional whitespace around "=", "," and "-"', [['  bytes = 0-1 , 3 - 4,  -2 ', 10, ranges([0, 1], [3, 4], [8, 9])]]],
      ['ignores empty list elements (RFC 9110 §5.6.1)', [['bytes=0-1,,4-5,', 10, ranges([0, 1], [4, 5])]]],
      ['drops unsatisfiable members when at least one is satisfiable', [['bytes=100-200,0-1', 50, ranges([0, 1])], ['bytes=-0,2-', 5, ranges([2, 4])]]],
      ['is unsatisfiable when no member is satisfiable', [['bytes=100-200,300-', 50, UNSAT]]],
    ]);

    it('ignores a header with more ranges than allowed', () => {
      const many = 'bytes=' + Array.from({ length: 5 }, (_, i) => `${i * 2}-${i * 2}`).join(',');
      assert.equal(parseRange(many, 100, 5).kind, 'ranges');
      assert.deepEqual(parseRange(many, 100, 4), NONE);
      const tooMany = 'bytes=' + Array.from({ length: 65 }, (_, i) => `${i}-${i}`).join(',');
      assert.deepEqual(parseRange(tooMany, 1000), NONE, 'the default limit is 64');
      assert.equal(parseRange(tooMany.replace(/,64-64$/, ''), 1000).kind, 'ranges');
    });
  });

  describe('§14.2 / §15.3.7 overlapping and adjacent ranges are coalesced (no amplification)', () => {
    it('64 × bytes=0- (the whole file 64 times over) → the whole file once, as a 200', () => {
      const header = 'bytes=' + Array.from({ length: 64 }, () => '0-').join(',');
      assert.deepEqual(parseRange(header, 10 * 1024 * 1024), NONE);
    });

    parseTables([
      ['a single bytes=0- stays a 206 of the whole file (clients resume that way)', [['bytes=0-', 100, ranges([0, 99])]]],
      ['overlapping and adjacent ranges merge; a merged range takes its earliest member\'s place', [
        ['bytes=500-600,601-999', 10000, ranges([500, 999]), 'RFC 9110 §14.1.2: the second 500 bytes, adjacent'],
        ['bytes=500-700,601-999', 10000, ranges([500, 999]), 'the same, overlapping'],
        ['bytes=90-95,0-9,5-20,93-99', 1000, ranges([90, 99], [0, 20])],
        ['bytes=0-9,0-9,0-9,50-59', 1000, ranges([0, 9], [50, 59])],
      ]],
      ['several ranges that together cover the whole representation → none (the whole file, 200)', [['bytes=0-49,50-', 100, NONE], ['bytes=-60,0-50', 100, NONE]]],
    ]);

    it('coalesce is idempotent and leaves disjoint ranges alone', () => {
      const disjoint = [{ start: 10, end: 19 }, { start: 0, end: 5 }, { start: 30, end: 30 }];
      assert.deepEqual(coalesce(disjoint), disjoint);
      assert.deepEqual(coalesce(coalesce([{ start: 0, end: 5 }, { start: 3, end: 9 }])), [{ start: 0, end: 9 }]);
    });
  });

  describe('property: what a multi-range GET sends is bounded by the size plus part headers', () => {
    const spec = fc.oneof(
      fc.tuple(fc.nat(20_000), fc.option(fc.nat(20_000), { nil: undefined })).map(([a, b]) => `${a}-${b === undefined ? '' : a + b}`),
      fc.nat(20_000).map((n) => `-${n}`),
    );
    const MAX = 64;

    it('ranges are inside, disjoint, not adjacent, and their bytes never exceed the size', () => {
      fc.assert(
        fc.property(fc.nat(20_000), fc.array(spec, { minLength: 1, maxLength: 100 }), (size, specs) => {
          const r = parseRange(`bytes=${specs.join(',')}`, size, MAX);
          if (r.kind !== 'ranges') return;
          assert.ok(r.ranges.length <= MAX);
          const sorted = [...r.ranges].sort((a, b) => a.start - b.start);
          let total = 0;
          sorted.forEach((x, i) => {
            assert.ok(x.start >= 0 && x.start <= x.end && x.end < size);
            if (i > 0) assert.ok(x.start > sorted[i - 1]!.end + 1, 'disjoint and not adjacent');
            total += x.end - x.start + 1;
          });
          assert.ok(total <= size);
        }),
        { numRuns: 500 },
      );
    });

    it('the multipart body is at most the size plus a bounded head per part', () => {
      const type = 'application/octet-stream';
      const boundary = 'b'.repeat(24);
      fc.assert(
        fc.property(fc.nat(20_000), fc.array(spec, { minLength: 2, maxLength: 100 }), (size, specs) => {
          const r = parseRange(`bytes=${specs.join(',')}`, size, MAX);
          if (r.kind !== 'ranges' || r.ranges.length < 2) return;
          const body = multipartByteranges(r.ranges, size, type, boundary);
          const perPart = `\r\n--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${size}-${size}/${size}\r\n\r\n`.length;
          assert.ok(body.length <= size + r.ranges.length * perPart + body.closing.length, `${body.length} bytes for a ${size}-byte file`);
        }),
        { numRuns: 500 },
      );
    });
  });

  describe('§14.2 syntactically invalid headers are ignored', () => {
    for (const bad of ['bytes=', 'bytes=-', 'bytes=,', 'bytes=a-b', 'bytes=1-2-3', 'bytes=--5', 'bytes=-5-', 'bytes=0x10-20', 'bytes=1.5-2', 'bytes 0-5', 'bytes=0-5;x', 'bytes=+1-2', 'bytes=0-1,x']) {
      it(`${JSON.stringify(bad)} → none`, () => assert.deepEqual(parseRange(bad, 100), NONE));
    }
  });

  describe('§14.1.1 zero-length representation', () => {
    parseTables([
      ['no int-range is satisfiable', [['bytes=0-', 0, UNSAT], ['bytes=0-0', 0, UNSAT]]],
      // RFC 9110 §14.1.1: a suffix-range with a non-zero length is satisfiable even then, but no
      // Content-Range "first-last" can describe zero bytes; a server MAY ignore Range (§14.2).
      ['a non-zero suffix cannot be served as a 206 (no bytes to send): the header is ignored', [['bytes=-5', 0, NONE]]],
    ]);

    it('never returns a range with end < start', () => {
      for (const h of ['bytes=-5', 'bytes=-1,0-', 'bytes=0-,-1', 'bytes=-0', 'bytes=0-0']) {
        const r = parseRange(h, 0);
        if (r.kind === 'ranges') for (const x of r.ranges) assert.ok(x.end >= x.start, `${h}: ${JSON.stringify(x)}`);
      }
    });
  });

  describe('every returned range lies inside the representation', () => {
    it('for a grid of headers and sizes', () => {
      const headers = ['bytes=0-', 'bytes=-1', 'bytes=-7', 'bytes=3-', 'bytes=2-5', 'bytes=0-100', 'bytes=5-5', 'bytes=1-1,-2'];
      for (const size of [1, 2, 5, 6, 7, 100]) {
        for (const h of headers) {
          const r = parseRange(h, size);
          if (r.kind !== 'ranges') continue;
          for (const x of r.ranges) {
            assert.ok(x.start >= 0 && x.start <= x.end && x.end <= size - 1, `${h} on ${size}: ${JSON.stringify(x)}`);
          }
        }
      }
    });
  });
});

describe('RFC 9110 §14.4 Content-Range: parseContentRange', () => {
  it('parses a complete byte range', () => {
    // RFC 9110 §14.4 example
    assert.deepEqual(parseContentRange('bytes 42-1233/1234'), { start: 42, end: 1233, total: 1234 });
  });

  it('parses an unknown complete length "*"', () => {
    assert.deepEqual(parseContentRange('bytes 42-1233/*'), { start: 42, end: 1233, total: undefined });
  });

  it('is case-insensitive in the unit and tolerates surrounding whitespace', () => {
    assert.deepEqual(parseContentRange('  Bytes 0-0/1 '), { start: 0, end: 0, total: 1 });
  });

  it('rejects last-pos before first-pos', () => {
    assert.equal(parseContentRange('bytes 5-4/10'), null);
  });

  it('rejects a range that ends at or beyond the complete length', () => {
    assert.equal(parseContentRange('bytes 0-10/10'), null);
    assert.equal(parseContentRange('bytes 0-9/10')?.end, 9);
  });

  it('rejects the unsatisfied-range form and other syntax', () => {
    for (const bad of ['bytes */1234', 'bytes=0-1/2', 'bytes 0-/10', 'bytes -5/10', 'items 0-1/2', 'bytes 0-1', 'bytes 0-1/', 'bytes 1-2/3 x', '']) {
      assert.equal(parseContentRange(bad), null, bad);
    }
  });

  it('rejects positions beyond Number.MAX_SAFE_INTEGER', () => {
    assert.equal(parseContentRange('bytes 0-99999999999999999999/*'), null);
  });
});

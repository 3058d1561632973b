/**
 * backends/git/pack-format.ts applyDelta: git's copy/insert instructions applied to a base, and a
 * delta cut off inside a copy instruction's argument bytes is an error (a missing byte would
 * otherwise read as 0: offset 0, or size 0 = 0x10000, a plausible but wrong result).
 */
import assert from 'node:assert/strict';
import { applyDelta } from '../../backends/git/pack-format.js';

describe('git applyDelta', () => {
  const base = Buffer.alloc(0x10000 + 16, 7);

  it('copies and inserts', () => {
    // source 20, target 6: copy 4 bytes from offset 2 (offset byte 1, size byte 1), insert "ab".
    const src = Buffer.from('0123456789abcdefghij');
    const out = applyDelta(src, Buffer.from([20, 6, 0x80 | 0x01 | 0x10, 2, 4, 2, 0x61, 0x62]));
    assert.equal(out.toString(), '2345ab');
  });

  it('a copy of 0x10000 bytes written with no size bytes is valid', () => {
    // sizes as varints: 65552 = 0x10010, 65536 = 0x10000; copy with offset byte 0 only.
    const delta = Buffer.from([0x90, 0x80, 0x04, 0x80, 0x80, 0x04, 0x80 | 0x01, 0]);
    assert.equal(applyDelta(base, delta).length, 0x10000);
  });

  it('a copy instruction whose argument bytes run past the end is an error', () => {
    // The op says an offset byte and a size byte follow; the size byte is missing. Read as 0, the
    // size would be 0x10000, exactly the target: a plausible result without the check.
    const delta = Buffer.from([0x90, 0x80, 0x04, 0x80, 0x80, 0x04, 0x80 | 0x01 | 0x10, 0]);
    assert.throws(() => applyDelta(base, delta), /past its end/);
    // Both argument bytes missing.
    assert.throws(() => applyDelta(base, delta.subarray(0, 7)), /past its end/);
  });
});

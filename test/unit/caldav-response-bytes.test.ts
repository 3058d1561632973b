/** The bytes the CalDAV response cache keeps: each in its own memory, none over the per-entry cap. */
import assert from 'node:assert/strict';
import { keptBytes, MAX_KEPT_RESPONSE_BYTES } from '../../lib/caldav/state/response-cache.js';

describe('CalDAV response cache: kept bytes', () => {
  it('keeps a small response in its own memory, not a slice of the shared pool', () => {
    const text = '<D:response><D:href>/c/é.ics</D:href></D:response>';
    const b = keptBytes(text)!;
    assert.equal(b.toString('utf8'), text);
    assert.equal(b.byteOffset, 0);
    assert.equal(b.buffer.byteLength, Buffer.byteLength(text)); // Buffer.from would give an 8 KiB slab
  });

  it('keeps nothing over the per-entry cap, and keeps one at it', () => {
    assert.equal(keptBytes('x'.repeat(MAX_KEPT_RESPONSE_BYTES + 1)), null);
    assert.equal(keptBytes('x'.repeat(MAX_KEPT_RESPONSE_BYTES))!.length, MAX_KEPT_RESPONSE_BYTES);
    assert.equal(keptBytes('é'.repeat(MAX_KEPT_RESPONSE_BYTES / 2 + 1)), null); // counted in UTF-8 bytes
  });
});

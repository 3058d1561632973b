import assert from 'node:assert/strict';
import { parseHttpDate } from '../../lib/dav/http-date.js';

describe('RFC 9110 §5.6.7 HTTP-date', () => {
  const t = Date.UTC(1994, 10, 6, 8, 49, 37) / 1000;
  it('reads the three forms of the RFC example, all as GMT', () => {
    assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), t);
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), t);
    assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), t);
  });
  it('ignores what is not an HTTP-date', () => {
    for (const bad of ['', 'yesterday', '2024-03-10T11:59:59Z', 'Sun, 06 Nov 1994 08:49:37 PST', 'Sun, 31 Feb 1994 08:49:37 GMT', 'Sun, 06 Foo 1994 08:49:37 GMT', '1700000000']) {
      assert.equal(parseHttpDate(bad), null, bad);
    }
  });
  it('round-trips Date#toUTCString', () => {
    const d = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    assert.equal(parseHttpDate(d.toUTCString()), d.getTime() / 1000);
  });
});

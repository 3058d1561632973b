import assert from 'node:assert/strict';
import { evaluateHttpConditions } from '../../lib/dav/conditions.js';
import type { Entry } from '../../backends/backend.js';

const MODIFIED = new Date('2024-03-10T12:00:00.750Z'); // sub-second part must not matter (HTTP-dates have 1 s resolution)
const AT = 'Sun, 10 Mar 2024 12:00:00 GMT'; // == MODIFIED, truncated to the second
const BEFORE = 'Sun, 10 Mar 2024 11:59:59 GMT';
const AFTER = 'Sun, 10 Mar 2024 12:00:01 GMT';

const entry: Entry = { path: '/a.txt', kind: 'file', size: 3, etag: '"xyzzy"', modified: MODIFIED };

type H = Parameters<typeof evaluateHttpConditions>[1];
const GET = (h: H, e: Entry | null = entry) => evaluateHttpConditions('GET', h, e);
const HEAD = (h: H, e: Entry | null = entry) => evaluateHttpConditions('HEAD', h, e);
const PUT = (h: H, e: Entry | null = entry) => evaluateHttpConditions('PUT', h, e);

describe('RFC 9110 §13 conditional requests: evaluateHttpConditions', () => {
  it('passes without any conditional header', () => {
    assert.equal(GET({}), 'pass');
    assert.equal(PUT({}), 'pass');
    assert.equal(PUT({}, null), 'pass');
  });

  describe('§13.1.1 If-Match (strong comparison, §8.8.3.2)', () => {
    it('passes when a listed strong etag equals the current one', () => {
      assert.equal(PUT({ ifMatch: '"xyzzy"' }), 'pass');
      assert.equal(PUT({ ifMatch: '"a", "xyzzy", "b"' }), 'pass');
      assert.equal(PUT({ ifMatch: '"a","xyzzy"' }), 'pass');
    });

    it('fails when no listed etag equals the current one', () => {
      assert.equal(PUT({ ifMatch: '"other"' }), 'failed');
      assert.equal(PUT({ ifMatch: '"XYZZY"' }), 'failed', 'opaque-tags are case-sensitive');
      assert.equal(PUT({ ifMatch: '"xyzzy ' }), 'failed', 'an unterminated etag is not an etag');
    });

    it('fails for a weak etag even with the same opaque-tag (weak tags never match strongly)', () => {
      assert.equal(PUT({ ifMatch: 'W/"xyzzy"' }), 'failed');
      assert.equal(GET({ ifMatch: 'W/"xyzzy"' }), 'failed');
    });

    it('never matches a weak current etag strongly', () => {
      const weak: Entry = { ...entry, etag: 'W/"xyzzy"' };
      assert.equal(PUT({ ifMatch: 'W/"xyzzy"' }, weak), 'failed');
      assert.equal(PUT({ ifMatch: '"xyzzy"' }, weak), 'failed');
    });

    it('"*" passes when a current representation exists', () => {
      assert.equal(PUT({ ifMatch: '*' }), 'pass');
      assert.equal(PUT({ ifMatch: ' * ' }), 'pass');
    });

    it('"*" and any etag fail when there is no current representation', () => {
      assert.equal(PUT({ ifMatch: '*' }, null), 'failed');
      assert.equal(PUT({ ifMatch: '"xyzzy"' }, null), 'failed');
      assert.equal(GET({ ifMatch: '*' }, null), 'failed');
    });

    it('fails (not 304) for GET too', () => {
      assert.equal(GET({ ifMatch: '"other"' }), 'failed');
    });

    it('fails when the resource has no etag, except for "*"', () => {
      const untagged = { ...entry, etag: '' };
      assert.equal(PUT({ ifMatch: '"xyzzy"' }, untagged), 'failed');
      assert.equal(PUT({ ifMatch: '*' }, untagged), 'pass');
    });
  });

  describe('§13.1.2 If-None-Match (weak comparison)', () => {
    it('a matching etag gives not-modified for GET and HEAD', () => {
      assert.equal(GET({ ifNoneMatch: '"xyzzy"' }), 'not-modified');
      assert.equal(HEAD({ ifNoneMatch: '"xyzzy"' }), 'not-modified');
      assert.equal(GET({ ifNoneMatch: '"a", "xyzzy"' }), 'not-modified');
    });

    it('weak comparison: W/"xyzzy" matches "xyzzy" and vice versa', () => {
      assert.equal(GET({ ifNoneMatch: 'W/"xyzzy"' }), 'not-modified');
      assert.equal(GET({ ifNoneMatch: '"xyzzy"' }, { ...entry, etag: 'W/"xyzzy"' }), 'not-modified');
    });

    it('a matching etag fails other methods (412)', () => {
      assert.equal(PUT({ ifNoneMatch: '"xyzzy"' }), 'failed');
      assert.equal(PUT({ ifNoneMatch: 'W/"xyzzy"' }), 'failed');
      assert.equal(evaluateHttpConditions('DELETE', { ifNoneMatch: '"xyzzy"' }, entry), 'failed');
      assert.equal(evaluateHttpConditions('PROPFIND', { ifNoneMatch: '"xyzzy"' }, entry), 'failed');
    });

    it('no matching etag passes', () => {
      assert.equal(GET({ ifNoneMatch: '"other"' }), 'pass');
      assert.equal(PUT({ ifNoneMatch: '"other", W/"another"' }), 'pass');
    });

    it('"*" fails a PUT on an existing resource (create-only PUT, §13.1.2)', () => {
      assert.equal(PUT({ ifNoneMatch: '*' }), 'failed');
      assert.equal(GET({ ifNoneMatch: '*' }), 'not-modified');
    });

    it('"*" and etags pass when there is no current representation', () => {
      assert.equal(PUT({ ifNoneMatch: '*' }, null), 'pass');
      assert.equal(PUT({ ifNoneMatch: '"xyzzy"' }, null), 'pass');
      assert.equal(GET({ ifNoneMatch: '*' }, null), 'pass');
    });
  });

  describe('§13.1.4 If-Unmodified-Since', () => {
    it('passes when the resource was not modified after the date (equal counts as unmodified)', () => {
      assert.equal(PUT({ ifUnmodifiedSince: AT }), 'pass');
      assert.equal(PUT({ ifUnmodifiedSince: AFTER }), 'pass');
    });

    it('fails when the resource was modified after the date', () => {
      assert.equal(PUT({ ifUnmodifiedSince: BEFORE }), 'failed');
      assert.equal(GET({ ifUnmodifiedSince: BEFORE }), 'failed');
    });

    it('accepts the obsolete RFC 850 date format (§5.6.7)', () => {
      assert.equal(PUT({ ifUnmodifiedSince: 'Sunday, 10-Mar-24 11:59:59 GMT' }), 'failed');
      assert.equal(PUT({ ifUnmodifiedSince: 'Sunday, 10-Mar-24 12:00:00 GMT' }), 'pass');
    });

    it('is ignored when the date is not valid', () => {
      assert.equal(PUT({ ifUnmodifiedSince: 'yesterday' }), 'pass');
    });

    it('is ignored when there is no current representation', () => {
      assert.equal(PUT({ ifUnmodifiedSince: BEFORE }, null), 'pass');
    });

    it('is ignored when If-Match is present (§13.2.2 step 2)', () => {
      assert.equal(PUT({ ifMatch: '"xyzzy"', ifUnmodifiedSince: BEFORE }), 'pass');
      assert.equal(PUT({ ifMatch: '"other"', ifUnmodifiedSince: AFTER }), 'failed');
    });
  });

  describe('§13.1.3 If-Modified-Since', () => {
    it('not-modified for GET/HEAD when the resource was not modified after the date', () => {
      assert.equal(GET({ ifModifiedSince: AT }), 'not-modified');
      assert.equal(GET({ ifModifiedSince: AFTER }), 'not-modified');
      assert.equal(HEAD({ ifModifiedSince: AT }), 'not-modified');
    });

    it('passes when the resource was modified after the date', () => {
      assert.equal(GET({ ifModifiedSince: BEFORE }), 'pass');
    });

    it('is ignored for methods other than GET and HEAD', () => {
      assert.equal(PUT({ ifModifiedSince: AFTER }), 'pass');
      assert.equal(evaluateHttpConditions('PROPFIND', { ifModifiedSince: AFTER }, entry), 'pass');
    });

    it('is ignored when the date is invalid or the resource is missing', () => {
      assert.equal(GET({ ifModifiedSince: 'garbage' }), 'pass');
      assert.equal(GET({ ifModifiedSince: AFTER }, null), 'pass');
    });

    it('is ignored when If-None-Match is present (§13.2.2 step 4)', () => {
      assert.equal(GET({ ifNoneMatch: '"other"', ifModifiedSince: AFTER }), 'pass');
      assert.equal(GET({ ifNoneMatch: '"xyzzy"', ifModifiedSince: BEFORE }), 'not-modified');
    });
  });

  describe('§13.2.2 precedence', () => {
    it('If-Match is evaluated before If-None-Match: a failed If-Match is 412 even for GET', () => {
      assert.equal(GET({ ifMatch: '"other"', ifNoneMatch: '"xyzzy"' }), 'failed');
    });

    it('If-Unmodified-Since is evaluated before If-None-Match', () => {
      assert.equal(GET({ ifUnmodifiedSince: BEFORE, ifNoneMatch: '"xyzzy"' }), 'failed');
    });

    it('a passing If-Match still lets If-None-Match decide', () => {
      assert.equal(GET({ ifMatch: '"xyzzy"', ifNoneMatch: '"xyzzy"' }), 'not-modified');
      assert.equal(PUT({ ifMatch: '"xyzzy"', ifNoneMatch: '*' }), 'failed');
      assert.equal(PUT({ ifMatch: '"xyzzy"', ifNoneMatch: '"other"' }), 'pass');
    });

    it('all four headers together, all holding: pass', () => {
      assert.equal(
        GET({ ifMatch: '"xyzzy"', ifUnmodifiedSince: AFTER, ifNoneMatch: '"other"', ifModifiedSince: AFTER }),
        'pass',
      );
    });

    it('If-Unmodified-Since passing then If-Modified-Since saying unmodified: not-modified', () => {
      assert.equal(GET({ ifUnmodifiedSince: AFTER, ifModifiedSince: AT }), 'not-modified');
    });
  });
});

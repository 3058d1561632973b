import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePath, encodePath, BadPathError, keptByUrlParser } from '../../lib/dav/paths.js';

function rejects(raw: string, status: 400 | 403): void {
  assert.throws(
    () => parsePath(raw),
    (err: unknown) => err instanceof BadPathError && err.status === status && err.name === 'BadPathError',
    `expected ${raw} to be refused with ${status}`,
  );
}

describe('RFC 3986 §3.3 request paths: parsePath', () => {
  describe('normalisation', () => {
    it('the root', () => {
      assert.deepEqual(parsePath('/'), { path: '/', trailingSlash: false });
    });

    it('a plain path, without and with a trailing slash', () => {
      assert.deepEqual(parsePath('/a/b'), { path: '/a/b', trailingSlash: false });
      assert.deepEqual(parsePath('/a/b/'), { path: '/a/b', trailingSlash: true });
    });

    it('collapses empty segments (double slashes)', () => {
      assert.deepEqual(parsePath('//a///b'), { path: '/a/b', trailingSlash: false });
      assert.deepEqual(parsePath('/a//'), { path: '/a', trailingSlash: true });
      assert.deepEqual(parsePath('//'), { path: '/', trailingSlash: true });
    });

    it('refuses relative paths', () => {
      rejects('a/b', 400);
      rejects('', 400);
      rejects('http://example.com/a', 400);
    });
  });

  describe('§2.1 percent-decoding', () => {
    it('decodes every segment exactly once', () => {
      assert.equal(parsePath('/a%20b/c%2520d').path, '/a b/c%20d');
    });

    it('decodes reserved characters that are data in a segment', () => {
      assert.equal(parsePath('/%23%3F%25%3A%40').path, '/#?%:@');
    });

    it('keeps "+" (it is not a space in a path)', () => {
      assert.equal(parsePath('/a+b').path, '/a+b');
    });

    it('decodes UTF-8 sequences to unicode', () => {
      assert.equal(parsePath('/caf%C3%A9/%E2%9C%93/%F0%9F%98%80').path, '/café/✓/😀');
      assert.equal(parsePath('/caf%c3%a9').path, '/café', 'hex digits are case-insensitive');
    });

    it('accepts raw (unencoded) unicode', () => {
      assert.equal(parsePath('/café').path, '/café');
    });

    it('refuses malformed percent-encoding with 400', () => {
      rejects('/a%', 400);
      rejects('/a%2', 400);
      rejects('/a%zz', 400);
      rejects('/%E2%9C', 400); // truncated UTF-8
      rejects('/%C0%AE', 400); // overlong UTF-8 for "."
      rejects('/%FF', 400);
    });

    it('refuses NUL with 400', () => {
      rejects('/a%00b', 400);
      rejects('/%00', 400);
      rejects('/a/%00/b', 400);
    });
  });

  describe('§5.2.4 dot segments are refused (403)', () => {
    for (const raw of ['/..', '/a/..', '/a/../b', '/.', '/a/./b', '/a/.', '/../etc/passwd', '/a/../']) {
      it(`raw ${raw}`, () => rejects(raw, 403));
    }
    for (const raw of ['/%2e%2e', '/%2E%2E', '/%2E%2e/b', '/a/.%2e', '/a/%2e.', '/%2e', '/a/%2E/b', '/a/%2e%2e/']) {
      it(`percent-encoded ${raw}`, () => rejects(raw, 403));
    }

    it('allows names that merely contain dots', () => {
      assert.equal(parsePath('/.hidden/..../a..b/...').path, '/.hidden/..../a..b/...');
      assert.equal(parsePath('/%2ehidden').path, '/.hidden');
    });
  });

  describe('encoded separators are refused (403)', () => {
    for (const raw of ['/a%2Fb', '/a%2fb', '/%2F', '/a/%2F..', '/%2F%2Fetc', '/a%5Cb', '/a%5cb']) {
      it(raw, () => rejects(raw, 403));
    }
  });
});

describe('RFC 3986 §2 hrefs: encodePath', () => {
  it('leaves plain names alone', () => {
    assert.equal(encodePath('/a/b.txt'), '/a/b.txt');
    assert.equal(encodePath('/'), '/');
  });

  it('appends one trailing slash for collections', () => {
    assert.equal(encodePath('/a', true), '/a/');
    assert.equal(encodePath('/', true), '/');
    assert.equal(encodePath('/a/b', false), '/a/b');
  });

  it('percent-encodes characters that would end or change the path', () => {
    assert.equal(encodePath('/a b'), '/a%20b');
    assert.equal(encodePath('/a#b'), '/a%23b');
    assert.equal(encodePath('/a?b'), '/a%3Fb');
    assert.equal(encodePath('/100%'), '/100%25');
    assert.equal(encodePath('/<a>"'), '/%3Ca%3E%22');
  });

  it('keeps sub-delims and ":" / "@" that are legal in a segment (RFC 3986 pchar)', () => {
    assert.equal(encodePath("/a:b@c,d=e+f$g&h;i!j'k(l)m*n~o"), "/a:b@c,d=e+f$g&h;i!j'k(l)m*n~o");
  });

  it('encodes unicode as UTF-8', () => {
    assert.equal(encodePath('/café'), '/caf%C3%A9');
    assert.equal(encodePath('/😀'), '/%F0%9F%98%80');
  });

  it('output contains only URI characters', () => {
    const href = encodePath('/ä ö#?%[]{}|\\^`"<>\t\n');
    assert.match(href, /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/);
  });

  describe('round-trips with parsePath', () => {
    const names = [
      'plain',
      'with space',
      'hash#tag',
      'question?mark',
      'per%cent',
      '%20literal',
      '%2F not a slash',
      'colon:name',
      'at@sign',
      'plus+sign',
      'amp&semi;eq=comma,dollar$',
      "quote'and\"dquote",
      'brackets[]{}',
      'café',
      '日本語',
      '😀 emoji',
      '.hidden',
      '...',
      'a..b',
      'tab\there',
      'new\nline',
    ];
    for (const name of names) {
      it(JSON.stringify(name), () => {
        const path = `/dir/${name}`;
        assert.deepEqual(parsePath(encodePath(path)), { path, trailingSlash: false });
        assert.deepEqual(parsePath(encodePath(path, true)), { path, trailingSlash: true });
      });
    }

    it('a deep path of tricky names', () => {
      const path = '/a b/#/?/%/:/ü';
      assert.equal(parsePath(encodePath(path)).path, path);
    });
  });
});

describe('keptByUrlParser: the hrefs pathOfHref takes without the URL parser', () => {
  // Characters that matter to the parser: separators, dots and their escapes, what it escapes or cuts.
  const alphabet = ['/', '/', '.', '.', '%', '2', 'e', 'E', 'a', '-', '~', ':', '@', '?', '#', ' ', '\\', '"', '|', '[', "'", '+', 'ü', '\t'];
  const href = fc.array(fc.constantFrom(...alphabet), { maxLength: 14 }).map((cs) => cs.join(''));

  it('is kept exactly as the URL parser would give its path, for any base', () => {
    fc.assert(
      fc.property(fc.oneof(href, href.map((h) => '/' + h)), (h) => {
        if (!keptByUrlParser(h)) return;
        for (const base of ['http://h/', 'https://h:8443/x/y']) assert.equal(new URL(h, base).pathname, h, `${h} on ${base}`);
      }),
      { numRuns: 5000 },
    );
  });

  it('takes the plain paths a multiget sends, and leaves the rest to the parser', () => {
    for (const h of ['/', '/calendars/user/big/e-0001.ics', '/a/b%20c/', '/a/x.ics', '/a/.x', '/a/..x']) assert.ok(keptByUrlParser(h), h);
    for (const h of ['', 'a/b', '//host/a', '/a/../b', '/a/./b', '/a/%2e%2E/b', '/a/.', '/..', '/a?x', '/a#x', '/a b', '/a\\b', 'http://h/a', '/ü']) assert.ok(!keptByUrlParser(h), h);
  });
});

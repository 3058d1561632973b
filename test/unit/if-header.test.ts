import assert from 'node:assert/strict';
import { parseIfHeader, submittedTokens, IfHeaderSyntaxError, type IfList } from '../../lib/dav/if-header.js';

const T1 = 'urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2';
const T2 = 'urn:uuid:58f202ac-22cf-11d1-b12d-002035b29092';

const tok = (value: string, not = false) => ({ not, kind: 'token' as const, value });
const etag = (value: string, not = false) => ({ not, kind: 'etag' as const, value });

function syntaxError(header: string): void {
  assert.throws(() => parseIfHeader(header), IfHeaderSyntaxError, `expected a syntax error for ${JSON.stringify(header)}`);
}

describe('RFC 4918 §10.4 If header: parseIfHeader', () => {
  describe('§10.4.6 example: No-tag production', () => {
    it('parses two no-tag lists, a state token and etags with spaces', () => {
      const header = `(<${T1}>\r\n     ["I am an ETag"])\r\n    (["I am another ETag"])`;
      const lists = parseIfHeader(header);
      assert.deepEqual(lists, [
        { tag: undefined, conditions: [tok(T1), etag('"I am an ETag"')] },
        { tag: undefined, conditions: [etag('"I am another ETag"')] },
      ]);
    });
  });

  describe('§10.4.7 example: using "Not" with the no-tag production', () => {
    it('applies Not only to the condition that follows it', () => {
      const lists = parseIfHeader(`(Not <${T1}>\r\n     <${T2}>)`);
      assert.deepEqual(lists, [{ tag: undefined, conditions: [tok(T1, true), tok(T2, false)] }]);
    });
  });

  describe('§10.4.8 example: causing a condition to always evaluate to true', () => {
    it('parses (Not <DAV:no-lock>) as a second list', () => {
      const lists = parseIfHeader(`(<${T1}>)\r\n    (Not <DAV:no-lock>)`);
      assert.equal(lists.length, 2);
      assert.deepEqual(lists[0], { tag: undefined, conditions: [tok(T1)] });
      assert.deepEqual(lists[1], { tag: undefined, conditions: [tok('DAV:no-lock', true)] });
    });
  });

  describe('§10.4.9 example: tagged list If header in COPY', () => {
    it('attaches every following list to the resource tag, keeping W/ on weak etags', () => {
      const header = `<http://www.example.com/resource1>\r\n    (<${T1}>\r\n    [W/"A weak ETag"]) (["strong ETag"])`;
      assert.deepEqual(parseIfHeader(header), [
        { tag: 'http://www.example.com/resource1', conditions: [tok(T1), etag('W/"A weak ETag"')] },
        { tag: 'http://www.example.com/resource1', conditions: [etag('"strong ETag"')] },
      ]);
    });
  });

  describe('§10.4.10 example: matching lock tokens with collection locks', () => {
    it('parses a tag naming a collection', () => {
      assert.deepEqual(parseIfHeader(`<http://www.example.com/specs/>\r\n    (<${T1}>)`), [
        { tag: 'http://www.example.com/specs/', conditions: [tok(T1)] },
      ]);
    });
  });

  describe('§10.4.11 example: matching etags on unmapped URLs', () => {
    it('parses a tagged etag-only list', () => {
      assert.deepEqual(parseIfHeader('<http://www.example.com/specs/rfc2518.doc> (["4217"])'), [
        { tag: 'http://www.example.com/specs/rfc2518.doc', conditions: [etag('"4217"')] },
      ]);
    });
  });

  describe('§10.4.2 Tagged-list: several resource tags', () => {
    it('switches the tag at every Resource-Tag', () => {
      const header =
        '<http://www.example.com/container/> (<urn:uuid:a>)\r\n <http://www.example.com/container/front.html> (<urn:uuid:b>) (Not <urn:uuid:c>)';
      const lists = parseIfHeader(header);
      assert.deepEqual(
        lists.map((l) => [l.tag, l.conditions.map((c) => (c.not ? 'Not ' : '') + c.value)]),
        [
          ['http://www.example.com/container/', ['urn:uuid:a']],
          ['http://www.example.com/container/front.html', ['urn:uuid:b']],
          ['http://www.example.com/container/front.html', ['Not urn:uuid:c']],
        ],
      );
    });

    it('accepts a path (not only an absolute URL) as the resource tag, trimmed', () => {
      assert.equal(parseIfHeader('< /a/b > (<urn:x>)')[0]!.tag, '/a/b');
    });

    it('rejects mixing no-tag lists with tagged lists (If = 1*No-tag-list | 1*Tagged-list)', () => {
      syntaxError('(<urn:a>) <http://example.com/x> (<urn:b>)');
    });
  });

  describe('§10.4 Condition: entity tags', () => {
    it('keeps "]" and "(" and ")" that appear inside a quoted etag', () => {
      assert.deepEqual(parseIfHeader('(["a]b)(c"])')[0]!.conditions, [etag('"a]b)(c"')]);
    });

    it('keeps "<" and ">" inside a quoted etag without treating them as a state token', () => {
      assert.deepEqual(parseIfHeader('(["<urn:x>"])')[0]!.conditions, [etag('"<urn:x>"')]);
    });

    it('accepts whitespace inside the brackets around an etag', () => {
      assert.deepEqual(parseIfHeader('([ "x" ])')[0]!.conditions, [etag('"x"')]);
    });

    it('accepts the empty etag ""', () => {
      assert.deepEqual(parseIfHeader('([""])')[0]!.conditions, [etag('""')]);
    });

    it('accepts Not before an etag', () => {
      assert.deepEqual(parseIfHeader('(Not ["x"] <urn:y>)')[0]!.conditions, [etag('"x"', true), tok('urn:y')]);
    });

    it('rejects an unquoted etag', () => syntaxError('([abc])'));
    it('rejects an unterminated quoted etag', () => syntaxError('(["abc])'));
    it('rejects an etag without the closing "]"', () => syntaxError('(["abc" <urn:x>)'));
    it('rejects W/ separated from its quote', () => syntaxError('([W/ "abc"])'));
    it('rejects two etags in one bracket', () => syntaxError('(["a" "b"])'));
  });

  describe('§10.4 Condition: state tokens and Not', () => {
    it('accepts several conditions in a list without separating whitespace', () => {
      assert.deepEqual(parseIfHeader('(<urn:a><urn:b>["e"])')[0]!.conditions, [tok('urn:a'), tok('urn:b'), etag('"e"')]);
    });

    it('accepts Not in any case (ABNF literals are case-insensitive) and without a space before <', () => {
      assert.deepEqual(parseIfHeader('(not<urn:a> NOT <urn:b>)')[0]!.conditions, [tok('urn:a', true), tok('urn:b', true)]);
    });

    it('trims whitespace inside a state token', () => {
      assert.deepEqual(parseIfHeader('(< urn:a >)')[0]!.conditions, [tok('urn:a')]);
    });

    it('rejects Not without a condition', () => syntaxError('(Not)'));
    it('rejects a dangling Not at the end of a list', () => syntaxError('(<urn:a> Not)'));
    it('rejects Not Not', () => syntaxError('(Not Not <urn:a>)'));
    it('rejects an empty state token', () => syntaxError('(<>)'));
    it('rejects an unterminated state token', () => syntaxError('(<urn:a)'));
    it('rejects a bare word inside a list', () => syntaxError('(urn:a)'));
  });

  describe('§10.4 whitespace and line folding', () => {
    it('skips leading and trailing spaces, tabs, CR and LF', () => {
      const lists = parseIfHeader(' \t\r\n(\t<urn:a>\r\n\t)\r\n ');
      assert.deepEqual(lists, [{ tag: undefined, conditions: [tok('urn:a')] }]);
    });

    it('allows whitespace between a tag and its list', () => {
      assert.equal(parseIfHeader('<http://x/a>\r\n\t(<urn:a>)')[0]!.tag, 'http://x/a');
    });
  });

  describe('§10.4 syntax errors', () => {
    for (const bad of [
      '',
      '   ',
      '()',
      '( )',
      '(<urn:a>',
      '<urn:a>)',
      '<http://x/a>',
      '<http://x/a> <http://x/b> (<urn:a>)',
      '<> (<urn:a>)',
      '(<urn:a>) x',
      '(<urn:a>) ,(<urn:b>)',
      '[ "x" ]',
      '"x"',
      'Not (<urn:a>)',
      '(<urn:a>))',
      '<http://x/a (<urn:a>)',
    ]) {
      it(`rejects ${JSON.stringify(bad)} with IfHeaderSyntaxError`, () => syntaxError(bad));
    }

    it('is an Error with the name IfHeaderSyntaxError', () => {
      try {
        parseIfHeader('(');
        assert.fail('no error');
      } catch (err) {
        assert.ok(err instanceof Error);
        assert.equal((err as Error).name, 'IfHeaderSyntaxError');
      }
    });
  });
});

describe('RFC 4918 §6.5 submittedTokens', () => {
  it('collects every state token from every list, negated or not, tagged or not', () => {
    const lists = parseIfHeader(`<http://x/a> (<${T1}> ["e"]) (Not <${T2}>) <http://x/b> (<urn:other>)`);
    assert.deepEqual([...submittedTokens(lists)].sort(), [T1, T2, 'urn:other'].sort());
  });

  it('does not include etags', () => {
    assert.deepEqual([...submittedTokens(parseIfHeader('(["urn:x"] [W/"y"])'))], []);
  });

  it('deduplicates tokens named more than once', () => {
    const tokens = submittedTokens(parseIfHeader('(<urn:a>) (<urn:a> <urn:b>)'));
    assert.equal(tokens.size, 2);
    assert.ok(tokens.has('urn:a') && tokens.has('urn:b'));
  });

  it('is empty for no lists', () => {
    const none: IfList[] = [];
    assert.equal(submittedTokens(none).size, 0);
  });

  it('includes DAV:no-lock when it is named (it is still a state token)', () => {
    assert.ok(submittedTokens(parseIfHeader('(Not <DAV:no-lock>)')).has('DAV:no-lock'));
  });
});

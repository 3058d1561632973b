import assert from 'node:assert/strict';
import { parseXml, XmlParseError, elements, child, is, textOf, clarkOf, type XmlElement } from '../../lib/dav/xml/parse.js';
import { NS } from '../../lib/dav/xml/names.js';

const XML_LANG = `{${NS.XML}}lang`;

function fails(text: string, pattern?: RegExp, maxDepth?: number): void {
  assert.throws(
    () => parseXml(text, maxDepth === undefined ? undefined : { maxDepth }),
    (err: unknown) => err instanceof XmlParseError && err.name === 'XmlParseError' && (!pattern || pattern.test(err.message)),
    `expected XmlParseError${pattern ? ` matching ${pattern}` : ''} for ${JSON.stringify(text)}`,
  );
}

describe('XML request bodies: parseXml', () => {
  describe('Namespaces in XML 1.0 §6', () => {
    it('resolves a prefixed namespace on elements', () => {
      const root = parseXml('<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>');
      assert.equal(root.ns, 'DAV:');
      assert.equal(root.local, 'propfind');
      const prop = child(root, 'DAV:', 'prop')!;
      assert.ok(prop);
      assert.equal(clarkOf(elements(prop)[0]!), '{DAV:}getetag');
    });

    it('resolves the default namespace and inherits it to children', () => {
      const root = parseXml('<propfind xmlns="DAV:"><prop><getetag/></prop></propfind>');
      assert.equal(clarkOf(root), '{DAV:}propfind');
      assert.equal(clarkOf(elements(elements(root)[0]!)[0]!), '{DAV:}getetag');
    });

    it('xmlns="" puts an element (and its descendants) back into no namespace', () => {
      // RFC 4918 §23 / Namespaces in XML §6.2: an empty default namespace declaration undeclares it
      const root = parseXml('<prop xmlns="DAV:"><foo xmlns=""><bar/></foo><baz/></prop>');
      const [foo, baz] = elements(root);
      assert.equal(foo!.ns, '');
      assert.equal(foo!.local, 'foo');
      assert.equal(elements(foo!)[0]!.ns, '');
      assert.equal(baz!.ns, 'DAV:', 'the undeclaration is scoped to foo');
      assert.equal(clarkOf(foo!), '{}foo');
    });

    it('an element without any declaration is in no namespace', () => {
      const root = parseXml('<a/>');
      assert.equal(root.ns, '');
      assert.equal(root.local, 'a');
    });

    it('uses the namespace name, never the prefix (RFC 4918 §8.3: prefixes are not significant)', () => {
      const a = parseXml('<X:lockinfo xmlns:X="DAV:"><X:lockscope><X:exclusive/></X:lockscope></X:lockinfo>');
      const b = parseXml('<lockinfo xmlns="DAV:"><lockscope><exclusive/></lockscope></lockinfo>');
      assert.deepEqual(a, b);
    });

    it('a prefix can be redeclared for a subtree', () => {
      const root = parseXml('<p:a xmlns:p="urn:one"><p:b xmlns:p="urn:two"/><p:c/></p:a>');
      assert.deepEqual(
        elements(root).map(clarkOf),
        ['{urn:two}b', '{urn:one}c'],
      );
    });

    it('does not report namespace declarations as attributes', () => {
      const root = parseXml('<a xmlns="urn:x" xmlns:p="urn:p" plain="1" p:q="2"/>');
      assert.deepEqual([...root.attrs.entries()].sort(), [['plain', '1'], ['{urn:p}q', '2']]);
    });

    it('unprefixed attributes are in no namespace even under a default namespace', () => {
      const root = parseXml('<a xmlns="urn:x" b="1"/>');
      assert.equal(root.attrs.get('b'), '1');
      assert.equal(root.attrs.get('{urn:x}b'), undefined);
    });

    it('refuses an undeclared prefix', () => fails('<p:a/>'));
    it('refuses an undeclared attribute prefix', () => fails('<a p:b="1"/>'));
  });

  describe('XML 1.0 §2.12 xml:lang', () => {
    it('records xml:lang as an attribute in the XML namespace', () => {
      const root = parseXml('<a xml:lang="en"/>');
      assert.equal(root.attrs.get(XML_LANG), 'en');
      assert.equal(root.lang, 'en');
    });

    it('inherits xml:lang to descendants and lets them override it', () => {
      const root = parseXml('<a xml:lang="en"><b><c/></b><d xml:lang="de"><e/></d></a>');
      const [b, d] = elements(root);
      assert.equal(b!.lang, 'en');
      assert.equal(elements(b!)[0]!.lang, 'en');
      assert.equal(d!.lang, 'de');
      assert.equal(elements(d!)[0]!.lang, 'de');
      assert.equal(b!.attrs.has(XML_LANG), false, 'inherited, not declared');
    });

    it('xml:lang="" overrides an inherited language with "unknown"', () => {
      const root = parseXml('<a xml:lang="en"><b xml:lang=""><c/></b></a>');
      const b = elements(root)[0]!;
      assert.equal(b.lang, '');
      assert.equal(elements(b)[0]!.lang, '');
    });

    it('is undefined when no ancestor declares it', () => {
      assert.equal(parseXml('<a><b/></a>').lang, undefined);
    });
  });

  describe('text content', () => {
    it('keeps text, whitespace and mixed content in document order', () => {
      const root = parseXml('<a> x <b>y</b>z</a>');
      assert.equal(root.children.length, 3);
      assert.equal(root.children[0], ' x ');
      assert.equal(textOf(root), ' x yz');
      assert.equal(elements(root).length, 1);
    });

    it('expands the five predefined entities and character references (XML 1.0 §4.6, §4.1)', () => {
      assert.equal(textOf(parseXml('<a>&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#x1F600;</a>')), '&<>"\'AB😀');
    });

    it('returns CDATA content as text', () => {
      assert.equal(textOf(parseXml('<a><![CDATA[<b>&amp;</b>]]></a>')), '<b>&amp;</b>');
    });

    it('normalises CRLF line ends to LF (XML 1.0 §2.11)', () => {
      assert.equal(textOf(parseXml('<a>x\r\ny\rz</a>')), 'x\ny\nz');
    });

    it('expands entities in attribute values', () => {
      assert.equal(parseXml('<a b="&lt;&amp;&quot;"/>').attrs.get('b'), '<&"');
    });

    it('accepts an XML declaration, comments and processing instructions', () => {
      const root = parseXml('<?xml version="1.0" encoding="utf-8"?>\n<!-- c --><a><?pi x?><!-- d --><b/></a>\n');
      assert.equal(root.local, 'a');
      assert.deepEqual(elements(root).map((e) => e.local), ['b']);
    });
  });

  describe('helpers', () => {
    const root = parseXml('<D:a xmlns:D="DAV:" xmlns:C="urn:c">t<D:b/>u<C:b/><D:c>v<D:d>w</D:d></D:c></D:a>');

    it('elements drops text', () => {
      assert.deepEqual(elements(root).map(clarkOf), ['{DAV:}b', '{urn:c}b', '{DAV:}c']);
    });

    it('child finds the first child with that namespace and local name', () => {
      assert.equal(child(root, 'urn:c', 'b')?.ns, 'urn:c');
      assert.equal(child(root, 'DAV:', 'd'), undefined, 'only direct children');
      assert.equal(child(root, 'urn:other', 'b'), undefined);
    });

    it('is compares namespace and local name', () => {
      assert.equal(is(root, 'DAV:', 'a'), true);
      assert.equal(is(root, '', 'a'), false);
      assert.equal(is(root, 'DAV:', 'A'), false, 'names are case-sensitive');
    });

    it('textOf concatenates all descendant text', () => {
      assert.equal(textOf(root), 'tuvw');
    });
  });

  describe('security: no DTD, no entity declarations', () => {
    it('refuses a DOCTYPE', () => {
      fails('<!DOCTYPE a><a/>', /DOCTYPE/);
      fails('<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>', /DOCTYPE/);
    });

    it('refuses an internal entity declaration', () => {
      fails('<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', /DOCTYPE/);
    });

    it('refuses "billion laughs" (nested entity expansion)', () => {
      const lol =
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
        Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
        ']><lolz>&lol9;</lolz>';
      fails(lol, /DOCTYPE/);
    });

    it('refuses an external entity (XXE)', () => {
      fails('<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>');
    });

    it('refuses an undefined entity', () => {
      fails('<a>&undefined;</a>', /entity/i);
      fails('<a b="&nope;"/>');
    });
  });

  describe('depth limit', () => {
    const nested = (n: number) => '<a>'.repeat(n) + '</a>'.repeat(n);

    it('accepts exactly maxDepth levels', () => {
      let e: XmlElement | undefined = parseXml(nested(3), { maxDepth: 3 });
      let depth = 0;
      while (e) {
        depth++;
        e = elements(e)[0];
      }
      assert.equal(depth, 3);
    });

    it('refuses maxDepth + 1 levels', () => fails(nested(4), /deeper than 3/, 3));

    it('defaults to 64', () => {
      assert.doesNotThrow(() => parseXml(nested(64)));
      fails(nested(65), /deeper than 64/);
    });

    it('refuses deep nesting even when the document is otherwise broken later', () => {
      fails(nested(100).slice(0, -4), /deeper/, 10);
    });
  });

  describe('malformed XML → XmlParseError', () => {
    for (const bad of [
      '',
      '   ',
      'not xml',
      '<a>',
      '<a></b>',
      '<a><b></a></b>',
      '<a/><b/>',
      '<a/>trailing',
      '<a b="1" b="2"/>',
      '<a b=1/>',
      '<a>&</a>',
      '<a><</a>',
      '<1a/>',
      '<a>&#0;</a>',
      '<a>]]></a>',
    ]) {
      it(JSON.stringify(bad), () => fails(bad));
    }
  });
});

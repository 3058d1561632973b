import assert from 'node:assert/strict';
import { serialize, serializeFragment, elementToXml, el, elA, escapeText, escapeAttr, RawXml } from '../../lib/dav/xml/write.js';
import { parseXml, elements, type XmlElement } from '../../lib/dav/xml/parse.js';
import { NS } from '../../lib/dav/xml/names.js';

const XML_LANG = `{${NS.XML}}lang`;

/**
 * Structural comparison of parsed trees: attribute maps as sorted entries, adjacent text nodes merged
 * (a CDATA section next to text is the same character data once written as escaped text).
 */
function plain(e: XmlElement): unknown {
  const children: unknown[] = [];
  for (const c of e.children) {
    if (typeof c === 'string' && typeof children[children.length - 1] === 'string') children[children.length - 1] += c;
    else children.push(typeof c === 'string' ? c : plain(c));
  }
  return { ns: e.ns, local: e.local, lang: e.lang, attrs: [...e.attrs.entries()].sort(), children };
}

function roundTrip(xml: string): void {
  const e = parseXml(xml);
  const out = elementToXml(e);
  assert.deepEqual(plain(parseXml(out)), plain(e), `round trip of ${xml}\nvia ${out}`);
}

describe('XML output: xml/write', () => {
  describe('XML 1.0 §2.4 escaping', () => {
    it('escapeText escapes &, < and >', () => {
      assert.equal(escapeText('a & b < c > d'), 'a &amp; b &lt; c &gt; d');
      assert.equal(escapeText('&amp;'), '&amp;amp;', 'already-escaped text is escaped again');
      assert.equal(escapeText(']]>'), ']]&gt;');
      assert.equal(escapeText('"quotes\' stay'), '"quotes\' stay');
    });

    it('escapeText protects a carriage return from end-of-line normalisation (XML 1.0 §2.11)', () => {
      assert.equal(escapeText('a\rb'), 'a&#13;b');
      assert.equal(escapeText('a\r\nb'), 'a&#13;\nb');
    });

    it('escapeAttr also escapes double quotes and whitespace that §3.3.3 would normalise', () => {
      assert.equal(escapeAttr('a"b<c>&d'), 'a&quot;b&lt;c&gt;&amp;d');
      assert.equal(escapeAttr('x\ty\nz\rw'), 'x&#9;y&#10;z&#13;w');
      assert.equal(escapeAttr("it's"), "it's");
    });

    it('escaped text survives a parse unchanged', () => {
      const s = 'a & b < c > d "e" \'f\' ]]> &amp; \r\n\t end';
      const doc = parseXml(`<a x="${escapeAttr(s)}">${escapeText(s)}</a>`);
      assert.equal(doc.children[0], s);
      assert.equal(doc.attrs.get('x'), s);
    });
  });

  describe('serialize', () => {
    it('writes an XML declaration and declares the DAV: prefix on the root', () => {
      const out = serialize(el('{DAV:}multistatus', el('{DAV:}response', el('{DAV:}href', '/a'))));
      assert.equal(
        out,
        '<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:"><D:response><D:href>/a</D:href></D:response></D:multistatus>',
      );
    });

    it('writes empty elements self-closed', () => {
      assert.match(serialize(el('{DAV:}prop')), /<D:prop xmlns:D="DAV:"\/>$/);
    });

    it('declares a custom namespace on the element that first uses it, scoped to that subtree', () => {
      const out = serialize(el('{DAV:}prop', el('{urn:x}a', el('{urn:x}b')), el('{urn:x}c')));
      const doc = parseXml(out);
      const [a, c] = elements(doc);
      assert.equal(a!.ns, 'urn:x');
      assert.equal(elements(a!)[0]!.ns, 'urn:x');
      assert.equal(c!.ns, 'urn:x');
      // declared on a and again on its sibling c (a's declaration is not in scope there), not on b
      assert.equal((out.match(/xmlns:[^=]+="urn:x"/g) ?? []).length, 2);
    });

    it('uses distinct prefixes for distinct namespaces on one element', () => {
      const out = serialize(elA('{urn:one}a', { '{urn:two}at': 'v', '{urn:three}at': 'w' }));
      const doc = parseXml(out);
      assert.equal(doc.ns, 'urn:one');
      assert.equal(doc.attrs.get('{urn:two}at'), 'v');
      assert.equal(doc.attrs.get('{urn:three}at'), 'w');
    });

    it('never reuses a prefix already bound in scope', () => {
      // the first generated prefix would be x1 (x + scope size), which the caller already bound
      const out = serialize(el('{urn:a}a', el('{urn:b}b', el('{urn:c}c', el('{urn:a}a2'), el('{urn:pre}p')))), { 'urn:pre': 'x1' });
      const doc = parseXml(out);
      const b = elements(doc)[0]!;
      const c = elements(b)[0]!;
      assert.deepEqual(
        [doc.ns, b.ns, c.ns, ...elements(c).map((e) => e.ns)],
        ['urn:a', 'urn:b', 'urn:c', 'urn:a', 'urn:pre'],
      );
    });

    it('writes names without a namespace unprefixed and in no namespace', () => {
      const doc = parseXml(serialize(el('{DAV:}prop', el('plain'))));
      assert.equal(elements(doc)[0]!.ns, '');
      assert.equal(elements(doc)[0]!.local, 'plain');
    });

    it('writes xml:lang with the reserved xml prefix, never declaring it', () => {
      const out = serialize(elA('{DAV:}prop', { [XML_LANG]: 'fr' }));
      assert.match(out, / xml:lang="fr"/);
      assert.doesNotMatch(out, /xmlns:xml/);
      assert.equal(parseXml(out).lang, 'fr');
    });

    it('quotes and escapes attribute values', () => {
      const out = serialize(elA('{DAV:}a', { q: 'say "hi" & <bye>\n' }));
      assert.match(out, / q="say &quot;hi&quot; &amp; &lt;bye&gt;&#10;"/);
      assert.equal(parseXml(out).attrs.get('q'), 'say "hi" & <bye>\n');
    });

    it('escapes text children', () => {
      const out = serialize(el('{DAV:}displayname', 'a<b>&c'));
      assert.match(out, />a&lt;b&gt;&amp;c</);
    });

    it('inserts RawXml verbatim', () => {
      const out = serialize(el('{DAV:}prop', new RawXml('<x:y xmlns:x="urn:y">&amp;</x:y>')));
      assert.match(out, /<D:prop xmlns:D="DAV:"><x:y xmlns:x="urn:y">&amp;<\/x:y><\/D:prop>$/);
    });

    it('el drops undefined and false children', () => {
      assert.deepEqual(el('{DAV:}a', undefined, 'x', false, el('{DAV:}b')).children, ['x', { name: '{DAV:}b', children: [] }]);
    });
  });

  describe('serializeFragment', () => {
    it('assumes the well-known prefixes are declared', () => {
      assert.equal(serializeFragment(el('{DAV:}href', '/a b')), '<D:href>/a b</D:href>');
    });

    it('still declares unknown namespaces', () => {
      const out = serializeFragment(el('{urn:z}q'));
      assert.equal(parseXml(out).ns, 'urn:z');
    });

    it('escapes a bare text node', () => {
      assert.equal(serializeFragment('1 < 2'), '1 &lt; 2');
    });
  });

  describe('elementToXml: parse(elementToXml(e)) reproduces e', () => {
    const docs = [
      '<a/>',
      '<D:prop xmlns:D="DAV:"><D:displayname>x</D:displayname></D:prop>',
      '<prop xmlns="DAV:"><getetag/><x xmlns="urn:x">text</x></prop>',
      '<prop xmlns="DAV:"><foo xmlns=""><bar/></foo><baz/></prop>',
      '<p:a xmlns:p="urn:p" xmlns:q="urn:q" p:at="1" q:at="2" at="3"><q:b/></p:a>',
      '<a xml:lang="en"><b xml:lang="de">x</b><c>y</c><d xml:lang="">z</d></a>',
      '<a>&amp; &lt; &gt; " \' ]]&gt; &#13; tail</a>',
      '<a x="&quot;&amp;&lt;&#9;&#10;&#13;"/>',
      '<a>  \n mixed <b>content</b> with <![CDATA[<cdata>]]> and   spaces  </a>',
      '<a><b><c><d><e xmlns="urn:deep">deep</e></d></c></b></a>',
      '<x0:a xmlns:x0="urn:one"><x1:b xmlns:x1="urn:two"><x0:c/></x1:b></x0:a>',
      '<N:prop xmlns:N="http://example.com/ns/"><N:author><N:Name>Jane Doe</N:Name></N:author></N:prop>',
      '<a>😀 café 日本</a>',
    ];
    for (const xml of docs) it(xml, () => roundTrip(xml));

    it('writes xml:lang inherited from outside the element on its root by default', () => {
      const outer = parseXml('<a xml:lang="en"><b><c/></b></a>');
      const b = elements(outer)[0]!;
      const out = elementToXml(b);
      assert.match(out, /^<b xml:lang="en">/);
      assert.equal(parseXml(out).lang, 'en');
      assert.equal(elements(parseXml(out))[0]!.lang, 'en');
    });

    it('omits the inherited xml:lang with withLang = false', () => {
      const b = elements(parseXml('<a xml:lang="en"><b><c/></b></a>'))[0]!;
      const out = elementToXml(b, false);
      assert.doesNotMatch(out, /xml:lang/);
      assert.equal(parseXml(out).lang, undefined);
    });

    it('declares every namespace the fragment uses, even those declared on an ancestor in the source', () => {
      const outer = parseXml('<D:a xmlns:D="DAV:" xmlns:Z="urn:z"><Z:b Z:at="v"><D:c/></Z:b></D:a>');
      const out = elementToXml(elements(outer)[0]!);
      const doc = parseXml(out); // would throw on an undeclared prefix
      assert.equal(doc.ns, 'urn:z');
      assert.equal(doc.attrs.get('{urn:z}at'), 'v');
      assert.equal(elements(doc)[0]!.ns, 'DAV:');
    });

    it('keeps a no-namespace child of a default-namespace parent in no namespace', () => {
      const e = parseXml('<a xmlns="urn:x"><b xmlns=""/></a>');
      const doc = parseXml(elementToXml(e));
      assert.equal(doc.ns, 'urn:x');
      assert.equal(elements(doc)[0]!.ns, '');
    });
  });
});

/**
 * XML output. Responses are built as small trees and serialised here, never by string concatenation
 * in handlers. Well-known namespaces get the prefixes of names.ts declared on the root; any other
 * namespace is declared on the element that first needs it.
 */
import type { XmlElement } from './parse.js';
import { NS, PREFIXES, splitClark } from './names.js';

export type OutNode = OutElement | string | RawXml;

export interface OutElement {
  name: string; // Clark name
  attrs?: Record<string, string>; // Clark or plain names
  children?: OutNode[];
}

/** Pre-serialised, self-contained XML (a stored dead property). */
export class RawXml {
  constructor(readonly xml: string) {}
}

export function el(name: string, ...children: (OutNode | undefined | false)[]): OutElement {
  return { name, children: children.filter((c): c is OutNode => c !== undefined && c !== false) };
}

export function elA(name: string, attrs: Record<string, string>, ...children: OutNode[]): OutElement {
  return { name, attrs, children };
}

const TEXT_SPECIAL = /[&<>\r]/;

export function escapeText(s: string): string {
  // CR as a reference: a literal one would be turned into LF by the parser (XML 1.0 §2.11).
  if (!TEXT_SPECIAL.test(s)) return s; // most text (ids, sizes, dates) has nothing to escape
  return s.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

export function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;').replace(/\r/g, '&#13;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

/** Namespaces in force while writing: ns → prefix, plus the default namespace. */
interface Scope {
  prefixes: Map<string, string>;
  defaultNs: string;
}

/** Serialises with a root declaring the well-known prefixes. */
export function serialize(root: OutElement, declare: Record<string, string> = PREFIXES): string {
  const rootDecls = Object.entries(declare)
    .map(([ns, p]) => ` xmlns:${p}="${escapeAttr(ns)}"`)
    .join('');
  return '<?xml version="1.0" encoding="utf-8"?>\n' + write(root, { prefixes: new Map(Object.entries(declare)), defaultNs: '' }, rootDecls, false);
}

/** Serialises a fragment in a scope where the well-known prefixes are already declared. */
export function serializeFragment(node: OutNode, declare: Record<string, string> = PREFIXES): string {
  return write(node, { prefixes: new Map(Object.entries(declare)), defaultNs: '' }, '', false);
}

function write(node: OutNode, scope: Scope, extraDecls: string, ownNsAsDefault: boolean): string {
  if (typeof node === 'string') return escapeText(node);
  if (node instanceof RawXml) return node.xml;
  let decls = extraDecls;
  // Copy-on-write: most elements declare nothing and share their parent's map.
  let prefixes = scope.prefixes;
  let ownPrefixes = false;
  let defaultNs = scope.defaultNs;
  const { ns, local: name } = splitClark(node.name);
  let tag: string;
  if (ns === defaultNs) {
    tag = name;
  } else if (ns === '' || ownNsAsDefault) {
    // No namespace (or a self-contained fragment's own): make it the default namespace here.
    decls += ` xmlns="${escapeAttr(ns)}"`;
    defaultNs = ns;
    tag = name;
  } else {
    tag = `${prefixFor(ns)}:${name}`;
  }
  let attrs = '';
  for (const [k, v] of Object.entries(node.attrs ?? {})) {
    const a = splitClark(k);
    const qn = !a.ns ? a.local : a.ns === NS.XML ? `xml:${a.local}` : `${prefixFor(a.ns)}:${a.local}`;
    attrs += ` ${qn}="${escapeAttr(v)}"`;
  }
  const kids = node.children ?? [];
  if (kids.length === 0) return `<${tag}${decls}${attrs}/>`;
  const inner: Scope = { prefixes, defaultNs };
  return `<${tag}${decls}${attrs}>${kids.map((k) => write(k, inner, '', false)).join('')}</${tag}>`;

  function prefixFor(uri: string): string {
    let prefix = prefixes.get(uri);
    if (prefix === undefined) {
      if (!ownPrefixes) {
        prefixes = new Map(prefixes);
        ownPrefixes = true;
      }
      const taken = new Set(prefixes.values());
      let i = prefixes.size;
      while (taken.has(`x${i}`)) i++;
      prefix = `x${i}`;
      prefixes.set(uri, prefix);
      decls += ` xmlns:${prefix}="${escapeAttr(uri)}"`;
    }
    return prefix;
  }
}

/**
 * A parsed element as a self-contained XML string: its own namespace is the default one and every
 * other namespace it uses is declared on it, so it can be stored and embedded anywhere.
 */
export function elementToXml(e: XmlElement, withLang = true): string {
  return write(outElement(e, withLang ? e.lang : undefined), { prefixes: new Map(), defaultNs: '' }, '', true);
}

/** A parsed element as an output element (xml:lang kept where it changes). */
export function outElement(e: XmlElement, lang?: string): OutElement {
  const attrs: Record<string, string> = {};
  for (const [k, v] of e.attrs) attrs[k] = v;
  if (lang !== undefined) attrs[`{${NS.XML}}lang`] = lang;
  const name = e.ns ? `{${e.ns}}${e.local}` : e.local;
  const children = e.children.map((c) => (typeof c === 'string' ? c : outElement(c, c.lang !== e.lang ? c.lang : undefined)));
  return { name, attrs, children };
}

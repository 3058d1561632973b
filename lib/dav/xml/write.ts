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

export function escapeText(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

export function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;').replace(/\r/g, '&#13;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

type Scope = Map<string, string>; // ns → prefix

/** Serialises with a root declaring the well-known prefixes. */
export function serialize(root: OutElement, declare: Record<string, string> = PREFIXES): string {
  const scope: Scope = new Map(Object.entries(declare));
  const rootDecls = Object.entries(declare)
    .map(([ns, p]) => ` xmlns:${p}="${escapeAttr(ns)}"`)
    .join('');
  return '<?xml version="1.0" encoding="utf-8"?>\n' + write(root, scope, rootDecls);
}

/** Serialises a fragment in a scope where the well-known prefixes are already declared. */
export function serializeFragment(node: OutNode, declare: Record<string, string> = PREFIXES): string {
  return write(node, new Map(Object.entries(declare)), '');
}

function write(node: OutNode, scope: Scope, extraDecls: string): string {
  if (typeof node === 'string') return escapeText(node);
  if (node instanceof RawXml) return node.xml;
  let decls = extraDecls;
  let local = scope;
  const qname = (clarkName: string, isAttr: boolean): string => {
    const { ns, local: name } = splitClark(clarkName);
    if (!ns) return name;
    if (ns === NS.XML) return `xml:${name}`;
    let prefix = local.get(ns);
    if (prefix === undefined) {
      if (local === scope) local = new Map(scope);
      prefix = `x${local.size}`;
      while ([...local.values()].includes(prefix)) prefix += '_';
      local.set(ns, prefix);
      decls += ` xmlns:${prefix}="${escapeAttr(ns)}"`;
    }
    return isAttr || prefix ? `${prefix}:${name}` : name;
  };
  const tag = qname(node.name, false);
  let attrs = '';
  for (const [k, v] of Object.entries(node.attrs ?? {})) attrs += ` ${qname(k, true)}="${escapeAttr(v)}"`;
  const kids = node.children ?? [];
  if (kids.length === 0) return `<${tag}${decls}${attrs}/>`;
  return `<${tag}${decls}${attrs}>${kids.map((k) => write(k, local, '')).join('')}</${tag}>`;
}

/** A parsed element as a self-contained XML string (every namespace it uses declared on it). */
export function elementToXml(e: XmlElement, withLang = true): string {
  return write(toOut(e, withLang ? e.lang : undefined), new Map(), '');
}

function toOut(e: XmlElement, lang?: string): OutElement {
  const attrs: Record<string, string> = {};
  for (const [k, v] of e.attrs) attrs[k] = v;
  if (lang !== undefined) attrs[`{${NS.XML}}lang`] = lang;
  const name = e.ns ? `{${e.ns}}${e.local}` : e.local;
  const children = e.children.map((c) => (typeof c === 'string' ? c : toOut(c, c.lang !== e.lang ? c.lang : undefined)));
  return { name, attrs, children };
}

/**
 * XML request bodies → a small element tree, namespace-correct (saxes). No DTD is accepted, so no
 * entity can be declared or expanded; depth and size are bounded by the caller's limits.
 */
import { requireCjs } from '../../../backends/util/require-cjs.js';
import { clark, NS } from './names.js';

/** Not `import`: a CommonJS package (backends/util/require-cjs.ts). */
const { SaxesParser } = requireCjs('saxes') as typeof import('saxes');

export interface XmlElement {
  ns: string;
  local: string;
  /** Clark name → value, for every attribute except namespace declarations. */
  attrs: Map<string, string>;
  children: XmlNode[];
  /** The xml:lang in force on this element (own or inherited). */
  lang?: string;
}

export type XmlNode = XmlElement | string;

export class XmlParseError extends Error {
  override name = 'XmlParseError';
}

export interface ParseLimits {
  maxDepth: number;
}

export function parseXml(text: string, limits: ParseLimits = { maxDepth: 64 }): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let failure: Error | undefined;

  parser.on('error', (err) => {
    failure ??= new XmlParseError(err.message);
  });
  // Limits stop the parse at once (a throw leaves saxes' write()): parsing the rest of a 10,000-deep
  // document only to refuse it costs O(depth²) in saxes' namespace bookkeeping.
  parser.on('doctype', () => {
    failure ??= new XmlParseError('DOCTYPE declarations are not accepted');
    throw failure;
  });
  parser.on('opentag', (tag) => {
    if (failure) return;
    if (stack.length >= limits.maxDepth) {
      failure = new XmlParseError(`XML nesting deeper than ${limits.maxDepth}`);
      throw failure;
    }
    const parent = stack[stack.length - 1];
    const attrs = new Map<string, string>();
    for (const a of Object.values(tag.attributes)) {
      if (typeof a === 'string') continue;
      if (a.prefix === 'xmlns' || (a.prefix === '' && a.local === 'xmlns')) continue;
      attrs.set(a.uri ? clark(a.uri, a.local) : a.local, a.value);
    }
    const el: XmlElement = {
      ns: tag.uri ?? '',
      local: tag.local ?? tag.name,
      attrs,
      children: [],
      lang: attrs.get(clark(NS.XML, 'lang')) ?? parent?.lang,
    };
    if (parent) parent.children.push(el);
    else root = el;
    stack.push(el);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  const onText = (t: string) => {
    const top = stack[stack.length - 1];
    if (top && !failure) top.children.push(t);
  };
  parser.on('text', onText);
  parser.on('cdata', onText);

  try {
    parser.write(text).close();
  } catch (err) {
    failure ??= new XmlParseError((err as Error).message);
  }
  if (failure) throw failure;
  if (!root) throw new XmlParseError('no root element');
  return root;
}

/** Child elements (text and whitespace dropped). */
export function elements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string');
}

export function child(el: XmlElement, ns: string, local: string): XmlElement | undefined {
  return elements(el).find((c) => c.ns === ns && c.local === local);
}

export function is(el: XmlElement, ns: string, local: string): boolean {
  return el.ns === ns && el.local === local;
}

export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}

export function clarkOf(el: XmlElement): string {
  return clark(el.ns, el.local);
}

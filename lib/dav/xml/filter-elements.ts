/**
 * What CalDAV's and CardDAV's filter readers (CALDAV:filter, CARDDAV:filter) share: the bound on a
 * filter's size, checked before anything is read (its evaluation costs its size for every stored
 * object), and the walk over an element's children in the reader's own namespace (an unknown one is
 * refused, other namespaces skipped, as RFC 4918 §17 asks of unknown XML). Each reader passes its
 * own error: the two protocols name their preconditions differently.
 */
import { elements, type XmlElement } from './parse.js';

export type Refusal = (message: string) => Error;

export interface FilterSize {
  /** Most elements (of any namespace) below the filter element (limits.maxFilterElements). */
  maxElements: number;
  /** Deepest nesting below it (a reader that recurses per level bounds its stack here); none: unbounded. */
  maxDepth?: number;
}

export function checkFilterSize(filter: XmlElement, { maxElements, maxDepth = Infinity }: FilterSize, refuse: Refusal): void {
  let count = 0;
  const pending: Array<[XmlElement, number]> = [[filter, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [el, depth] = next;
    if (depth > maxDepth) throw refuse(`a filter nested deeper than ${maxDepth} levels is not supported`);
    for (const c of elements(el)) {
      if (++count > maxElements) throw refuse(`a filter of more than ${maxElements} elements is not supported (limits.maxFilterElements)`);
      pending.push([c, depth + 1]);
    }
  }
}

/** The namespace a filter reader owns and the prefix its messages name it by (`CALDAV`, `CARDDAV`). */
export interface FilterNamespace {
  ns: string;
  prefix: string;
}

/** `el`'s children in the reader's namespace; one it does not know is refused, other namespaces skipped. */
export function ownElements(el: XmlElement, { ns, prefix }: FilterNamespace, allowed: readonly string[], refuse: Refusal): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of elements(el)) {
    if (c.ns !== ns) continue;
    if (!allowed.includes(c.local)) throw refuse(`${prefix}:${c.local} is not supported inside ${prefix}:${el.local}`);
    out.push(c);
  }
  return out;
}

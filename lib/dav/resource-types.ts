/**
 * Collections with a type beyond DAV:collection (a CalDAV calendar, a principal) are ordinary stored
 * collections marked by an internal dead property, `{urn:x-gitdav:}resourcetype`, whose children are
 * the extra types. Internal properties (namespace urn:x-gitdav:) are never listed or patchable.
 */
import type { PropertyMap, PropPatch } from '../../backends/backend.js';
import type { Resource } from './properties/registry.js';
import { elements, parseXml, clarkOf, type XmlElement } from './xml/parse.js';
import { elementToXml, RawXml, serializeFragment, el, type OutNode } from './xml/write.js';
import { clark, NS } from './xml/names.js';

export const STORED_TYPE = clark(NS.GITDAV, 'resourcetype');

export function isInternal(name: string): boolean {
  return name.startsWith(`{${NS.GITDAV}}`);
}

/** The patch that marks a new collection with extra types (Clark names). */
export function typePatch(types: string[]): PropPatch {
  return { op: 'set', name: STORED_TYPE, value: serializeFragment(el(STORED_TYPE, ...types.map((t) => el(t))), {}) };
}

const parsed = new Map<string, XmlElement[]>();

function storedTypes(xml: string): XmlElement[] {
  let types = parsed.get(xml);
  if (!types) {
    types = elements(parseXml(xml));
    if (parsed.size > 1000) parsed.clear();
    parsed.set(xml, types);
  }
  return types;
}

/** The extra resource types of a collection, as nodes for DAV:resourcetype. */
export async function extraTypes(res: Resource): Promise<OutNode[]> {
  if (!res.isCollection) return [];
  const stored = (await res.deadProps()).get(STORED_TYPE);
  return stored ? storedTypes(stored).map((t) => new RawXml(elementToXml(t, false))) : [];
}

export async function hasType(res: Resource, type: string): Promise<boolean> {
  if (!res.isCollection) return false;
  return propsHaveType(await res.deadProps(), type);
}

/** Whether a collection's dead properties, already read, mark it with a type. */
export function propsHaveType(props: PropertyMap, type: string): boolean {
  const stored = props.get(STORED_TYPE);
  return !!stored && storedTypes(stored).some((t) => clarkOf(t) === type);
}

/**
 * Properties of the files of one listing (PROPFIND allprop asks for every member's): the folder's
 * `.davprops` from the listing's own tree, read once on first use, and the volatile properties read
 * once for the whole listing — instead of, per member, the branch ref, the tree walk, the sidecar
 * blob and a stat of the volatile file.
 */
import { baseName, type Entry, type PropertyMap } from '../backend.js';
import { propsOf, type Sidecar } from '../sidecar.js';
import type { ObjectStore } from './objects.js';
import { readSidecar } from './sidecars.js';
import type { TreeEditor } from './tree.js';
import type { VolatileProps } from './volatile-props.js';

export function listedProps(store: ObjectStore, editor: TreeEditor, dir: string, volatile: VolatileProps): (file: string) => Promise<PropertyMap> {
  let sidecar: Promise<Sidecar> | undefined;
  let snapshot: ((path: string) => PropertyMap) | undefined;
  return async (file) => {
    const all = await (sidecar ??= readSidecar(store, editor, dir));
    // Most members have no stored properties: an empty map, without propsOf's copy of nothing.
    const stored = Object.hasOwn(all, baseName(file)) ? propsOf(all, baseName(file)) : new Map<string, string>();
    for (const [k, v] of (snapshot ??= volatile.snapshot())(file)) stored.set(k, v);
    return stored;
  };
}

type PropsOfFile = (file: string) => Promise<PropertyMap>;
const LISTED = Symbol('listed props');

/**
 * Ties a listed file to its listing's properties (GitBackend.props(path, entry) reads them from
 * there). A non-enumerable property, so a copy of the entry (`{...entry}`) does not carry it: only
 * the very object the listing made is trusted, as with the WeakMap this replaces, whose table grew to
 * 100,000 slots (4 MB) for one listing and kept that size after.
 */
export function markListed(entry: Entry, props: PropsOfFile): void {
  Object.defineProperty(entry, LISTED, { value: props });
}

export function listedBy(entry: Entry): PropsOfFile | undefined {
  return (entry as Entry & { [LISTED]?: PropsOfFile })[LISTED];
}

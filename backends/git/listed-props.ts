/**
 * Properties of the files of one listing (PROPFIND allprop asks for every member's): the folder's
 * `.davprops` from the listing's own tree, read once on first use, and the volatile properties read
 * once for the whole listing — instead of, per member, the branch ref, the tree walk, the sidecar
 * blob and a stat of the volatile file.
 */
import { baseName, type PropertyMap } from '../backend.js';
import { propsOf, type Sidecar } from '../sidecar.js';
import type { ObjectStore } from './objects.js';
import { readSidecar } from './sidecars.js';
import type { TreeEditor } from './tree.js';
import type { VolatileProps } from './volatile-props.js';

export function listedProps(store: ObjectStore, editor: TreeEditor, dir: string, volatile: VolatileProps): (file: string) => Promise<PropertyMap> {
  let sidecar: Promise<Sidecar> | undefined;
  let snapshot: ((path: string) => PropertyMap) | undefined;
  return async (file) => {
    const stored = propsOf(await (sidecar ??= readSidecar(store, editor, dir)), baseName(file));
    for (const [k, v] of (snapshot ??= volatile.snapshot())(file)) stored.set(k, v);
    return stored;
  };
}

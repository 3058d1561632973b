/**
 * A backend whose resources are trees and blobs of a repository's object store (git's history): a
 * backend writing into the same store can take them by id, in one commit, instead of resource by
 * resource (the live tree's `copyFrom`: restoring from history).
 */
import type { PropertyMap } from '../backend.js';
import type { ObjectStore } from './objects.js';
import type { Slot } from './tree.js';

export interface TreeSource {
  readonly store: ObjectStore;
  /**
   * What a path names, ready to place elsewhere in a tree (`depth` 0: a folder with only its own
   * properties), with a file's properties and a label for the change's summary (a short commit id).
   */
  treeOf(path: string, depth: 0 | 'infinity'): Promise<{ slot: Slot; fileProps: PropertyMap | null; label: string } | null>;
}

export function isTreeSource(backend: object): backend is TreeSource {
  return 'store' in backend && typeof (backend as Partial<TreeSource>).treeOf === 'function';
}

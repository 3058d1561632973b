/**
 * A folder made of chosen paths of a tree (deleted/: what a commit removed below a folder), for a
 * COPY out of history: each path placed by id at its place below the new folder, the folders on
 * the way made new, and the removed files' properties carried into those folders' sidecars.
 */
import { baseName, joinPath, parentOf, type PropertyMap } from '../../backend.js';
import { SIDECAR, propsOf, serializeSidecar, withProps, type Sidecar } from '../../sidecar.js';
import type { ObjectStore } from '../objects.js';
import { readSidecar } from '../sidecars.js';
import { isListable, type DirSlot, type Slot, type TreeEditor } from '../tree.js';

/** `paths` (relative to `root`, none inside another) of `editor`'s tree, gathered in one new folder. */
export async function gathered(store: ObjectStore, editor: TreeEditor, root: string, paths: readonly string[]): Promise<DirSlot> {
  const top = new Map<string, Slot>();
  /** Folders made on the way, by their path relative to the new folder ('' is the folder itself). */
  const made = new Map<string, Map<string, Slot>>([['', top]]);
  const props = new Map<string, Sidecar>();
  for (const rel of paths) {
    const full = joinPath(root, rel);
    const slot = await editor.get(full);
    if (!slot || !isListable(slot)) continue;
    const segs = rel.split('/');
    let dir = '';
    let entries = top;
    for (const seg of segs.slice(0, -1)) {
      dir = dir ? `${dir}/${seg}` : seg;
      let next = made.get(dir);
      if (!next) {
        next = new Map();
        made.set(dir, next);
        entries.set(seg, { kind: 'dir', entries: next });
      }
      entries = next;
    }
    entries.set(segs[segs.length - 1]!, slot);
    if (slot.kind === 'file') {
      // A file's properties live in its folder's sidecar: the new folder on the way gets them.
      const own: PropertyMap = propsOf(await readSidecar(store, editor, parentOf(full)), baseName(full));
      if (own.size > 0) props.set(dir, withProps(props.get(dir) ?? {}, baseName(full), own));
    }
  }
  for (const [dir, sidecar] of props) {
    const oid = await store.writeBuffer('blob', Buffer.from(serializeSidecar(sidecar)));
    made.get(dir)!.set(SIDECAR, { kind: 'file', mode: '100644', oid });
  }
  return { kind: 'dir', entries: top };
}

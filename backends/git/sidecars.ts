/**
 * The `.davprops` sidecars (../sidecar.ts) as they are kept in git trees: read from and written into a
 * tree editor's state. Shared by the live tree, its sync and the history backend.
 */
import { baseName, joinPath, parentOf, type PropertyMap } from '../backend.js';
import { parseSidecar, propsOf, SELF, serializeSidecar, SIDECAR, withProps, type Sidecar } from '../sidecar.js';
import type { ObjectStore } from './objects.js';
import type { Slot, TreeEditor } from './tree.js';
import { Lru } from '../util/lru.js';
import { cacheCounts } from '../util/stats.js';

/**
 * Parsed sidecars by blob id, for the whole process. A blob id names one content, so an entry can never
 * be stale (a changed sidecar is another blob); kept frozen, since every caller shares it. Each
 * REPORT on a calendar asks its parent folder's sidecar (the calendar's resourcetype) and each
 * PROPFIND of a member a folder's: without this, every one read and inflated the blob again.
 * Bounded by bytes (twice the text, plus the objects); sidecars over SIDECAR_CACHE_MAX are not kept.
 */
const SIDECAR_CACHE_BYTES = 4 * 1024 * 1024;
const SIDECAR_CACHE_MAX = 256 * 1024;
const parsedSidecars = new Lru<{ sidecar: Sidecar; bytes: number }>(SIDECAR_CACHE_BYTES, (e) => e.bytes, cacheCounts('git_sidecars'));

export async function readSidecar(store: ObjectStore, editor: TreeEditor, dir: string): Promise<Sidecar> {
  const slot = await editor.get(joinPath(dir, SIDECAR));
  if (!slot || slot.kind !== 'file') return {};
  const kept = parsedSidecars.get(slot.oid);
  if (kept) return kept.sidecar;
  const chunks: Buffer[] = [];
  for await (const c of await store.readBlob(slot.oid)) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  let sidecar: Sidecar;
  try {
    sidecar = frozen(parseSidecar(text));
  } catch {
    return {}; // a sidecar broken by hand loses its properties, not the folder
  }
  if (text.length <= SIDECAR_CACHE_MAX) parsedSidecars.set(slot.oid, { sidecar, bytes: 3 * text.length + 200 });
  return sidecar;
}

function frozen(sidecar: Sidecar): Sidecar {
  for (const props of Object.values(sidecar)) Object.freeze(props);
  return Object.freeze(sidecar);
}

/** Replaces one key's properties in a folder's sidecar (an empty map removes the key). */
export async function setProps(store: ObjectStore, editor: TreeEditor, dir: string, key: string, props: PropertyMap): Promise<void> {
  const sidecar = await readSidecar(store, editor, dir);
  if (props.size === 0 && !(key in sidecar)) return;
  const oid = await store.writeBuffer('blob', Buffer.from(serializeSidecar(withProps(sidecar, key, props))));
  await editor.set(joinPath(dir, SIDECAR), { kind: 'file', mode: '100644', oid });
}

/** Where a resource's properties are kept: a folder's in its own sidecar, a file's in its parent's. */
export function propsKey(path: string, slot: Slot): [string, string] {
  return slot.kind === 'dir' ? [path, SELF] : [parentOf(path), baseName(path)];
}

/** A folder with only its own properties (COPY with Depth: 0). */
export async function shallowDir(store: ObjectStore, editor: TreeEditor, path: string): Promise<Slot> {
  const own = propsOf(await readSidecar(store, editor, path), SELF);
  const sidecarOid = await store.writeBuffer('blob', Buffer.from(serializeSidecar(withProps({}, SELF, own))));
  return { kind: 'dir', entries: new Map([[SIDECAR, { kind: 'file', mode: '100644', oid: sidecarOid }]]) };
}

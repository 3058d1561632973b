/**
 * What a burst did, path by path, for its commit message (./messages.ts): every path an effect of the
 * burst's records touched, compared between the tree the burst is applied to (`before`) and the result
 * (`after`). Only the net shows: a temp file created and removed within the burst (sed's `sedP6i6w3`,
 * an editor's `x.tmp` moved over `x`) is in neither tree, so it is no change, and a file written twice
 * is one update. A folder added or deleted whole is one change with the number of files in it, not a
 * change per member; `.davprops` edits are property changes of the file or folder whose key changed.
 *
 * A restore is recognised by exact blob id: an add or update whose new blob this path held after an
 * earlier commit (the path index knows, O(versions of that path)) is "restored from" that commit. No
 * guessing from names or Referer; the empty file is never a restore (every davfs2 create is one).
 *
 * Never throws for an object it cannot read: it reads objects the commit itself does not need (a
 * deleted folder's members to count them, sidecars, the path index), and a commit message must never
 * keep an acknowledged write from its commit (closed bursts are a prefix: one stuck burst would hold
 * back every later one). What cannot be read is left out: no file count, no property detail, no
 * restore; a path whose slots cannot be read at all is a plain update or delete, as its last effect says.
 */
import { baseName, joinPath, parentOf } from '../../backend.js';
import { SELF, SIDECAR, type Sidecar } from '../../sidecar.js';
import type { ObjectStore } from '../objects.js';
import type { PathIndex } from '../path-index.js';
import { readSidecar } from '../sidecars.js';
import type { DirSlot, Slot, TreeEditor } from '../tree.js';
import { FILES_CAP, type NetChange } from './messages.js';
import type { JournalRecord, StoredSlot } from './record.js';

const EMPTY_BLOB = 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391';

export interface NetChangeDeps {
  store: ObjectStore;
  /** The blob a folder holds to exist when empty (not counted as a file, not a property change). */
  placeholder: { name: string; oid: string };
  /** The commit after which `path` last held blob `oid` (a restore), if it ever did. */
  versionOf?(path: string, oid: string): Promise<string | undefined>;
}

/** `versionOf` over the path index (caught up to the tip the burst is applied to). */
export function pathIndexVersions(index: PathIndex): (path: string, oid: string) => Promise<string | undefined> {
  return async (path, oid) => {
    const at = index.commitWhere(path, oid);
    return at < 0 ? undefined : index.all()[at]?.oid;
  };
}

export async function netChanges(before: TreeEditor, after: TreeEditor, records: readonly JournalRecord[], deps: NetChangeDeps): Promise<NetChange[]> {
  const touched = new Set<string>();
  const replaced = new Set<string>(); // paths an effect set to a folder slot whole (COPY, MOVE, RESTORE)
  for (const r of records) {
    for (const e of r.effects) {
      touched.add(e.path);
      if (e.slot?.kind === 'dir') replaced.add(e.path);
    }
  }
  const restored = new Map<string, string>();
  for (const r of records) if (r.meta.op === 'RESTORE' && r.meta.restoredFrom) restored.set(r.meta.to ?? r.meta.path, r.meta.restoredFrom);

  const changes = new Map<string, NetChange[]>();
  const folded = new Set<string>(); // folders whose change covers everything below them
  const sidecarDirs: string[] = [];
  const under = (p: string) => {
    for (let d = parentOf(p); ; d = parentOf(d)) {
      if (folded.has(d)) return true;
      if (d === '/') return false;
    }
  };
  const counter = async (editor: TreeEditor, slot: DirSlot) => {
    try {
      return await countFiles(editor, slot, deps.placeholder.name);
    } catch {
      return undefined; // a member cannot be read: the change says no count
    }
  };
  const lastEffect = new Map<string, StoredSlot | null>();
  for (const r of records) for (const e of r.effects) lastEffect.set(e.path, e.slot);
  const add = (c: NetChange) => changes.set(c.path, [...(changes.get(c.path) ?? []), c]);

  for (const path of [...touched].sort(byDepth)) {
    if (path !== '/' && under(path)) continue;
    if (baseName(path) === SIDECAR) {
      sidecarDirs.push(parentOf(path));
      continue;
    }
    let b: Slot | null;
    let a: Slot | null;
    try {
      b = await before.get(path);
      a = await after.get(path);
    } catch {
      const slot = lastEffect.get(path) ?? null;
      add({ path, change: slot ? 'update' : 'delete', kind: slot?.kind ?? 'file' });
      continue;
    }
    if (!b && !a) continue; // made and removed within the burst: a temp file
    if (b && a && b.kind === 'file' && a.kind === 'file') {
      if (b.oid !== a.oid || b.mode !== a.mode) add(await fileChange(path, 'update', a.oid, restored, deps));
      continue;
    }
    if (b && a && b.kind === 'dir' && a.kind === 'dir') {
      if (!replaced.has(path) || (b.oid !== undefined && b.oid === a.oid)) continue; // members speak for themselves
      const files = await counter(after, a);
      add({ path, change: 'update', kind: 'dir', ...(files === undefined ? {} : { files }), ...oidOf(a), ...restoredAt(restored, path) });
      folded.add(path);
      continue;
    }
    if (b) {
      const files = b.kind === 'dir' ? await counter(before, b) : undefined;
      add({ path, change: 'delete', kind: b.kind, ...(files === undefined ? {} : { files }), ...oidOf(b) });
      if (b.kind === 'dir') folded.add(path);
    }
    if (a) {
      if (a.kind === 'file') add(await fileChange(path, 'add', a.oid, restored, deps));
      else {
        const files = await counter(after, a);
        add({ path, change: 'add', kind: 'dir', ...(files === undefined ? {} : { files }), ...oidOf(a), ...restoredAt(restored, path) });
        // A new chain of empty folders (mkdir -p) stays one change per folder, so its deepest shows.
        if (files !== 0 || b) folded.add(path);
      }
    }
  }
  for (const dir of sidecarDirs) {
    if (under(joinPath(dir, SIDECAR)) || changes.has(dir)) continue;
    let found: NetChange[];
    try {
      found = await propChanges(dir, before, after, deps);
    } catch {
      found = [{ path: dir, change: 'update', kind: 'dir', propsOnly: true }]; // its sidecar changed; what in it, unread
    }
    for (const c of found) if (!changes.has(c.path)) add(c);
  }
  return [...changes.keys()].sort().flatMap((p) => changes.get(p)!);
}

/** Parents before children, so a folder's change is known before its members are looked at. */
function byDepth(a: string, b: string): number {
  const da = a === '/' ? 0 : a.split('/').length;
  const db = b === '/' ? 0 : b.split('/').length;
  return da - db || (a < b ? -1 : a > b ? 1 : 0);
}

/** A folder a RESTORE record put back whole. */
function restoredAt(restored: Map<string, string>, path: string): { restoredFrom?: string } {
  const from = restored.get(path);
  return from ? { restoredFrom: from } : {};
}

function oidOf(slot: Slot): { oid?: string } {
  return slot.oid === undefined ? {} : { oid: slot.oid };
}

async function fileChange(path: string, change: 'add' | 'update', oid: string, restored: Map<string, string>, deps: NetChangeDeps): Promise<NetChange> {
  const out: NetChange = { path, change, kind: 'file', oid };
  const from = restored.get(path) ?? (oid !== EMPTY_BLOB && deps.versionOf ? await deps.versionOf(path, oid).catch(() => undefined) : undefined);
  if (from) out.restoredFrom = from;
  return out;
}

/**
 * Counts the files below a folder (sidecars and placeholders are not files), stopping at `cap` files or
 * 4 × `cap` members (a folder of a million files, or of folders, costs a bounded walk). A walk stopped
 * early returns `cap`, which the message shows as `100000+`: never a partial count that looks exact.
 */
export async function countFiles(editor: TreeEditor, slot: DirSlot, placeholderName: string, cap = FILES_CAP): Promise<number> {
  let files = 0;
  let steps = 0;
  const stack: DirSlot[] = [slot];
  while (stack.length > 0) {
    if (files >= cap || steps >= 4 * cap) return cap;
    for (const [name, member] of await editor.members(stack.pop()!)) {
      steps++;
      if (member.kind === 'dir') stack.push(member);
      else if (name !== SIDECAR && name !== placeholderName) files++;
    }
  }
  return Math.min(files, cap);
}

/**
 * A folder's `.davprops` changed: which keys' properties differ. A placeholder (an empty folder's
 * sidecar) is the same as none. The folder's own key makes a change of the folder, a member's key one
 * of that member (the caller drops it where the member has a change of its own).
 */
async function propChanges(dir: string, before: TreeEditor, after: TreeEditor, deps: NetChangeDeps): Promise<NetChange[]> {
  const at = joinPath(dir, SIDECAR);
  const real = (s: Slot | null) => (s && s.kind === 'file' && s.oid !== deps.placeholder.oid ? s.oid : null);
  if (real(await before.get(at)) === real(await after.get(at))) return [];
  const dirNow = await after.get(dir);
  if (!dirNow || dirNow.kind !== 'dir') return [];
  const old: Sidecar = await readSidecar(deps.store, before, dir);
  const now: Sidecar = await readSidecar(deps.store, after, dir);
  const out: NetChange[] = [];
  for (const key of new Set([...Object.keys(old), ...Object.keys(now)])) {
    if (sameProps(old[key], now[key])) continue;
    if (key === SELF) {
      out.push({ path: dir, change: 'update', kind: 'dir', propsOnly: true });
      continue;
    }
    const path = joinPath(dir, key);
    const slot = await after.get(path);
    if (slot) out.push({ path, change: 'update', kind: slot.kind, propsOnly: true });
  }
  return out;
}

function sameProps(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => b !== undefined && Object.prototype.hasOwnProperty.call(b, k) && b[k] === a![k]);
}

/**
 * The sync token state of a folder the write journal changed (docs/git-backend.md, "ETags and sync
 * tokens of folders the journal changed"): not its whole tree written (a 100,000-member calendar: a
 * 3–4 MB tree per new state, asked for by every getctag), but a small blob naming the folder's tree at
 * the tip (`base`, in history for good) and the members that differ from it. Written once per folder
 * state (content-addressed, no fsync: a token whose blob a crash lost is answered 403 valid-sync-token,
 * as a lost tree was); O(members the uncommitted records changed), and it stays exact across commits,
 * workers and restarts: ./sync.ts compares base + delta with the current state.
 *
 * The blob: `{"gitdav-sync-delta":1,"base":"<tree id>","members":[[name, mode, oid] | [name] | [name, "40000", "", marker]]}`,
 * names sorted; `[name]` is a member the base has and the state has not; a folder member the journal
 * changed has no id (it is not computed) but a marker, the body of its journal-named ETag
 * (./folder-etag.ts): new for every content of that subfolder, so the blob (and the token) is new
 * whenever anything inside changes, and the same in every process for one state. A marker is never
 * written into a tree (./sync.ts). Parsed strictly: anything else is no delta (the token is refused,
 * never trusted).
 */
import { joinPath, parentOf } from '../backend.js';
import type { LiveView } from './live-state.js';
import type { ObjectStore, TreeEntry } from './objects.js';
import { TreeEditor, type DirSlot, type Slot } from './tree.js';
import { ETAG_BODY } from './folder-etag.js';

const KEY = 'gitdav-sync-delta';
const OID = /^[0-9a-f]{40}$/;
const MODES = new Set(['100644', '100755', '120000', '40000', '160000']);

/** A member in a delta: a tree entry, or an edited folder (mode 40000, oid '') named by its marker. */
export type DeltaEntry = TreeEntry & { marker?: string };

/** What a token names: a tree, or a tree with some members changed (null: removed). */
export interface TokenState {
  tree: string;
  delta?: ReadonlyMap<string, DeltaEntry | null>;
}

export interface SyncDeltaDeps {
  store: ObjectStore;
  placeholder: { name: string; oid: string };
  /** The marker of an edited folder of `view` (its journal-named ETag's body); null when it has none. */
  markerOf(view: LiveView, path: string, slot: DirSlot): Promise<string | null>;
}

export class SyncDeltas {
  /** Per sealed folder slot: its path and delta blob (written once per state). */
  private readonly known = new WeakMap<DirSlot, { path: string; oid: string }>();

  constructor(private readonly d: SyncDeltaDeps) {}

  /**
   * The delta blob for the edited folder `slot` at `path` of `view` (null when the view's records
   * replaced the folder, or one above it, whole, or the tip has no folder there: then its tree is written).
   */
  async write(view: LiveView, path: string, slot: DirSlot): Promise<string | null> {
    const memo = this.known.get(slot);
    if (memo?.path === path) return memo.oid;
    const state = await this.compute(view, path, slot);
    if (!state?.delta) return null;
    const oid = await writeDelta(this.d.store, state.tree, state.delta);
    this.known.set(slot, { path, oid });
    return oid;
  }

  private async compute(view: LiveView, path: string, slot: DirSlot): Promise<TokenState | null> {
    const atTip = await new TreeEditor(this.d.store, view.tip.tree, this.d.placeholder).get(path);
    if (atTip?.kind !== 'dir' || !atTip.oid || !slot.entries) return null;
    const base = new TreeEditor(this.d.store, atTip.oid, this.d.placeholder);
    const below = path === '/' ? '/' : `${path}/`;
    const names = new Set<string>();
    for (const p of view.paths) {
      if (p === path || below.startsWith(p === '/' ? '/' : `${p}/`)) return null;
      if (p.startsWith(below)) names.add(p.slice(below.length).split('/')[0]!);
    }
    const members = new Map<string, DeltaEntry | null>();
    for (const name of names) {
      const now = slot.entries.get(name);
      const was = await base.get(joinPath('/', name));
      if (sameSlot(now, was)) continue;
      if (!now) members.set(name, null);
      else if (now.kind === 'file') members.set(name, { mode: now.mode, name, oid: now.oid });
      else if (now.oid) members.set(name, { mode: '40000', name, oid: now.oid });
      else {
        const marker = await this.d.markerOf(view, joinPath(path, name), now);
        if (!marker) return null;
        members.set(name, { mode: '40000', name, oid: '', marker });
      }
    }
    return { tree: atTip.oid, delta: members };
  }
}

/** Writes the delta blob of `base` with `members` changed (content-addressed, no fsync); its id. */
export function writeDelta(store: ObjectStore, base: string, members: ReadonlyMap<string, DeltaEntry | null>): Promise<string> {
  const list = [...members].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, e]) => (!e ? [name] : e.marker ? [name, '40000', '', e.marker] : [name, e.mode, e.oid]));
  return store.writeBuffer('blob', Buffer.from(JSON.stringify({ [KEY]: 1, base, members: list })), { sync: false });
}

/** A delta blob's state, or null for anything that is not one (strictly: any oddity is no delta). */
export function parseDelta(content: Buffer): TokenState | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content.toString('utf8'));
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const o = parsed as Record<string, unknown>;
  if (Object.keys(o).length !== 3 || o[KEY] !== 1 || typeof o.base !== 'string' || !OID.test(o.base) || !Array.isArray(o.members)) return null;
  const delta = new Map<string, DeltaEntry | null>();
  for (const m of o.members as unknown[]) {
    if (!Array.isArray(m) || m.length === 2 || m.length > 4 || !m.every((x) => typeof x === 'string')) return null;
    const [name, mode, oid, marker] = m as string[];
    if (!name || name.includes('/') || name === '.' || name === '..' || parentOf(`/${name}`) !== '/' || delta.has(name)) return null;
    if (mode === undefined) delta.set(name, null);
    else if (marker === undefined && MODES.has(mode) && OID.test(oid!)) delta.set(name, { mode, name, oid: oid! });
    else if (marker !== undefined && mode === '40000' && oid === '' && ETAG_BODY.test(marker)) delta.set(name, { mode, name, oid: '', marker });
    else return null;
  }
  return { tree: o.base, delta };
}

function sameSlot(a: Slot | undefined, b: Slot | null): boolean {
  if (!a || !b) return !a && !b;
  if (a.kind === 'file') return b.kind === 'file' && a.mode === b.mode && a.oid === b.oid;
  return b.kind === 'dir' && a.oid !== undefined && a.oid === b.oid;
}

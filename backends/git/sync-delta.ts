/**
 * The sync token state of a folder the write journal changed (docs/git-backend.md, "ETags and sync
 * tokens of folders the journal changed"): not its whole tree written (a 100,000-member calendar: a
 * 3–4 MB tree per new state, asked for by every getctag), but a small blob naming the folder's tree at
 * the tip (`base`, in history for good) and the members that differ from it. Written once per folder
 * state (content-addressed, no fsync: a token whose blob a crash lost is answered 403 valid-sync-token,
 * as a lost tree was); O(members the uncommitted records changed), and it stays exact across commits,
 * workers and restarts: ./sync.ts compares base + delta with the current state.
 *
 * The blob: `{"gitdav-sync-delta":1,"base":"<tree id>","members":[[name, mode, oid] | [name]]}`, names
 * sorted; `[name]` is a member the base has and the state has not; a folder member the journal changed
 * has oid "" (its id is not computed: it always compares as changed). Parsed strictly: anything else
 * is no delta (the token is refused, never trusted).
 */
import { joinPath, parentOf } from '../backend.js';
import type { LiveView } from './live-state.js';
import type { ObjectStore, TreeEntry } from './objects.js';
import { TreeEditor, type DirSlot, type Slot } from './tree.js';

const KEY = 'gitdav-sync-delta';
const OID = /^[0-9a-f]{40}$/;
const MODES = new Set(['100644', '100755', '120000', '40000', '160000']);

/** What a token names: a tree, or a tree with some members changed (null: removed). */
export interface TokenState {
  tree: string;
  delta?: ReadonlyMap<string, TreeEntry | null>;
}

export interface SyncDeltaDeps {
  store: ObjectStore;
  placeholder: { name: string; oid: string };
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
    const atTip = await new TreeEditor(this.d.store, view.tip.tree, this.d.placeholder).get(path);
    if (atTip?.kind !== 'dir' || !atTip.oid || !slot.entries) return null;
    const base = new TreeEditor(this.d.store, atTip.oid, this.d.placeholder);
    const below = path === '/' ? '/' : `${path}/`;
    const names = new Set<string>();
    for (const p of view.paths) {
      if (p === path || below.startsWith(p === '/' ? '/' : `${p}/`)) return null;
      if (p.startsWith(below)) names.add(p.slice(below.length).split('/')[0]!);
    }
    const members: Array<[string, string, string] | [string]> = [];
    for (const name of [...names].sort()) {
      const now = slot.entries.get(name);
      const was = await base.get(joinPath('/', name));
      if (sameSlot(now, was)) continue;
      members.push(now ? [name, now.kind === 'dir' ? '40000' : now.mode, now.kind === 'dir' ? (now.oid ?? '') : now.oid] : [name]);
    }
    const text = JSON.stringify({ [KEY]: 1, base: atTip.oid, members });
    const oid = await this.d.store.writeBuffer('blob', Buffer.from(text), { sync: false });
    this.known.set(slot, { path, oid });
    return oid;
  }
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
  const delta = new Map<string, TreeEntry | null>();
  for (const m of o.members as unknown[]) {
    if (!Array.isArray(m) || (m.length !== 1 && m.length !== 3) || !m.every((x) => typeof x === 'string')) return null;
    const [name, mode, oid] = m as string[];
    if (!name || name.includes('/') || name === '.' || name === '..' || parentOf(`/${name}`) !== '/' || delta.has(name)) return null;
    if (mode === undefined) delta.set(name, null);
    else if (MODES.has(mode) && (OID.test(oid!) || (mode === '40000' && oid === ''))) delta.set(name, { mode, name, oid: oid! });
    else return null;
  }
  return { tree: o.base, delta };
}

function sameSlot(a: Slot | undefined, b: Slot | null): boolean {
  if (!a || !b) return !a && !b;
  if (a.kind === 'file') return b.kind === 'file' && a.mode === b.mode && a.oid === b.oid;
  return b.kind === 'dir' && a.oid !== undefined && a.oid === b.oid;
}

/**
 * Sync for the live tree (RFC 6578): a token names the collection's tree, signed for the collection
 * (../sync-token-key.ts); every old tree stays in history, so tokens never expire. Unsigned tokens of
 * older versions are refused (one full resync). Changes come from the path index in O(change) where
 * it can tell, else from comparing the two trees.
 */
import { baseName, joinPath, parentOf, type ChangeSet, type Entry } from '../backend.js';
import { BackendError } from '../errors.js';
import { parseSidecar, SELF, serializeSidecar, SIDECAR, type Sidecar } from '../sidecar.js';
import { diffMembers } from '../sync-diff.js';
import type { SyncTokenKey } from '../sync-token-key.js';
import { mapOrdered } from '../util/concurrency.js';
import type { ObjectStore, TreeEntry } from './objects.js';
import type { PathIndex } from './path-index.js';
import { readSidecar } from './sidecars.js';
import { TreeEditor, isListable, type DirSlot, type Slot } from './tree.js';
import { parseDelta, writeDelta, type DeltaEntry, type TokenState } from './sync-delta.js';
import { catchUp, isCatchUpState, type CatchUpChanges } from './catch-up.js';
import type { LiveView } from './live-state.js';

const SYNC_PREFIX = 'urn:x-gitdav:sync:';

export interface SyncDeps {
  store: ObjectStore;
  index: PathIndex;
  tokenKey: SyncTokenKey;
  placeholder: { name: string; oid: string };
  /** The live state in an editor, the tip's time, the paths uncommitted journal records changed, and the view. */
  editor(): Promise<{ editor: TreeEditor; time: Date; touched: Iterable<string>; view: LiveView }>;
  /** An entry as it is in an editor's state; null for what clients never see. */
  entryIn(editor: TreeEditor, path: string, time: Date): Promise<Entry | null>;
  /** A member's entry (times from the path index). */
  toEntry(path: string, slot: Slot, editor: TreeEditor, time: Date): Promise<Entry>;
  /** The token state of a folder in an editor's state: its tree id, or a delta blob (./sync-delta.ts). */
  stateOf(path: string, slot: DirSlot, editor: TreeEditor): Promise<string>;
  /** The marker of a folder the journal changed, as a delta names it (./sync-delta.ts); null for none. */
  markerOf(path: string, slot: DirSlot, editor: TreeEditor): Promise<string | null>;
}

export class GitSync {
  constructor(private readonly d: SyncDeps) {}

  /** A token for a collection at `path` whose tree is `tree`. */
  async token(path: string, tree: string): Promise<string> {
    return SYNC_PREFIX + (await this.d.tokenKey.sign(path, tree));
  }

  /** The state a token names (a tree, or a delta blob over one), if it was issued for this collection of this repository. */
  private async tokenState(path: string, token: string): Promise<TokenState | null> {
    const oid = token.startsWith(SYNC_PREFIX) ? await this.d.tokenKey.verify(path, token.slice(SYNC_PREFIX.length)) : null;
    if (!oid || !/^[0-9a-f]{40}$/.test(oid)) return null;
    const type = await this.d.store.typeOf(oid);
    if (type === 'tree') return { tree: oid };
    if (type !== 'blob') return null;
    const state = parseDelta((await this.d.store.readRaw(oid)).content);
    return state && (await this.d.store.typeOf(state.tree)) === 'tree' ? state : null;
  }

  async changes(path: string, since: string | undefined, limit = Infinity): Promise<ChangeSet> {
    const { editor, time, touched } = await this.d.editor();
    const slot = await editor.get(path);
    if (!slot || slot.kind !== 'dir') throw new BackendError('NotFound', path);
    let previous: TokenState | null = null;
    if (since !== undefined) {
      previous = await this.tokenState(path, since);
      if (!previous) throw new BackendError('InvalidSyncToken', path, `unknown sync token ${since}, or one issued for another collection`);
    }
    if (previous) {
      const fast = await this.changesFromIndex(path, editor, slot, previous, time, limit, touched);
      if (fast) return { token: await this.token(path, slot.oid ?? (await this.d.stateOf(path, slot, editor))), ...fast, truncated: false };
    }
    // The whole comparison: the current state as a tree (written, for an edited folder), as before.
    const currentTree = slot.oid ?? (await editor.flush(slot));
    const before = previous ? await this.memberState(previous) : { entries: new Map<string, TreeEntry>(), sidecar: {} as Sidecar, prints: new Map<string, string>() };
    const now = await this.memberState({ tree: currentTree });
    const diff = diffMembers(before.prints, now.prints, limit);
    let token = await this.token(path, currentTree);
    if (diff.truncated) token = await this.token(path, await this.reachedState(currentTree, before, now, diff.reached));
    // Several entries in flight (each reads an object header for its size), as list() does: a first
    // read of 10,000 members (changes since no token) costs about what listing them does.
    const changed: Entry[] = [];
    for await (const e of mapOrdered(diff.changed, 16, (name) => this.d.entryIn(editor, joinPath(path, name), time))) if (e) changed.push(e);
    return { token, changed, removed: diff.removed.map((n) => joinPath(path, n)), truncated: diff.truncated };
  }

  /**
   * Changes since a state this method returned (undefined: every member, as added), and the state
   * they reach: a process's own catch-up (the UID index), in O(change) and writing nothing
   * (./catch-up.ts: a superset, properties not followed). Throws InvalidSyncToken when it cannot name
   * the changes (the caller starts again from nothing).
   */
  async changesSinceState(path: string, since: object | undefined): Promise<CatchUpChanges> {
    const { editor, time, view } = await this.d.editor();
    const slot = await editor.get(path);
    if (!slot || slot.kind !== 'dir') throw new BackendError('NotFound', path);
    if (since !== undefined && !isCatchUpState(since)) throw new BackendError('InvalidSyncToken', path, 'not a state this backend made');
    return catchUp(this.d, view, editor, time, path, slot, since);
  }

  /**
   * The state exactly the reported changes reach (so a truncated answer's token stays exact): a tree,
   * or, when a member keeps an edited folder's marker (it has no tree id: never written into a tree),
   * a delta over the current tree.
   */
  private async reachedState(currentTree: string, before: MemberState, now: MemberState, reached: ReadonlyMap<string, string>): Promise<string> {
    const sidecar: Sidecar = now.sidecar[SELF] ? { [SELF]: now.sidecar[SELF]! } : {};
    const entries: DeltaEntry[] = [];
    for (const [name, print] of reached) {
      const side = now.prints.get(name) === print ? now : before;
      entries.push(side.entries.get(name)!);
      if (side.sidecar[name]) sidecar[name] = side.sidecar[name]!;
    }
    const sidecarEntry = { mode: '100644', name: SIDECAR, oid: await this.d.store.writeBuffer('blob', Buffer.from(serializeSidecar(sidecar))) };
    if (!entries.some((e) => e.marker)) return this.d.store.writeTree([...entries, sidecarEntry]);
    const members = new Map<string, DeltaEntry | null>([[SIDECAR, sidecarEntry]]);
    for (const e of entries) if (now.prints.get(e.name) !== reached.get(e.name)) members.set(e.name, e);
    for (const name of now.entries.keys()) if (!reached.has(name)) members.set(name, null);
    return writeDelta(this.d.store, currentTree, members);
  }

  /**
   * Changes since a token in O(change): the path index says at which commit the collection had the
   * token's tree, and which of its members changed after it. Null when it cannot tell (a token for a
   * truncated state, history the index does not cover) or the answer would need truncating: then the
   * full comparison of the two trees answers.
   */
  private async changesFromIndex(
    path: string,
    editor: TreeEditor,
    slot: DirSlot,
    previous: TokenState,
    time: Date,
    limit: number,
    touched: Iterable<string>,
  ): Promise<{ changed: Entry[]; removed: string[] } | null> {
    const { store, index } = this.d;
    const at = index.commitWhere(path, previous.tree);
    if (at < 0) return null;
    const names = new Set<string>();
    let sidecarTouched = false;
    // The index knows commits; the journal's uncommitted changes are named by the live state.
    const below = path === '/' ? '/' : `${path}/`;
    const journaled: string[] = [];
    for (const p of touched) {
      if (p === path || below.startsWith(p === '/' ? '/' : `${p}/`)) return null; // the folder (or one above it) replaced whole
      if (p.startsWith(below)) journaled.push(joinPath(path, p.slice(below.length).split('/')[0]!));
    }
    const inDelta = [...(previous.delta?.keys() ?? [])].map((n) => joinPath(path, n));
    for (const p of [...index.changedAfter(at), ...journaled, ...inDelta]) {
      if (parentOf(p) !== path || p === path) continue;
      const name = baseName(p);
      if (name === SIDECAR) sidecarTouched = true;
      else names.add(name);
    }
    const now = await editor.entries(slot);
    const base = new TreeEditor(store, previous.tree, this.d.placeholder);
    const oldOf = async (name: string): Promise<{ slot: Slot; marker?: string } | undefined> => {
      const d = previous.delta?.get(name);
      if (d !== undefined) return d ? { slot: slotOf(d), marker: d.marker } : undefined;
      const slot = await base.get(joinPath('/', name));
      return slot ? { slot } : undefined;
    };
    // An edited folder is unchanged when it is one the token's delta named by the same marker.
    const sameFolder = async (name: string, cur: DirSlot, was: Slot, marker?: string): Promise<boolean> => {
      if (was.kind !== 'dir') return false;
      if (cur.oid !== undefined) return cur.oid === was.oid;
      return !!marker && marker === (await this.d.markerOf(joinPath(path, name), cur, editor));
    };
    let oldSide: Sidecar = {};
    let newSide: Sidecar = {};
    if (sidecarTouched) {
      const inDelta = previous.delta?.get(SIDECAR);
      const oldOid = inDelta !== undefined ? (inDelta?.oid ?? null) : index.oidAt(joinPath(path, SIDECAR), at);
      if (oldOid) oldSide = parseSidecar((await store.readRaw(oldOid)).content.toString('utf8'));
      newSide = await readSidecar(store, editor, path);
      for (const key of new Set([...Object.keys(oldSide), ...Object.keys(newSide)])) {
        if (key !== SELF && JSON.stringify(oldSide[key] ?? {}) !== JSON.stringify(newSide[key] ?? {})) names.add(key);
      }
    }
    const changed: Entry[] = [];
    const removed: string[] = [];
    for (const name of [...names].sort()) {
      const cur = now.get(name);
      const old = await oldOf(name);
      const was = old?.slot;
      const propsMoved = sidecarTouched && JSON.stringify(oldSide[name] ?? {}) !== JSON.stringify(newSide[name] ?? {});
      if (!cur) {
        if (was) removed.push(joinPath(path, name));
      } else if (!was || (cur.kind === 'file' ? was.kind !== 'file' || cur.oid !== was.oid : !(await sameFolder(name, cur, was, old.marker))) || propsMoved) {
        if (isListable(cur)) changed.push(await this.d.toEntry(joinPath(path, name), cur, editor, time));
      }
    }
    if (changed.length + removed.length > limit) return null;
    return { changed, removed };
  }

  /** A collection tree's members (sidecar aside) with fingerprints: object id, plus a file's properties. */
  private async memberState({ tree, delta }: TokenState): Promise<MemberState> {
    const entries = new Map<string, DeltaEntry>();
    let sidecar: Sidecar = {};
    const sidecarDelta = delta?.get(SIDECAR);
    for (const e of await this.d.store.readTree(tree)) {
      if (e.name === SIDECAR) {
        if (sidecarDelta === undefined) sidecar = await readSidecar(this.d.store, new TreeEditor(this.d.store, tree, this.d.placeholder), '/');
      } else if (e.mode !== '160000') entries.set(e.name, e);
    }
    if (sidecarDelta) sidecar = parseSidecar((await this.d.store.readRaw(sidecarDelta.oid)).content.toString('utf8'));
    for (const [name, e] of delta ?? []) {
      if (name === SIDECAR) continue;
      if (e && e.mode !== '160000') entries.set(name, e);
      else entries.delete(name);
    }
    const prints = new Map<string, string>();
    // An edited folder's marker never equals a tree id: such a member always compares as changed.
    for (const [name, e] of entries) prints.set(name, e.mode === '40000' ? (e.marker ? `~${e.marker}` : e.oid) : `${e.oid} ${JSON.stringify(sidecar[name] ?? {})}`);
    return { entries, sidecar, prints };
  }
}

/** A collection's members (sidecar aside) with fingerprints: object id (or marker), plus a file's properties. */
interface MemberState {
  entries: Map<string, DeltaEntry>;
  sidecar: Sidecar;
  prints: Map<string, string>;
}

function slotOf(e: TreeEntry): Slot {
  return e.mode === '40000' ? { kind: 'dir', oid: e.oid || undefined } : { kind: 'file', mode: e.mode, oid: e.oid };
}

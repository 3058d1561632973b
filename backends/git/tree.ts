/**
 * Copy-on-write editing of a git tree. A slot is a file (mode + blob id) or a folder (a tree id while
 * unchanged, an in-memory map once edited). Edits copy only the folders on the edited path, so a
 * state is a root slot that can be kept as a snapshot and restored; copying a folder is O(1) (the
 * same tree id, or the same in-memory node); `flush` writes the changed trees and returns the root id.
 */
import { joinPath } from '../backend.js';
import { BackendError } from '../errors.js';
import { EMPTY_TREE, isGitOrdered, searchTreeEntry, type ObjectStore, type TreeEntry } from './objects.js';
import { compareTreeEntries, objectId, serialiseTree } from './object-format.js';
import type { Effect, StoredSlot } from './journal/record.js';
import { LAYER_FROM, LayeredEntries } from './layered-entries.js';
import { Lru } from '../util/lru.js';
import { cacheCounts } from '../util/stats.js';
import { gitProbe } from './probe.js';

export interface FileSlot {
  kind: 'file';
  mode: string;
  oid: string;
}

export interface DirSlot {
  kind: 'dir';
  /** The tree id while the folder is unchanged. */
  oid?: string;
  /** The edited members, once changed. */
  entries?: ReadonlyMap<string, Slot>;
}

export type Slot = FileSlot | DirSlot;

const TREE_MODE = '40000';

/**
 * Slot maps of unchanged trees, by tree id (immutable, so never stale), bounded by bytes (a Map entry
 * and its slot, ~120 bytes; names and ids are shared with the parsed tree): 12 MB is one version of a
 * 100,000-member folder. Each commit into a big folder adds a map of the new version, so a count of
 * 300,000 members kept 30 versions of a 10,000-member calendar during an upload.
 */
const SLOT_BYTES = 120;
const slotMaps = new Lru<ReadonlyMap<string, Slot>>(12 * 1024 * 1024, (m) => SLOT_BYTES * (m.size + 1), cacheCounts('git_tree_slots'));
const PATH_SLOTS_BYTES = 4 * 1024 * 1024;
/**
 * Paths already looked up in an unchanged tree, by root tree id + path (immutable, so never stale):
 * one request's early checks, its write step's guard and the apply's checks look at the same paths
 * of the same tip, each through an editor of its own. Weighed in bytes: a slot is a few small
 * fields, the key (tree id + path) the rest, two bytes a character.
 */
const pathSlots = new Lru<Slot | null>(PATH_SLOTS_BYTES, (_slot, key) => 2 * key.length + 128, cacheCounts('git_path_slots'));
const SUBMODULE_MODE = '160000';
/** Members from which a folder's single look-ups search its parsed tree rather than build its slot map. */
const BIG_TREE = 4096;

/** Members serialised by hash() and flush() in this process: tests bound how much of a folder a request hashes. */
export const treeWork = { hashed: 0, flushed: 0 };

export function dirSlot(oid: string): DirSlot {
  return { kind: 'dir', oid };
}

/**
 * Tree ids of edited folder slots, computed without writing (TreeEditor.hash). A sealed slot is never
 * edited again (later edits copy it), so its id never changes: keyed by the slot object itself.
 */
const slotIds = new WeakMap<DirSlot, string>();
/** Paths looked up in a sealed edited state (a live state's root), per root object; at most SEALED_MEMO_MAX each. */
const sealedSeen = new WeakMap<DirSlot, Map<string, Slot | null>>();
const SEALED_MEMO_MAX = 20_000;

export class TreeEditor {
  root: DirSlot;
  /** Trees written by flush() without fsync; the committer syncs them before moving the branch. */
  readonly written: string[] = [];
  /** Folder slots this editor made by copying, reachable from one place only: safe to edit in place. */
  private owned = new WeakSet<DirSlot>();
  private undo: Array<[EditableEntries, string, Slot | undefined]> | null = null;
  /** Slots hashed (and their ids cached) since begin(): rollback() forgets their ids. */
  private hashedInOp: DirSlot[] | null = null;
  private rootBefore: DirSlot | null = null;
  /** Paths looked up since the last edit, once the state differs from a stored tree (every edit clears it). */
  private readonly seen = new Map<string, Slot | null>();
  /** Recording mode (the write journal): every set() as a resolved effect; null when not recording. */
  private effects: Effect[] | null = null;
  private effectsBefore = 0;

  /** `placeholder` is the blob id written into a folder that would otherwise be empty. */
  constructor(
    private readonly store: ObjectStore,
    rootOid: string,
    private readonly placeholder: { name: string; oid: string },
  ) {
    this.root = dirSlot(rootOid);
  }

  /** An editor on a state another editor made (the live overlay's root): it must be sealed (seal()). */
  static fromSlot(store: ObjectStore, root: DirSlot, placeholder: { name: string; oid: string }): TreeEditor {
    const editor = new TreeEditor(store, EMPTY_TREE, placeholder);
    editor.root = root;
    return editor;
  }

  /**
   * Ends in-place editing: from now on every edit copies, so the current root can be handed to
   * readers (and to other editors) as a snapshot that never changes under them.
   */
  seal(): DirSlot {
    this.owned = new WeakSet();
    return this.root;
  }

  /** Whether this editor may still change the folder in place (a copy it made since the last seal()). */
  owns(slot: DirSlot): boolean {
    return this.owned.has(slot);
  }

  /** Starts capturing every set() as an effect (folders with edited members are flushed to a tree id). */
  record(): void {
    this.effects = [];
  }

  /** The effects captured since record() (rolled back operations' removed), and stops recording. */
  takeEffects(): Effect[] {
    const out = this.effects ?? [];
    this.effects = null;
    return out;
  }

  /** Effects captured since the last begin() (the operation in progress). */
  effectsOfOperation(): Effect[] {
    return (this.effects ?? []).slice(this.effectsBefore);
  }

  /**
   * A folder's tree id without writing anything: what flush() would return. Cached per slot object;
   * only for slots no editor changes in place any more (sealed states, or after seal()).
   */
  hash(slot: DirSlot): string {
    if (!slot.entries) return slot.oid ?? EMPTY_TREE;
    const known = slotIds.get(slot);
    if (known) return known;
    const out: TreeEntry[] = [];
    for (const [name, child] of slot.entries) {
      out.push(child.kind === 'dir' ? { mode: TREE_MODE, name, oid: this.hash(child) } : { mode: child.mode, name, oid: child.oid });
    }
    treeWork.hashed += out.length;
    if (out.length === 0 && slot !== this.root) out.push({ mode: '100644', ...this.placeholder });
    const oid = objectId('tree', serialiseTree(out.sort(compareTreeEntries)));
    if (!this.owned.has(slot)) {
      slotIds.set(slot, oid); // one this editor may still change in place: not kept
      this.hashedInOp?.push(slot); // a rollback may still restore it in place: forgotten then
    }
    return oid;
  }

  async entries(slot: DirSlot): Promise<ReadonlyMap<string, Slot>> {
    if (slot.entries) return slot.entries;
    const oid = slot.oid ?? EMPTY_TREE;
    // A tree id names fixed content: its slot map is built once and shared (edits copy it first).
    const cached = slotMaps.get(oid);
    if (cached) return cached;
    const out = new Map<string, Slot>();
    for (const e of await this.store.readTree(oid)) out.set(e.name, slotOf(e));
    slotMaps.set(oid, out);
    return out;
  }

  /**
   * A folder's members for one pass over them (a listing), in tree order: the slot map when there is
   * one (edited, or cached by tree id), else slots made from the parsed tree as they are read and
   * not kept. A listing reads each member once; building the map of a 100,000-member folder first
   * cost ~100 ms before the first entry and ~8 MB held beside the parsed tree. A tree not in git's
   * order or with a name twice (a foreign writer's) is listed from its map, as it always was: one
   * member per name, the last of that name in the tree (of a file `a` and a folder `a`, the folder).
   */
  async members(slot: DirSlot): Promise<Iterable<[string, Slot]>> {
    if (slot.entries) return slot.entries;
    const oid = slot.oid ?? EMPTY_TREE;
    const cached = slotMaps.get(oid);
    if (cached) return cached;
    const tree = await this.store.readTree(oid);
    if (!isGitOrdered(tree)) return this.entries(slot);
    return (function* () {
      for (const e of tree) yield [e.name, slotOf(e)];
    })();
  }

  /**
   * The slot at a path, or null. A path through a file is null too. Looked up once per state: in a
   * stored tree (any editor's, by tree id), or in this editor's edited state until its next edit.
   */
  async get(path: string): Promise<Slot | null> {
    const stored = this.root.entries === undefined && this.root.oid !== undefined ? `${this.root.oid}\0${path}` : null;
    const memo = stored !== null ? null : this.memoOf(this.root);
    const known = stored !== null ? pathSlots.get(stored) : memo!.get(path);
    if (known !== undefined) {
      gitProbe?.memo?.(path);
      return known;
    }
    gitProbe?.walk(path);
    const slot = await this.walk(path);
    if (stored !== null) pathSlots.set(stored, slot);
    else if (memo !== this.seen || memo.size < SEALED_MEMO_MAX) memo!.set(path, slot);
    return slot;
  }

  /**
   * Where look-ups in an edited state are remembered: for a root this editor may change in place, its
   * own (cleared by every edit); for a sealed one (the live state's, never changed again), one shared
   * by every editor on it, so the requests that read one state walk each path once.
   */
  private memoOf(root: DirSlot): Map<string, Slot | null> {
    if (this.owned.has(root)) return this.seen;
    let memo = sealedSeen.get(root);
    if (!memo) sealedSeen.set(root, (memo = new Map()));
    return memo.size < SEALED_MEMO_MAX ? memo : this.seen;
  }

  private async walk(path: string): Promise<Slot | null> {
    let slot: Slot = this.root;
    for (const seg of segments(path)) {
      if (slot.kind !== 'dir') return null;
      const next: Slot | undefined = await this.child(slot, seg);
      if (!next) return null;
      slot = next;
    }
    return slot;
  }

  /**
   * One member of a folder. In a stored tree of BIG_TREE members or more in git's order whose slot map
   * is not built, searched in the parsed tree instead, found or not in O(log n): a look-up of one name
   * (the folder's `.davprops` while it is listed, a GET of one file) does not build and keep a map of
   * the whole folder (~8 MB and ~100 ms for 100,000 members). Writes still build it (setIn edits a
   * copy); so does a look-up in a tree out of order, whose map answers as members() lists.
   */
  private async child(dir: DirSlot, name: string): Promise<Slot | undefined> {
    if (dir.entries) return dir.entries.get(name);
    const oid = dir.oid ?? EMPTY_TREE;
    const map = slotMaps.peek(oid);
    if (map) return map.get(name);
    const tree = await this.store.readTree(oid);
    if (tree.length < BIG_TREE || !isGitOrdered(tree)) return (await this.entries(dir)).get(name);
    const found = searchTreeEntry(tree, name);
    return found && slotOf(found);
  }

  /** Starts an operation that rollback() can undo whole (edits made in place are journalled). */
  begin(): void {
    this.undo = [];
    this.hashedInOp = [];
    this.rootBefore = this.root;
    this.effectsBefore = this.effects?.length ?? 0;
  }

  /** Puts the state back to what it was at begin(). */
  rollback(): void {
    for (const [map, name, old] of (this.undo ?? []).reverse()) {
      if (old === undefined) map.delete(name);
      else map.set(name, old);
    }
    this.undo = null;
    for (const slot of this.hashedInOp ?? []) slotIds.delete(slot);
    this.hashedInOp = null;
    this.root = this.rootBefore ?? this.root;
    this.seen.clear();
    this.effects?.splice(this.effectsBefore);
  }

  /** Puts (or with null, removes) the slot at a path; the parent folder must exist. */
  async set(path: string, value: Slot | null): Promise<void> {
    // A folder slot placed here may also sit elsewhere (COPY): from now on, copy before editing.
    if (value?.kind === 'dir') this.owned = new WeakSet();
    if (this.effects) this.effects.push({ path, slot: value && (await this.stored(value)) });
    const segs = segments(path);
    // Any edit may change what a path leads to (the edited one, those below it): look up afresh.
    this.seen.clear();
    if (segs.length === 0) {
      if (!value || value.kind !== 'dir') throw new BackendError('Forbidden', path, 'the root can only be replaced by a folder');
      this.root = value;
      return;
    }
    this.root = await this.setIn(this.root, segs, value, path, '/');
    // What was just put there is what a look-up would find (the entry a write answers with).
    this.seen.set(path, value);
  }

  private async setIn(dir: DirSlot, segs: string[], value: Slot | null, path: string, at: string): Promise<DirSlot> {
    // A folder this editor already copied is edited in place: N edits in one 10,000-entry folder
    // (a batch of PUTs into one calendar) copy its map once, not N times.
    const own = this.owned.has(dir);
    const entries = own ? (dir.entries as EditableEntries) : editableCopy(await this.entries(dir));
    const [head, ...rest] = segs as [string, ...string[]];
    if (own) this.undo?.push([entries, head, entries.get(head)]);
    if (rest.length === 0) {
      if (value) entries.set(head, value);
      else entries.delete(head);
    } else {
      const child = entries.get(head);
      const childPath = joinPath(at, head);
      if (!child) throw new BackendError('ParentMissing', path);
      if (child.kind !== 'dir') throw new BackendError('NotACollection', childPath);
      entries.set(head, await this.setIn(child, rest, value, path, childPath));
    }
    if (own) return dir;
    const copy: DirSlot = { kind: 'dir', entries };
    this.owned.add(copy);
    return copy;
  }

  /** A slot as a journal record holds it: an edited folder is written (without fsync: see `written`). */
  private async stored(slot: Slot): Promise<StoredSlot> {
    if (slot.kind === 'file') return { kind: 'file', mode: slot.mode, oid: slot.oid };
    return { kind: 'dir', oid: slot.entries ? await this.flush(slot) : (slot.oid ?? EMPTY_TREE) };
  }

  /** Writes every edited folder (bottom-up) and returns the root tree id. */
  async flush(slot: DirSlot = this.root): Promise<string> {
    if (!slot.entries) return slot.oid ?? EMPTY_TREE;
    const out: TreeEntry[] = [];
    const clean = new Map<string, Slot>(); // this tree's slot map, for the cache: readers need no rebuild
    for (const [name, child] of slot.entries) {
      if (child.kind === 'dir') {
        const oid = await this.flush(child);
        out.push({ mode: TREE_MODE, name, oid });
        clean.set(name, dirSlot(oid));
      } else {
        out.push({ mode: child.mode, name, oid: child.oid });
        clean.set(name, child);
      }
    }
    treeWork.flushed += out.length;
    // Git has no empty folders: one that a client made (or emptied) keeps a placeholder member.
    if (out.length === 0 && slot !== this.root) {
      out.push({ mode: '100644', ...this.placeholder });
      clean.set(this.placeholder.name, { kind: 'file', mode: '100644', oid: this.placeholder.oid });
    }
    const oid = await this.store.writeTree(out, { sync: false });
    this.written.push(oid);
    slotMaps.set(oid, clean);
    return oid;
  }
}

/** A folder's members as an editor changes them in place (a copy it owns). */
type EditableEntries = Map<string, Slot> | LayeredEntries<Slot>;

/** A copy to edit: a big folder's as layers over the shared map (O(changes)), a small one's whole. */
function editableCopy(from: ReadonlyMap<string, Slot>): EditableEntries {
  return from instanceof LayeredEntries || from.size >= LAYER_FROM ? LayeredEntries.fork(from) : new Map(from);
}

function slotOf(e: TreeEntry): Slot {
  return e.mode === TREE_MODE ? dirSlot(e.oid) : { kind: 'file', mode: e.mode, oid: e.oid };
}

export function segments(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

export function isListable(slot: Slot): boolean {
  return slot.kind === 'dir' || slot.mode !== SUBMODULE_MODE;
}

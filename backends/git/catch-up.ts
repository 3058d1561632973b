/**
 * A process's own catch-up on a collection (the UID index: backends/capabilities.ts,
 * `changesSinceState`) in O(change), also inside a burst that has changed thousands of its members.
 *
 * The state kept is where the live view stood — its tip commit, its lineage (the `paths` set and
 * `records` array a lineage of views shares: ./live-state.ts) and its applied seq — not the
 * collection's members. The members that may have changed since are named by the records after
 * that seq (same lineage), or, once a commit or a rebuilt view started another lineage, by the
 * commits after the old tip (the path index) plus every path either lineage's records touched.
 * A sync token cannot work this way (any process must read it, after any number of commits: it
 * names members, ./sync-delta.ts); this state lives and dies with the process that holds it.
 *
 * The answer is a superset: a member rewritten with the same bytes, or created and deleted again,
 * may be listed as changed or removed; properties (the sidecar) are not followed. The UID index reads
 * a listed member's UID again and drops a removed one it never had, so both cost only a read.
 */
import { BackendError } from '../errors.js';
import { joinPath, type Entry } from '../backend.js';
import { SIDECAR } from '../sidecar.js';
import { mapOrdered } from '../util/concurrency.js';
import type { LiveView } from './live-state.js';
import type { PathIndex } from './path-index.js';
import type { DirSlot, TreeEditor } from './tree.js';

/** Where the live view stood at a catch-up (opaque to callers). */
export interface CatchUpState {
  readonly catchUp: true;
  tipCommit: string | null;
  /** The lineage's `paths` set, weakly: the state must not keep a committed burst's paths alive. */
  lineage: WeakRef<ReadonlySet<string>>;
  appliedSeq: number;
  /**
   * The collection's members the lineage's records named, up to `appliedSeq`: after a commit, those a
   * record named that no commit holds (an append that failed after this process read it) still show.
   * Shared by the states of one lineage (each adds to it; a superset does no harm).
   */
  touched: Set<string>;
}

export interface CatchUpDeps {
  index: PathIndex;
  /** An entry as it is in an editor's state; null for what clients never see. */
  entryIn(editor: TreeEditor, path: string, time: Date): Promise<Entry | null>;
}

export interface CatchUpChanges {
  changed: Entry[];
  removed: string[];
  state: CatchUpState;
}

/** Members looked up by catch-ups since start: tests bound the work by it. */
export const catchUpWork = { looked: 0 };

export function isCatchUpState(x: unknown): x is CatchUpState {
  return typeof x === 'object' && x !== null && (x as CatchUpState).catchUp === true;
}

/**
 * Changes to the collection at `path` (a folder of `editor`, the state of `view`) since `since`
 * (undefined: every member, as added). Throws InvalidSyncToken when it cannot name them: the folder,
 * or one above it, replaced whole; the old tip not in the path index (history rewritten). The caller
 * then starts again from nothing.
 */
export async function catchUp(d: CatchUpDeps, view: LiveView, editor: TreeEditor, time: Date, path: string, slot: DirSlot, since: CatchUpState | undefined): Promise<CatchUpChanges> {
  const names = new Set<string>();
  const same = !!since && since.lineage.deref() === view.paths && since.tipCommit === view.tip.commit && view.appliedSeq >= since.appliedSeq;
  const touched = same ? since.touched : new Set<string>();
  // A record's effect at a member or below it names the member; at the collection or above it, the
  // collection was replaced whole and its members are not named (the first catch-up lists them all).
  const recorded = (p: string): void => {
    if (since && (p === path || isAbove(p, path))) throw new BackendError('InvalidSyncToken', path, 'the collection was replaced whole since the last catch-up');
    const name = memberOf(path, p);
    if (name === undefined) return;
    touched.add(name);
    names.add(name);
  };
  if (same) {
    // The records after the state's seq: the newest ones, walked from the end.
    for (let i = view.records.length - 1; i >= 0 && view.records[i]!.seq > since.appliedSeq; i--) for (const e of view.records[i]!.effects) recorded(e.path);
  } else {
    if (since) {
      // Another lineage: what the commits since the old tip changed (the path index also lists the
      // folders above each change: skipped, their members are listed too), and what the old lineage's records named.
      const at = since.tipCommit === null ? -1 : d.index.positionOf(since.tipCommit);
      if (at === undefined) throw new BackendError('InvalidSyncToken', path, 'the tip of the last catch-up is not in the history any more');
      for (const p of d.index.changedAfter(at)) {
        const name = memberOf(path, p);
        if (name !== undefined) names.add(name);
      }
      for (const name of since.touched) names.add(name);
    }
    for (const p of view.paths) recorded(p);
  }
  if (!since) names.clear(); // the first catch-up lists every member, as added
  const state: CatchUpState = { catchUp: true, tipCommit: view.tip.commit, lineage: new WeakRef(view.paths), appliedSeq: view.appliedSeq, touched };
  const changed: Entry[] = [];
  const removed: string[] = [];
  const asked = since ? [...names].sort() : [...(await editor.entries(slot)).keys()].sort();
  catchUpWork.looked += asked.length;
  // What clients never see (the sidecar, a submodule) counts as removed: it holds no object.
  for await (const { name, entry } of mapOrdered(asked, 16, async (name) => ({ name, entry: await d.entryIn(editor, joinPath(path, name), time) }))) {
    if (entry) changed.push(entry);
    else if (since) removed.push(joinPath(path, name));
  }
  return { changed, removed, state };
}

/** The name of the member of `dir` at or above `p` (undefined: `p` is not below `dir`, or is its sidecar). */
function memberOf(dir: string, p: string): string | undefined {
  if (!isAbove(dir, p)) return undefined;
  const name = p.slice(dir === '/' ? 1 : dir.length + 1).split('/')[0]!;
  return name === SIDECAR ? undefined : name;
}

/** Whether folder `dir` is strictly above `p`. */
function isAbove(dir: string, p: string): boolean {
  return p !== dir && (dir === '/' || p.startsWith(`${dir}/`));
}

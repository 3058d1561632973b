/**
 * The ETag of a folder the write journal changed and that is not committed yet (docs/git-backend.md,
 * "ETags and sync tokens of folders the journal changed"): `"<tree>-<journal>-<committed>-<seq>-<chain>"`,
 * the folder's tree id at the tip (0 when the tip has no folder there), the journal's id, the live
 * view's committed seq, the last uncommitted record that changed the folder and the chained digest of
 * the records' effects up to it (./journal-touches.ts). The folder's content is a function of the tip
 * tree and that digest (records are resolved effects, the same in every process; the digest, not the
 * seq, tells a record renumbered after a failed append from the one a reader saw), so the same state
 * has the same ETag in every worker and process once they see the same tip, and another content never
 * gets an ETag a client saw before; it costs a few look-ups, not a hash of every member (a
 * 100,000-member calendar: 170–350 ms per new state). Once the records are committed the folder's
 * ETag is its tree id again: one change of ETag without a change of content, one refetch by clients.
 */
import type { Entry } from '../backend.js';
import type { LiveView } from './live-state.js';
import type { ObjectStore } from './objects.js';
import { JournalTouches } from './journal-touches.js';
import { TreeEditor, type DirSlot } from './tree.js';

export interface FolderTagDeps {
  store: ObjectStore;
  placeholder: { name: string; oid: string };
  /**
   * The journal's id (the same for every process on the repository; new for a fresh journal), as of
   * the last read, which may be newer than the view: harmless, the chain, not the id, names the records.
   */
  journalId(): string;
}

/** What is between the quotes of a journal-named folder ETag (a sync delta's marker of an edited subfolder). */
export const ETAG_BODY = /^(0|[0-9a-f]{40})-[0-9a-f]{32}-\d{1,15}-\d{1,15}-[0-9a-f]{16}$/;

export class FolderTags {
  readonly touches = new JournalTouches();
  /** Per sealed folder slot: its path and ETag (a slot is one folder's state in one lineage: never stale). */
  private readonly known = new WeakMap<DirSlot, { path: string; etag: string }>();
  constructor(private readonly d: FolderTagDeps) {}

  /**
   * The ETag of `slot`, found at `path` in an editor built on `view` (a reader's, or a writer's batch's),
   * when it is the very slot the view has there; null otherwise (the caller hashes it, as before).
   */
  async etagOf(view: LiveView | undefined, path: string, slot: DirSlot): Promise<string | null> {
    const memo = this.known.get(slot);
    if (memo?.path === path) return memo.etag;
    if (slot.oid !== undefined || !view) return null;
    return (await this.holds(view, path, slot)) ? this.make(view, path, slot) : null;
  }

  private async holds(view: LiveView, path: string, slot: DirSlot): Promise<boolean> {
    return (await TreeEditor.fromSlot(this.d.store, view.root, this.d.placeholder).get(path)) === slot;
  }

  private async make(view: LiveView, path: string, slot: DirSlot): Promise<string | null> {
    const { seq, chain } = this.touches.touch(view, path);
    const id = this.d.journalId();
    if (seq <= view.committedSeq || !chain || !/^[0-9a-f]{32}$/.test(id)) return null;
    const atTip = await new TreeEditor(this.d.store, view.tip.tree, this.d.placeholder).get(path);
    const base = atTip?.kind === 'dir' ? (atTip.oid ?? '0') : '0';
    const etag = `"${base}-${id}-${view.committedSeq}-${seq}-${chain}"`;
    this.known.set(slot, { path, etag });
    return etag;
  }
}

/**
 * Gives a journaled folder's entry an ETag computed on first read, then kept as a plain value (the
 * fallback when the folder's state is not a live view's: its tree id, hashing every member). The
 * getter holds the folder's own sealed slot, not the reading editor and its whole overlay tree, and
 * lets go of it once the id is known.
 */
export function lazyEtag(entry: Entry, slot: DirSlot, hasher: () => TreeEditor): void {
  let held: DirSlot | null = slot;
  let make: (() => TreeEditor) | null = hasher;
  let value: string | undefined;
  Object.defineProperty(entry, 'etag', {
    get(this: Entry) {
      // A copy made from the descriptors (a mount's view) shares this getter: the id is kept here too.
      value ??= `"${make!().hash(held!)}"`;
      held = null;
      make = null;
      Object.defineProperty(this, 'etag', { value, enumerable: true, writable: true, configurable: true });
      return value;
    },
    enumerable: true,
    configurable: true,
  });
}

/**
 * History as read-only folders (docs/git-backend.md, "History as folders"): the paths and listings of
 * the history backend (./backend.ts), whose root the repository mounts at `/.history`:
 *
 *   branches/<name>/…   tags/<name>/…   commits/<sha or unique prefix>/…
 *   by-date/YYYY/MM/DD/HHMMSSZ-<short sha>/…   (./by-date.ts)
 *   versions/<path>/  one file per version of that file: YYYY-MM-DDTHHMMSSZ-<short sha>[.ext],
 *                     and folders that are or were, deleted members marked (./versions.ts)
 *   deleted/YYYY-MM-DDTHHMMSSZ-<short sha>/<path>   what each commit deleted (./deleted.ts)
 *
 * Ref names keep git's `/` as `~` (which git forbids in ref names, so the mapping is reversible);
 * no name contains `:` (Windows). Snapshots and versions are immutable; listings are bounded (kit.ts, LIST_CAP), newest first, each
 * folder dated by its own (or its newest) commit.
 */
import { joinPath, type Entry } from '../../backend.js';
import { BackendError } from '../../errors.js';
import { tagTarget, type ObjectStore } from '../objects.js';
import type { PathIndex, CommitMeta } from '../path-index.js';
import { isValidRefName, type Refs } from '../refs.js';
import { TreeEditor, isListable, type Slot } from '../tree.js';
import { shallowDir } from '../sidecars.js';
import { gathered } from './gather.js';
import { SIDECAR } from '../../sidecar.js';
import { byDate } from './by-date.js';
import { deleted } from './deleted.js';
import { LIST_CAP, commitRoot, commitTag, newestFirst, virtualFolder, type AreaKit, type Child, type FolderOptions, type Located } from './kit.js';
import { versionName, versions } from './versions.js';

export type { Child, Located } from './kit.js';

/** The name of history's mount point in the repository's root (a reserved name in the live tree). */
export const HISTORY = '.history';
const LIVE_HISTORY = `/${HISTORY}`;
/** A snapshot lists what the live folder did, within reason. */
const SNAPSHOT_LIMIT = 10_000;

export interface HistoryDeps {
  store: ObjectStore;
  refs: Refs;
  index: PathIndex;
  placeholder: { name: string; oid: string };
  /** Brings the index to the branch tip and returns the tip's time. */
  current(): Promise<Date>;
  /** Whether a live path is a collection (for navigating versions/). */
  liveKind(path: string): Promise<'file' | 'collection' | null>;
  /** The names of a live folder's members. */
  liveNames(path: string): Promise<string[]>;
  /** Most members a history folder lists (default LIST_CAP); tests set it low. */
  listCap?: number;
}

/** Where history is seen from the repository's root (for messages naming a history path). */
const HISTORY_AT = LIVE_HISTORY;

/** The live tree's own `.history` (where history is mounted): never a live folder. */
function isMountPath(livePath: string): boolean {
  return livePath === LIVE_HISTORY || livePath.startsWith(LIVE_HISTORY + '/');
}

export class History {
  constructor(private readonly d: HistoryDeps) {}

  /** Resolves a path of history (`/` is its root), or null when it names nothing. */
  async locate(path: string): Promise<Located | null> {
    const segs = path.split('/').filter(Boolean);
    const tipTime = await this.d.current();
    const tip = this.tipTag();
    const folder = (children: () => Promise<Child[]>, o: FolderOptions = {}): Located => ({ kind: 'folder', path, time: o.time ?? tipTime, version: o.version ?? tip, children, immutable: o.immutable ?? false, deleted: o.deleted, restore: o.restore });
    const kit: AreaKit = { path, index: this.d.index, cap: this.d.listCap ?? LIST_CAP, folder, snapshot: (c, inner, immutable) => this.snapshot(path, c, inner, immutable) };
    const [area, ...rest] = segs;
    if (!area) return folder(async () => ['branches', 'tags', 'commits', 'by-date', 'versions', 'deleted'].map((name) => ({ name, kind: 'collection' as const })));

    if (area === 'branches' || area === 'tags') {
      const prefix = area === 'branches' ? 'refs/heads/' : 'refs/tags/';
      if (rest.length === 0) {
        return folder(async () => [...(await this.d.refs.list(prefix)).keys()].slice(0, kit.cap).map((r) => ({ name: r.slice(prefix.length).replace(/\//g, '~'), kind: 'collection' as const })));
      }
      const name = rest[0]!.replace(/~/g, '/');
      if (!isValidRefName(name)) throw new BackendError('InvalidName', path, `"${rest[0]}" is not a valid ${area === 'branches' ? 'branch' : 'tag'} name`);
      const target = await this.d.refs.read(prefix + name);
      if (!target) return null;
      const commit = await this.peel(target);
      return commit ? this.snapshot(path, commit, rest.slice(1), area === 'tags') : null;
    }

    if (area === 'commits') {
      if (rest.length === 0) {
        // Newest first (the branch's first-parent order), each dated by its own commit.
        return folder(async () => {
          const all = this.d.index.all();
          const out: Child[] = [];
          for (let at = all.length - 1; at >= 0 && out.length < kit.cap; at--) out.push(commitRoot(all[at]!, all[at]!.oid.slice(0, 12), newestFirst(at)));
          return out;
        });
      }
      const commit = await this.expand(rest[0]!, path);
      return commit ? this.snapshot(path, commit, rest.slice(1), true) : null;
    }

    if (area === 'by-date') return byDate(kit, rest);
    if (area === 'versions') return versions(kit, { liveKind: (p) => this.d.liveKind(p), liveNames: (p) => this.d.liveNames(p), isMount: isMountPath, fileEntry: (p, oid, c) => this.fileEntry(p, oid, c) }, rest);
    if (area === 'deleted') return deleted(kit, rest);
    return null;
  }

  async stat(path: string): Promise<Entry | null> {
    const loc = await this.locate(path);
    if (!loc) return null;
    if (loc.kind === 'folder') return withMarks(virtualFolder(path, loc.time, loc.immutable, loc.version), undefined, loc.deleted);
    if (loc.kind === 'version') return this.fileEntry(path, loc.oid, loc.commit);
    const slot = await loc.editor.get(loc.inner);
    if (!slot || !isListable(slot) || hidden(loc.inner)) return null;
    return this.slotEntry(path, slot, loc.commit, loc.immutable);
  }

  async *list(path: string): AsyncIterable<Entry> {
    const loc = await this.locate(path);
    if (!loc) throw new BackendError('NotFound', path);
    if (loc.kind === 'version') throw new BackendError('NotACollection', path);
    if (loc.kind === 'folder') {
      for (const child of await loc.children()) {
        const childPath = joinPath(path, child.name);
        if (child.entry) yield await child.entry();
        else if (child.kind === 'collection') yield withMarks(virtualFolder(childPath, child.time ?? loc.time, child.immutable ?? loc.immutable, child.version ?? this.tipTag()), child.sortKey, child.deleted);
        else {
          const e = await this.stat(childPath);
          if (e) yield e;
        }
      }
      return;
    }
    const slot = await loc.editor.get(loc.inner);
    if (!slot) throw new BackendError('NotFound', path);
    if (slot.kind !== 'dir') throw new BackendError('NotACollection', path);
    let n = 0;
    for (const [name, child] of await loc.editor.entries(slot)) {
      if (name === SIDECAR || !isListable(child)) continue;
      if (++n > SNAPSHOT_LIMIT) break;
      yield await this.slotEntry(joinPath(path, name), child, loc.commit, loc.immutable);
    }
  }

  /** The tree slot a path names (for reads and for COPY out of history), with its commit. */
  async slotOf(path: string): Promise<{ slot: Slot; commit: CommitMeta; editor?: TreeEditor; inner?: string } | null> {
    const loc = await this.locate(path);
    if (!loc || loc.kind === 'folder') return null;
    if (loc.kind === 'version') return { slot: { kind: 'file', mode: '100644', oid: loc.oid }, commit: loc.commit };
    if (hidden(loc.inner)) return null;
    const slot = await loc.editor.get(loc.inner);
    return slot && isListable(slot) ? { slot, commit: loc.commit, editor: loc.editor, inner: loc.inner } : null;
  }

  /**
   * What a COPY of a virtual folder of versions/ or deleted/ places: a folder (built here, its
   * members by id, removed files' properties in its sidecars); null for a folder that restores
   * nothing; a 409 naming the path to copy where no folder can stand for it (a file's versions).
   */
  async restoredFolder(path: string, depth: 0 | 'infinity'): Promise<{ slot: Slot; commit: CommitMeta } | null> {
    const loc = await this.locate(path);
    if (!loc || loc.kind !== 'folder' || !loc.restore) return null;
    const r = loc.restore;
    if ('instead' in r) throw new BackendError('Conflict', path, `${path} is a file's versions, not a folder to restore: COPY ${HISTORY_AT}${r.instead} (its newest version) instead`);
    const editor = new TreeEditor(this.d.store, r.from.tree, this.d.placeholder);
    if (r.paths === null) {
      const slot = await editor.get(r.root);
      if (!slot || slot.kind !== 'dir') return null;
      return { slot: depth === 0 ? await shallowDir(this.d.store, editor, r.root) : slot, commit: r.from };
    }
    return { slot: depth === 0 ? { kind: 'dir', entries: new Map() } : await gathered(this.d.store, editor, r.root, r.paths), commit: r.from };
  }

  /** The name of a file version in versions/<path>/. */
  static versionName(livePath: string, commit: CommitMeta): string {
    return versionName(livePath, commit);
  }

  // ---- areas --------------------------------------------------------------------------------------

  private snapshot(path: string, commit: CommitMeta, inner: string[], immutable: boolean): Located {
    return {
      kind: 'snapshot',
      path,
      commit,
      editor: new TreeEditor(this.d.store, commit.tree, this.d.placeholder),
      inner: '/' + inner.join('/'),
      immutable,
    };
  }

  // ---- helpers ------------------------------------------------------------------------------------

  /** The default ETag of a virtual folder: the tip's id (the index is at the tip once current() returned). */
  private tipTag(): string {
    const all = this.d.index.all();
    return commitTag(all[all.length - 1]?.oid ?? 'empty');
  }

  private async expand(prefix: string, path: string): Promise<CommitMeta | null> {
    if (!/^[0-9a-f]{4,40}$/.test(prefix)) {
      if (/^[0-9a-fA-F]*$/.test(prefix)) return null;
      throw new BackendError('InvalidName', path, `"${prefix}" is not a commit id (4 to 40 hex digits)`);
    }
    const oid = await this.d.store.expand(prefix);
    return oid ? this.peel(oid) : null; // unknown or ambiguous: not found
  }

  /** A commit (peeling annotated tags), as index metadata; null if `oid` is no commit. */
  private async peel(oid: string): Promise<CommitMeta | null> {
    let target = oid;
    for (let i = 0; i < 5; i++) {
      try {
        const { type, content } = await this.d.store.readRaw(target);
        if (type === 'commit') {
          const c = await this.d.store.readCommit(target);
          return { oid: target, time: c.author.timestamp, author: c.author.name, tree: c.tree };
        }
        const next = type === 'tag' ? tagTarget(content) : null;
        if (!next) return null;
        target = next;
      } catch {
        return null;
      }
    }
    return null;
  }

  private async slotEntry(path: string, slot: Slot, commit: CommitMeta, immutable: boolean): Promise<Entry> {
    if (slot.kind === 'dir') return { path, kind: 'collection', size: 0, etag: `"${slot.oid}"`, modified: new Date(commit.time * 1000), immutable, finiteDepth: true };
    return { ...(await this.fileEntry(path, slot.oid, commit)), immutable };
  }

  private async fileEntry(path: string, oid: string, commit: CommitMeta): Promise<Entry> {
    return { path, kind: 'file', size: await this.d.store.blobSize(oid), etag: `"${oid}"`, modified: new Date(commit.time * 1000), immutable: true };
  }
}

/** An entry with its HTML order and deleted mark, where it has them. */
function withMarks(e: Entry, sortKey: string | undefined, deleted: Date | undefined): Entry {
  if (sortKey !== undefined) e.sortKey = sortKey;
  if (deleted) e.deleted = deleted;
  return e;
}

function hidden(inner: string): boolean {
  return inner.split('/').includes(SIDECAR);
}

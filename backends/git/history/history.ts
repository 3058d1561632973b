/**
 * History as read-only folders (docs/git-backend.md, "History as folders"): the paths and listings of
 * the history backend (./backend.ts), whose root the repository mounts at `/.history`:
 *
 *   branches/<name>/…   tags/<name>/…   commits/<sha or unique prefix>/…
 *   by-date/YYYY/MM/DD/HHMMSSZ-<short sha>/…
 *   versions/<live path>/  one file per version of that file: YYYY-MM-DDTHHMMSSZ-<short sha>[.ext]
 *
 * Ref names keep git's `/` as `~` (which git forbids in ref names, so the mapping is reversible);
 * no name contains `:` (Windows). Snapshots and versions are immutable; listings are bounded.
 */
import { baseName, joinPath, type Entry } from '../../backend.js';
import { BackendError } from '../../errors.js';
import { tagTarget, type ObjectStore } from '../objects.js';
import type { PathIndex, CommitMeta } from '../path-index.js';
import { isValidRefName, type Refs } from '../refs.js';
import { TreeEditor, isListable, type Slot } from '../tree.js';
import { SIDECAR } from '../../sidecar.js';

/** The name of history's mount point in the repository's root (a reserved name in the live tree). */
export const HISTORY = '.history';
const LIVE_HISTORY = `/${HISTORY}`;
const LIST_LIMIT = 1000;
const RECENT_COMMITS = 100;

/** A member of a virtual folder; `entry` when the folder already knows it (saves a lookup per child). */
export interface Child {
  name: string;
  kind: 'file' | 'collection';
  entry?: () => Promise<Entry>;
}

/** What a history path names. */
export type Located =
  | { kind: 'folder'; path: string; time: Date; children: () => Promise<Child[]>; immutable: boolean }
  | { kind: 'snapshot'; path: string; commit: CommitMeta; editor: TreeEditor; inner: string; immutable: boolean }
  | { kind: 'version'; path: string; commit: CommitMeta; oid: string; livePath: string };

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
}

/** The live tree's own `.history` (where history is mounted): never a live folder. */
function isMountPath(livePath: string): boolean {
  return livePath === LIVE_HISTORY || livePath.startsWith(LIVE_HISTORY + '/');
}

export class History {
  constructor(private readonly d: HistoryDeps) {}

  /** Resolves a path of history (`/` is its root), or null when it names nothing. */
  async locate(path: string): Promise<Located | null> {
    const segs = path.split('/').filter(Boolean);
    const time = await this.d.current();
    const folder = (children: () => Promise<Child[]>, immutable = false): Located => ({ kind: 'folder', path, time, children, immutable });
    const [area, ...rest] = segs;
    if (!area) return folder(async () => ['branches', 'tags', 'commits', 'by-date', 'versions'].map((name) => ({ name, kind: 'collection' as const })));

    if (area === 'branches' || area === 'tags') {
      const prefix = area === 'branches' ? 'refs/heads/' : 'refs/tags/';
      if (rest.length === 0) {
        return folder(async () => [...(await this.d.refs.list(prefix)).keys()].slice(0, LIST_LIMIT).map((r) => ({ name: r.slice(prefix.length).replace(/\//g, '~'), kind: 'collection' as const })));
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
        return folder(async () => this.d.index.all().slice(-RECENT_COMMITS).reverse().map((c) => ({ name: c.oid.slice(0, 12), kind: 'collection' as const })));
      }
      const commit = await this.expand(rest[0]!, path);
      return commit ? this.snapshot(path, commit, rest.slice(1), true) : null;
    }

    if (area === 'by-date') return this.byDate(path, rest, folder);

    if (area === 'versions') return this.versions(path, rest, folder);
    return null;
  }

  async stat(path: string): Promise<Entry | null> {
    const loc = await this.locate(path);
    if (!loc) return null;
    if (loc.kind === 'folder') return virtualFolder(path, loc.time, loc.immutable);
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
        else if (child.kind === 'collection') yield virtualFolder(childPath, loc.time, loc.immutable);
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
      if (++n > LIST_LIMIT * 10) break; // a snapshot lists what the live folder did, within reason
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

  /** The name of a file version in versions/<path>/. */
  static versionName(livePath: string, commit: CommitMeta): string {
    const name = baseName(livePath);
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 ? name.slice(dot) : '';
    return `${stamp(commit.time).replace(/^(\d{4})(\d{2})(\d{2})T/, '$1-$2-$3T')}-${commit.oid.slice(0, 7)}${ext}`;
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

  private byDate(path: string, rest: string[], folder: (c: () => Promise<Child[]>, immutable?: boolean) => Located): Located | null {
    const commits = this.d.index.all();
    const keyOf = (c: CommitMeta) => stamp(c.time); // YYYYMMDDTHHMMSSZ
    const [y, m, d, leaf, ...inner] = rest;
    const distinct = (pick: (k: string) => string, filter: (k: string) => boolean) => async () =>
      [...new Set(commits.map(keyOf).filter(filter).map(pick))].sort().map((name) => ({ name, kind: 'collection' as const }));
    if (!y) return folder(distinct((k) => k.slice(0, 4), () => true));
    if (!/^\d{4}$/.test(y)) return null;
    if (!m) return folder(distinct((k) => k.slice(4, 6), (k) => k.startsWith(y)));
    if (!/^\d{2}$/.test(m)) return null;
    if (!d) return folder(distinct((k) => k.slice(6, 8), (k) => k.startsWith(y + m)));
    if (!/^\d{2}$/.test(d)) return null;
    const day = commits.filter((c) => keyOf(c).startsWith(y + m + d));
    const leafName = (c: CommitMeta) => `${keyOf(c).slice(9)}-${c.oid.slice(0, 7)}`; // HHMMSSZ-abc1234
    if (!leaf) return folder(async () => day.slice(-LIST_LIMIT).map((c) => ({ name: leafName(c), kind: 'collection' as const })), true);
    const commit = day.find((c) => leafName(c) === leaf);
    return commit ? this.snapshot(path, commit, inner, true) : null;
  }

  private async versions(path: string, rest: string[], folder: (c: () => Promise<Child[]>, immutable?: boolean) => Located): Promise<Located | null> {
    const index = this.d.index;
    // versions/<live path>/<version>: find the longest prefix of `rest` that had file versions.
    // The index remembers each change's blob: listing versions reads no tree at all.
    const fileVersions = async (p: string) =>
      index
        .changesOf(p)
        .filter((c) => c.oid !== null && !c.isTree)
        .map((c) => ({ commit: c.commit, oid: c.oid! }));
    const live = '/' + rest.join('/');
    if (rest.length >= 1) {
      const parent = '/' + rest.slice(0, -1).join('/');
      const leaf = rest[rest.length - 1]!;
      // …/<file>/<version name>
      const short = rest.length >= 2 ? /^\d{4}-\d{2}-\d{2}T\d{6}Z-([0-9a-f]{7})/.exec(leaf)?.[1] : undefined;
      if (short) {
        const found = (await fileVersions(parent)).find((v) => v.commit.oid.startsWith(short) && History.versionName(parent, v.commit) === leaf);
        return found ? { kind: 'version', path, commit: found.commit, oid: found.oid, livePath: parent } : null;
      }
    }
    // The live tree's own `.history` is not a live folder: mirroring it here would nest history in
    // history without end (a recursive client — rclone, a search in Explorer — would never stop).
    if (isMountPath(live)) return null;
    const kind = await this.d.liveKind(live);
    if (kind === 'collection') {
      // A live folder: navigate (its members, each a folder of versions or further folders).
      return folder(async () => {
        const out: Array<{ name: string; kind: 'collection' }> = [];
        for (const name of await this.d.liveNames(live)) if (!isMountPath(joinPath(live, name))) out.push({ name, kind: 'collection' });
        return out;
      });
    }
    const versions = await fileVersions(live);
    if (versions.length === 0) return null;
    return folder(async () =>
      versions
        .slice(-LIST_LIMIT)
        .reverse()
        .map((v) => {
          const name = History.versionName(live, v.commit);
          return { name, kind: 'file' as const, entry: () => this.fileEntry(joinPath(path, name), v.oid, v.commit) };
        }),
    );
  }

  // ---- helpers ------------------------------------------------------------------------------------

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

function virtualFolder(path: string, time: Date, immutable: boolean): Entry {
  return { path, kind: 'collection', size: 0, etag: `"h${time.getTime().toString(16)}"`, modified: time, immutable, finiteDepth: true };
}

function hidden(inner: string): boolean {
  return inner.split('/').includes(SIDECAR);
}

/** `YYYYMMDDTHHMMSSZ` in UTC: sortable, and free of `:`. */
function stamp(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

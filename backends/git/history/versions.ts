/**
 * `versions/<path>/`: a folder mirrors a folder that is or was (its live members and every name the
 * path index ever saw under it, the gone ones marked deleted); a file is a folder of its versions,
 * `YYYY-MM-DDTHHMMSSZ-<short sha>[.ext]`, newest first. A folder that no longer exists still
 * answers, so `../` from a deleted file's versions leads somewhere.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { baseName, joinPath, type Entry } from '../../backend.js';
import { SIDECAR } from '../../sidecar.js';
import type { CommitMeta } from '../path-index.js';
import { datedName, dateOf, newestFirst, type AreaKit, type Child, type Located } from './kit.js';

/** Names looked up per turn of the event loop when listing a folder's gone members. */
const TURN = 1_000;

export interface VersionsDeps {
  liveKind(path: string): Promise<'file' | 'collection' | null>;
  liveNames(path: string): Promise<string[]>;
  /** Whether a live path is history's own mount point (never mirrored: history would nest in itself). */
  isMount(path: string): boolean;
  fileEntry(path: string, oid: string, commit: CommitMeta): Promise<Entry>;
}

/** The name of a file version in versions/<path>/. */
export function versionName(livePath: string, commit: CommitMeta): string {
  const name = baseName(livePath);
  const dot = name.lastIndexOf('.');
  return datedName(commit) + (dot > 0 ? name.slice(dot) : '');
}

export async function versions(kit: AreaKit, d: VersionsDeps, rest: string[]): Promise<Located | null> {
  const index = kit.index;
  // The index remembers each change's blob: listing versions reads no tree at all.
  const fileVersions = (p: string) =>
    index
      .changesOf(p)
      .filter((c) => c.oid !== null && !c.isTree)
      .map((c) => ({ commit: c.commit, oid: c.oid! }));
  const live = '/' + rest.join('/');
  if (rest.length >= 2) {
    // …/<file>/<version name>
    const parent = '/' + rest.slice(0, -1).join('/');
    const leaf = rest[rest.length - 1]!;
    const short = /^\d{4}-\d{2}-\d{2}T\d{6}Z-([0-9a-f]{7})/.exec(leaf)?.[1];
    if (short) {
      const found = fileVersions(parent).find((v) => v.commit.oid.startsWith(short) && versionName(parent, v.commit) === leaf);
      return found ? { kind: 'version', path: kit.path, commit: found.commit, oid: found.oid, livePath: parent } : null;
    }
  }
  if (d.isMount(live)) return null;
  const kind = await d.liveKind(live);
  const last = kind === null ? lastKnown(kit, live) : undefined;
  if (kind === 'collection' || last?.isTree) {
    // A folder that is, or was: live members, then every other name ever under it, marked deleted.
    const deleted = kind === null ? removalTime(kit, live) : undefined;
    // A COPY of it restores the folder as it last stood (at its last change, it held what it held
    // when removed), or as it is at the branch tip.
    const all = index.all();
    const from = last?.commit ?? all[all.length - 1];
    const restore = from ? { restore: { from, root: live, paths: null } } : {};
    return kit.folder(async () => {
      const liveNames = kind === 'collection' ? (await d.liveNames(live)).filter((n) => !d.isMount(joinPath(live, n))) : [];
      const out: Child[] = liveNames.map((name) => ({ name, kind: 'collection' }));
      const seen = new Set(liveNames);
      let turn = 0;
      for (const name of (await index.childrenOf(live)).sort()) {
        if (++turn % TURN === 0) await nextTurn(); // a folder of 50,000 names ever: not one block
        if (seen.has(name) || name === SIDECAR || d.isMount(joinPath(live, name))) continue;
        const gone = removalTime(kit, joinPath(live, name));
        if (gone) out.push({ name, kind: 'collection', time: gone, deleted: gone });
        if (out.length >= kit.cap) break;
      }
      return out;
    }, deleted ? { time: deleted, deleted, ...restore } : restore);
  }
  const found = fileVersions(live);
  if (found.length === 0) return null;
  const folderTime = kind === null ? removalTime(kit, live) : undefined;
  // A file's versions are no folder to restore: a COPY of it is told to copy the newest version.
  const newest = found[found.length - 1]!;
  const instead = { restore: { instead: joinPath(kit.path, versionName(live, newest.commit)) } };
  return kit.folder(
    async () =>
      found
        .map((v, k) => ({ ...v, sortKey: newestFirst(k) })) // k: its place among the file's versions, oldest first
        .slice(-kit.cap)
        .reverse()
        .map((v) => {
          const name = versionName(live, v.commit);
          return { name, kind: 'file' as const, entry: async () => ({ ...(await d.fileEntry(joinPath(kit.path, name), v.oid, v.commit)), sortKey: v.sortKey }) };
        }),
    folderTime ? { time: folderTime, deleted: folderTime, ...instead } : instead,
  );
}

/** The last change the index holds for a path, if any. */
function lastKnown(kit: AreaKit, path: string) {
  const changes = kit.index.changesOf(path);
  for (let k = changes.length - 1; k >= 0; k--) if (changes[k]!.oid !== null) return changes[k]!;
  return undefined;
}

/** When a path the index knows was removed (its last change removed it); undefined if it stands. */
function removalTime(kit: AreaKit, path: string): Date | undefined {
  const changes = kit.index.changesOf(path);
  const last = changes[changes.length - 1];
  return last && last.oid === null ? dateOf(last.commit) : undefined;
}

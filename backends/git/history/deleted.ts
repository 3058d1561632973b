/**
 * `deleted/<YYYY-MM-DDTHHMMSSZ-short sha>/<path>`: what each commit deleted, newest first, as it was
 * just before (from the commit's parent's tree). A deleting commit's folder holds only the removed
 * paths and the folders leading to them; below a removed path it is an ordinary snapshot. A COPY
 * (or a drag) of any of them back into the live tree restores by id: a removed file or folder as it
 * was, and a commit's folder or a folder on the way as a folder of what was removed below it.
 */
import { joinPath } from '../../backend.js';
import type { CommitMeta, DeletingCommit } from '../path-index.js';
import { commitTag, datedName, dateOf, newestFirst, type AreaKit, type Child, type Located } from './kit.js';

export async function deleted(kit: AreaKit, rest: string[]): Promise<Located | null> {
  const all = kit.index.all();
  const deletions = await kit.index.deletions();
  const [name, ...inner] = rest;
  if (name === undefined) {
    return kit.folder(async () => {
      // The newest `cap` deleting commits; older ones answer by name (their names are in versions/ and by-date).
      const out: Child[] = [];
      for (let k = deletions.commits.length - 1; k >= 0 && out.length < kit.cap; k--) {
        const c = all[deletions.commits[k]!.at]!;
        out.push({ name: datedName(c), kind: 'collection', time: dateOf(c), sortKey: newestFirst(deletions.commits[k]!.at), version: commitTag(c.oid), immutable: true });
      }
      return out;
    });
  }
  const short = /^\d{4}-\d{2}-\d{2}T\d{6}Z-([0-9a-f]{7})$/.exec(name)?.[1];
  if (!short) return null;
  const found = deletions.byShort(short).find((d) => datedName(all[d.at]!) === name);
  if (!found) return null;
  const commit = all[found.at]!;
  const before = all[found.at - 1]!;
  const removed = removedSet(found);
  const q = '/' + inner.join('/');
  // At or below a removed path: the tree as it was just before the commit.
  for (let p = q; p !== '/'; p = p.slice(0, p.lastIndexOf('/')) || '/') if (removed.has(p)) return kit.snapshot(before, inner, true);
  const below = q === '/' ? found.paths : found.paths.filter((p) => p.startsWith(q + '/'));
  if (below.length === 0) return null;
  return kit.folder(
    async () => {
      const names = [...new Set(below.map((p) => p.slice(q === '/' ? 1 : q.length + 1).split('/')[0]!))].sort();
      // A removed path is listed from the snapshot (kind 'file' asks for its entry); a folder on the way is virtual.
      return names.map((n) => (removed.has(joinPath(q, n)) ? { name: n, kind: 'file' as const } : { name: n, kind: 'collection' as const, version: commitTag(commit.oid) }));
    },
    { immutable: true, time: dateOf(commit), version: commitTag(commit.oid), restore: restoreOf(before, q, below) },
  );
}

/** A virtual folder restores as a folder of the paths removed below it, as `before` held them. */
function restoreOf(before: CommitMeta, q: string, below: string[]) {
  return { from: before, root: q, paths: below.map((p) => p.slice(q === '/' ? 1 : q.length + 1)) };
}

/** A deleting commit's removed paths as a set (made once per commit, kept while the index keeps it). */
const sets = new WeakMap<DeletingCommit, Set<string>>();
function removedSet(d: DeletingCommit): Set<string> {
  let set = sets.get(d);
  if (!set) sets.set(d, (set = new Set(d.paths)));
  return set;
}

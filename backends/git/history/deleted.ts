/**
 * `deleted/<YYYY-MM-DDTHHMMSSZ-short sha>/<path>`: what each commit deleted, newest first, as it was
 * just before (from the commit's parent's tree). A deleting commit's folder holds only the removed
 * paths and the folders leading to them; below a removed path it is an ordinary snapshot, so a
 * COPY (or a drag) from there back into the live tree restores a file or a whole folder by id.
 */
import { joinPath } from '../../backend.js';
import { SIDECAR } from '../../sidecar.js';
import { datedName, dateOf, newestFirst, type AreaKit, type Child, type Located } from './kit.js';

export function deleted(kit: AreaKit, rest: string[]): Located | null {
  const all = kit.index.all();
  const removals = kit.index.deletions().filter((r) => r.at > 0 && !r.path.split('/').includes(SIDECAR));
  const [name, ...inner] = rest;
  if (name === undefined) {
    return kit.folder(async () => {
      const out: Child[] = [];
      let previous = -1;
      for (let k = removals.length - 1; k >= 0 && out.length < kit.cap; k--) {
        const at = removals[k]!.at;
        if (at === previous) continue;
        previous = at;
        const c = all[at]!;
        out.push({ name: datedName(c), kind: 'collection', time: dateOf(c), sortKey: newestFirst(at) });
      }
      return out;
    });
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{6}Z-[0-9a-f]{7}$/.test(name)) return null;
  const at = removals.find((r) => datedName(all[r.at]!) === name)?.at;
  if (at === undefined) return null;
  const paths = removals.filter((r) => r.at === at).map((r) => r.path);
  const q = '/' + inner.join('/');
  // At or below a removed path: the tree as it was just before the commit.
  if (paths.some((p) => q === p || q.startsWith(p + '/'))) return kit.snapshot(all[at - 1]!, inner, true);
  const below = paths.filter((p) => q === '/' || p.startsWith(q + '/'));
  if (below.length === 0) return null;
  return kit.folder(
    async () => {
      const names = [...new Set(below.map((p) => p.slice(q === '/' ? 1 : q.length + 1).split('/')[0]!))].sort();
      // A removed path is listed from the snapshot (kind 'file' asks for its entry); a folder on the way is virtual.
      return names.map((n) => ({ name: n, kind: paths.includes(joinPath(q, n)) ? ('file' as const) : ('collection' as const) }));
    },
    { immutable: true, time: dateOf(all[at]!) },
  );
}

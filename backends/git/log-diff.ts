/**
 * Which files two trees differ in, below a path: the history pages' "changed files" of a commit
 * (./log.ts). Only subtrees whose ids differ are read (as the path index does, ./path-index.ts), and
 * the walk is bounded: at most `limit` files are returned, and counting stops at `countCap` more, so a
 * commit that added 1,000,000 files costs a bounded walk, not a whole tree.
 */
import { joinPath } from '../backend.js';
import type { ChangedFile } from '../capabilities.js';
import { SIDECAR } from '../sidecar.js';
import { compareTreeEntries, EMPTY_TREE, type ObjectStore, type TreeEntry } from './objects.js';

/** Files counted past the limit before the walk stops (the page then says "more than N"). */
export const COUNT_CAP = 100_000;
const TREE = '40000';

export interface TreeDiff {
  files: ChangedFile[];
  /** Changed files left out (counted up to the walk's cap). */
  more: number;
  /** The count reached the cap and stopped: there may be more ("N+"). */
  capped: boolean;
}

/** The entry at `path` in tree `root` (the root itself for `/`), or null. */
export async function entryAt(store: ObjectStore, root: string, path: string): Promise<TreeEntry | null> {
  let at: TreeEntry = { mode: TREE, name: '', oid: root };
  for (const name of path.split('/').filter(Boolean)) {
    if (at.mode !== TREE) return null;
    const found = (await store.readTree(at.oid)).find((e) => e.name === name);
    if (!found) return null;
    at = found;
  }
  return at;
}

/** The files that differ below `path` between trees `before` and `after` (commit trees), in tree order. */
export async function diffBelow(store: ObjectStore, before: string, after: string, path: string, limit: number, countCap = COUNT_CAP): Promise<TreeDiff> {
  const out: Walk = { files: [], more: 0, capped: false, cap: countCap };
  const a = await entryAt(store, before, path);
  const b = await entryAt(store, after, path);
  await diffEntries(store, a, b, path, limit, out);
  return { files: out.files, more: out.more, capped: out.more >= countCap };
}

function isTree(e: TreeEntry | null | undefined): boolean {
  return e?.mode === TREE;
}

interface Walk extends TreeDiff {
  cap: number;
}

/** Whether the walk has counted all it may. */
function full(out: Walk, limit: number): boolean {
  return out.files.length >= limit && out.more >= out.cap;
}

function add(out: Walk, limit: number, f: ChangedFile): void {
  if (out.files.length < limit) out.files.push(f);
  else out.more++;
}

async function diffEntries(store: ObjectStore, a: TreeEntry | null, b: TreeEntry | null, path: string, limit: number, out: Walk): Promise<void> {
  if (full(out, limit)) return;
  if (a && b && a.oid === b.oid && a.mode === b.mode) return;
  const fileA = a && !isTree(a) ? a : null;
  const fileB = b && !isTree(b) ? b : null;
  if (fileA || fileB) {
    const change = fileA && fileB ? 'M' : fileA ? 'D' : 'A';
    add(out, limit, { path, change, oldId: fileA?.oid ?? null, newId: fileB?.oid ?? null, oldMode: fileA?.mode ?? null, newMode: fileB?.mode ?? null });
  }
  if (!isTree(a) && !isTree(b)) return;
  // Both trees are in git's order: one merge walk, no maps (a flat folder may hold 100,000 files).
  const left = isTree(a) ? await store.readTree(a!.oid) : await store.readTree(EMPTY_TREE);
  const right = isTree(b) ? await store.readTree(b!.oid) : await store.readTree(EMPTY_TREE);
  let i = 0;
  let j = 0;
  while ((i < left.length || j < right.length) && !full(out, limit)) {
    const order = i >= left.length ? 1 : j >= right.length ? -1 : compareTreeEntries(left[i]!, right[j]!);
    const l = order <= 0 ? left[i++]! : null;
    const r = order >= 0 ? right[j++]! : null;
    const name = (l ?? r)!.name;
    if (name === SIDECAR) continue; // properties and empty folders' placeholders: no file of the user's
    await diffEntries(store, l, r, joinPath(path, name), limit, out);
  }
}

/**
 * Git's object formats, without I/O: the types, the `<type> <size>\0` header, an object's id, tree and
 * commit content parsed and serialised, a tag's target, and git's tree order. The storage modules
 * (loose.ts, pack.ts) and the facade (objects.ts) build on these; nothing here imports them.
 */
import { createHash } from 'node:crypto';
import { BackendError } from '../errors.js';

export type ObjectType = 'blob' | 'tree' | 'commit' | 'tag';

export interface TreeEntry {
  mode: string; // '100644' | '100755' | '120000' | '40000' | '160000'
  name: string;
  oid: string;
}

export interface CommitInfo {
  oid: string;
  tree: string;
  parents: string[];
  author: { name: string; email: string; timestamp: number };
  message: string;
}

/** What a new commit says: the signatures are already formatted (`Name <email> seconds +zone`). */
export interface CommitFields {
  tree: string;
  parents: string[];
  author: string;
  committer: string;
  message: string;
}

export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/** zlib works in 16 KiB chunks by default; 256 KiB quadruples inflate and deflate speed here. */
export const ZLIB_CHUNK = 256 * 1024;

/** The header git hashes and stores before an object's content. */
export function objectHeader(type: ObjectType, size: number): Buffer {
  return Buffer.from(`${type} ${size}\0`);
}

/** An object's id: the SHA-1 of its header and content. */
export function objectId(type: ObjectType, content: Buffer): string {
  return createHash('sha1').update(objectHeader(type, content.length)).update(content).digest('hex');
}

/** Parses `<type> <size>\0` at the start of `buf` (an inflated loose object, or its first bytes). */
export function parseHeader(oid: string, buf: Buffer): { type: ObjectType; size: number } {
  const nul = buf.indexOf(0);
  const m = nul > 0 ? /^(blob|tree|commit|tag) (\d+)$/.exec(buf.subarray(0, nul).toString('latin1')) : null;
  if (!m) throw corrupt(oid, new Error('bad object header'));
  return { type: m[1] as ObjectType, size: Number(m[2]) };
}

/**
 * Tree content: `<mode> <name>\0<20-byte id>` repeated. Whether its names are in git's order, each
 * once, is recorded as it is read (isGitOrdered), comparing the name bytes in place.
 */
export function parseTree(oid: string, buf: Buffer): TreeEntry[] {
  const out: TreeEntry[] = [];
  let ordered = true;
  let prevStart = 0;
  let prevEnd = 0;
  let prevDir = false;
  let i = 0;
  while (i < buf.length) {
    const space = buf.indexOf(0x20, i);
    const nul = buf.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 21 > buf.length) throw corrupt(oid, new Error('malformed tree'));
    // One string per mode, not one per entry (100,000 entries held 2.4 MB of '100644'). Some
    // writers zero-pad a subtree's mode; git itself (and fsck --strict) uses '40000'.
    const mode = modeAt(buf, i, space);
    const name = buf.toString('utf8', space + 1, nul);
    const dir = mode === TREE_MODE;
    if (ordered && out.length > 0) {
      ordered = compareNamesAt(buf, prevStart, prevEnd, prevDir, space + 1, nul, dir) < 0 && !(dir && fileNamed(buf, prevStart, prevEnd, space + 1, nul, out, name));
    }
    if (ordered && !plainName(name)) ordered = false;
    out.push({ mode, name, oid: buf.toString('hex', nul + 1, nul + 21) });
    prevStart = space + 1;
    prevEnd = nul;
    prevDir = dir;
    i = nul + 21;
  }
  if (ordered) gitOrdered.add(out);
  return out;
}

const TREE_MODE = '40000';

/**
 * A name the order check can trust: no '/' (only a broken tree has one; compareNamesAt is not
 * exact for it), and no U+FFFD, which is what bytes that are not UTF-8 read as: two names could
 * become one string.
 */
function plainName(name: string): boolean {
  return !name.includes('/') && !name.includes('\uFFFD');
}

/**
 * Parsed (or written) trees whose names are strictly in git's order, each name once (git fsck's
 * treeNotSorted and duplicateEntries say the rest are broken, so only a foreign writer makes them).
 * In such a tree a search is final: found, or not there. By array, so it lives as long as the tree.
 */
const gitOrdered = new WeakSet<readonly TreeEntry[]>();

/** Whether parseTree (or markIfGitOrdered) found this tree's names strictly in git's order, each once. */
export function isGitOrdered(tree: readonly TreeEntry[]): boolean {
  return gitOrdered.has(tree);
}

/**
 * Git's order of two names in `buf`, a tree's (`aDir`, `bDir`) compared as if it ended in '/': < 0
 * when a comes first. 0 also when the order is not clear from the first differing byte (a name
 * holding '/', which only a broken tree has): the caller wants "strictly before" and says no.
 */
function compareNamesAt(buf: Buffer, aStart: number, aEnd: number, aDir: boolean, bStart: number, bEnd: number, bDir: boolean): number {
  const n = Math.min(aEnd - aStart, bEnd - bStart);
  const common = buf.compare(buf, bStart, bStart + n, aStart, aStart + n);
  if (common !== 0) return common;
  const a = aEnd - aStart > n ? buf[aStart + n]! : aDir ? 0x2f : -1;
  const b = bEnd - bStart > n ? buf[bStart + n]! : bDir ? 0x2f : -1;
  return a - b;
}

/**
 * Whether a file (any mode but a tree's) named like the folder just read is among the entries
 * before it. It sorts before the folder's name + '/', and so do only names that start with the
 * name and then a byte below '/': the entry just before (prev) shows whether one can be there,
 * so the search runs only then.
 */
function fileNamed(buf: Buffer, prevStart: number, prevEnd: number, start: number, end: number, before: readonly TreeEntry[], name: string): boolean {
  const len = end - start;
  if (prevEnd - prevStart < len || buf.compare(buf, start, end, prevStart, prevStart + len) !== 0) return false;
  if (prevEnd - prevStart === len) return true; // the entry before is a file of that name
  return buf[prevStart + len]! < 0x2f && searchSorted(before, { mode: '100644', name, oid: '' }, before.length) !== undefined;
}

/** The modes git writes, each one string: a parsed entry's own copy dies young (see parseTree). */
const MODES = new Map(['100644', '100755', '40000', '120000', '160000'].map((m) => [m, m]));
MODES.set('040000', '40000');

function modeAt(buf: Buffer, from: number, to: number): string {
  const mode = buf.toString('latin1', from, to);
  return MODES.get(mode) ?? mode;
}

/** Tree content for entries already in git's tree order (`compareTreeEntries`). */
export function serialiseTree(sorted: readonly TreeEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of sorted) {
    parts.push(Buffer.from(`${e.mode} ${e.name}\0`), Buffer.from(e.oid, 'hex'));
  }
  return Buffer.concat(parts);
}

/** Commit content: header lines (continuations start with a space), a blank line, the message. */
export function parseCommit(oid: string, buf: Buffer): CommitInfo {
  const text = buf.toString('utf8');
  const split = text.indexOf('\n\n');
  const head = split < 0 ? text : text.slice(0, split);
  const info: CommitInfo = { oid, tree: '', parents: [], author: { name: '', email: '', timestamp: 0 }, message: split < 0 ? '' : text.slice(split + 2) };
  for (const line of head.split('\n')) {
    if (line.startsWith(' ')) continue;
    const sp = line.indexOf(' ');
    const key = line.slice(0, sp);
    const value = line.slice(sp + 1);
    if (key === 'tree') info.tree = value;
    else if (key === 'parent') info.parents.push(value);
    else if (key === 'author') {
      const m = /^(.*) <([^>]*)> (-?\d+) [+-]\d{4}$/.exec(value);
      if (m) info.author = { name: m[1]!, email: m[2]!, timestamp: Number(m[3]) };
    }
  }
  if (!/^[0-9a-f]{40}$/.test(info.tree)) throw corrupt(oid, new Error('commit without a tree'));
  return info;
}

/** Commit content: tree, parents, author and committer lines, a blank line, the message. */
export function serialiseCommit(c: CommitFields): Buffer {
  const lines = [`tree ${c.tree}`, ...c.parents.map((p) => `parent ${p}`), `author ${c.author}`, `committer ${c.committer}`];
  return Buffer.from(lines.join('\n') + '\n\n' + c.message);
}

/** The object a tag points at. */
export function tagTarget(content: Buffer): string | null {
  return /^object ([0-9a-f]{40})$/m.exec(content.toString('utf8'))?.[1] ?? null;
}

/** Git's tree order: byte order of names, with a tree's name compared as if it ended in '/'. */
export function compareTreeEntries(a: TreeEntry, b: TreeEntry): number {
  const ka = Buffer.from(a.mode === '40000' ? a.name + '/' : a.name);
  const kb = Buffer.from(b.mode === '40000' ? b.name + '/' : b.name);
  return Buffer.compare(ka, kb);
}

/**
 * The entry named `name` in a parsed tree in git's order, by binary search (a folder sorts as its
 * name + '/', so both places are tried), or undefined. Final only in a tree isGitOrdered says is in
 * order: in another, an entry can be there and not be found.
 */
export function searchTreeEntry(tree: readonly TreeEntry[], name: string): TreeEntry | undefined {
  return searchSorted(tree, { mode: '100644', name, oid: '' }, tree.length) ?? searchSorted(tree, { mode: TREE_MODE, name, oid: '' }, tree.length);
}

/** The entry of `tree[0, end)` in git's order that sorts where `probe` does and has its name. */
function searchSorted(tree: readonly TreeEntry[], probe: TreeEntry, end: number): TreeEntry | undefined {
  let lo = 0;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const order = compareTreeEntries(tree[mid]!, probe);
    if (order === 0 && tree[mid]!.name === probe.name) return tree[mid];
    if (order < 0) lo = mid + 1;
    else hi = mid;
  }
  return undefined;
}

/**
 * Records a tree about to be written (sorted by compareTreeEntries) as in git's order when its names
 * are strictly so, each once: what parseTree would find reading it back.
 */
export function markIfGitOrdered(sorted: readonly TreeEntry[]): void {
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i]!;
    if (!plainName(e.name)) return;
    if (i === 0) continue;
    const prev = sorted[i - 1]!;
    if (compareTreeEntries(prev, e) >= 0) return;
    if (e.mode === TREE_MODE && prev.name.startsWith(e.name) && (prev.name.length === e.name.length || prev.name.charCodeAt(e.name.length) < 0x2f)) {
      if (searchSorted(sorted, { mode: '100644', name: e.name, oid: '' }, i)) return;
    }
  }
  gitOrdered.add(sorted);
}

/** The error for an object that is missing or unreadable (a BackendError passes through unchanged). */
export function corrupt(oid: string, err: unknown): BackendError {
  if (err instanceof BackendError) return err;
  return new BackendError('Corrupt', oid, `git object ${oid} cannot be read: ${(err as Error)?.message ?? err}`, { cause: err });
}

/**
 * `by-date/YYYY/MM/DD/HHMMSSZ-<short sha>/…`: every commit of the served branch by its time (UTC),
 * newest first at every level, each folder dated by its newest commit. A day lists its commits up to
 * the cap; a day with more lists its hours instead (`DD/HH/`, each its commits, the newest up to the
 * cap). `DD/HH/` answers on any day, and a commit's own folder answers under its day and its hour.
 */
import type { CommitMeta } from '../path-index.js';
import { commitRoot, commitTag, dateOf, largestFirst, stamp, type AreaKit, type Child, type Located } from './kit.js';

interface Dated {
  commit: CommitMeta;
  /** Its index in the path index (first-parent order). */
  at: number;
  /** `YYYYMMDDTHHMMSSZ`. */
  key: string;
}

export function byDate(kit: AreaKit, rest: string[]): Located | null {
  const [y, m, d, leaf, ...inner] = rest;
  if ((y !== undefined && !/^\d{4}$/.test(y)) || (m !== undefined && !/^\d{2}$/.test(m)) || (d !== undefined && !/^\d{2}$/.test(d))) return null;
  const prefix = (y ?? '') + (m ?? '') + (d ?? '');
  const all = kit.index.all();
  const matching: Dated[] = [];
  for (let at = 0; at < all.length; at++) {
    const key = keyOf(all[at]!);
    if (key.startsWith(prefix)) matching.push({ commit: all[at]!, at, key });
  }
  if (prefix && matching.length === 0) return null;
  // Never immutable: a day (or hour, month, year) gains commits while it lasts, and a rewind takes
  // them away. Its ETag is its last commit's id (see versionOf), which changes with every commit.
  const time = newest(matching);
  const version = versionOf(matching);
  if (!d) {
    // Years, a year's months or a month's days: named by the next digits of the key.
    const from = prefix.length;
    const width = y ? 2 : 4;
    return kit.folder(async () => groups(matching, (k) => k.slice(from, from + width)), { time, ...version });
  }
  if (leaf === undefined) {
    return kit.folder(async () => (matching.length > kit.cap ? groups(matching, (k) => k.slice(9, 11)) : commitsOf(matching, kit.cap)), { time, ...version });
  }
  if (/^\d{2}$/.test(leaf)) {
    const hour = matching.filter((c) => c.key.slice(9, 11) === leaf);
    if (hour.length === 0) return null;
    const [sub, ...below] = inner;
    if (sub === undefined) return kit.folder(async () => commitsOf(hour, kit.cap), { time: newest(hour), ...versionOf(hour) });
    const found = hour.find((c) => leafName(c) === sub);
    return found ? kit.snapshot(found.commit, below, true) : null;
  }
  const found = matching.find((c) => leafName(c) === leaf);
  return found ? kit.snapshot(found.commit, inner, true) : null;
}

/**
 * Each commit's `YYYYMMDDTHHMMSSZ`, made once: every by-date path filters the whole branch by it.
 * Weak, so it holds no commit the path index has let go of.
 */
const keys = new WeakMap<CommitMeta, string>();
function keyOf(c: CommitMeta): string {
  let key = keys.get(c);
  if (key === undefined) keys.set(c, (key = stamp(c.time)));
  return key;
}

/** `HHMMSSZ-abc1234`. */
function leafName(c: Dated): string {
  return `${c.key.slice(9)}-${c.commit.oid.slice(0, 7)}`;
}

function newest(list: Dated[]): Date | undefined {
  let best: CommitMeta | undefined;
  for (const c of list) if (!best || c.commit.time > best.time) best = c.commit;
  return best ? dateOf(best) : undefined;
}

/**
 * A by-date folder's ETag: the id of its last commit in the branch's order. That commit fixes the
 * folder's whole listing (the folder's other commits are its first-parent ancestors; none after it
 * belongs to the folder), so the ETag changes exactly when the listing may have: a commit landing
 * in the same second as the last one changes it too.
 */
function versionOf(list: Dated[]): { version?: string } {
  const last = list[list.length - 1]; // `list` is in the branch's order
  return last ? { version: commitTag(last.commit.oid) } : {};
}

/** Folders named by part of their commits' keys, newest first, each dated by its newest commit. */
function groups(list: Dated[], nameOf: (key: string) => string): Child[] {
  const newestOf = new Map<string, { time: number; last: CommitMeta }>();
  for (const c of list) {
    const name = nameOf(c.key);
    const seen = newestOf.get(name);
    newestOf.set(name, { time: Math.max(seen?.time ?? -Infinity, c.commit.time), last: c.commit });
  }
  return [...newestOf]
    .sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0))
    .map(([name, g]) => ({ name, kind: 'collection' as const, time: new Date(g.time * 1000), sortKey: largestFirst(name), version: commitTag(g.last.oid), immutable: false }));
}

/** A day's (or an hour's) commits, newest first: by time, then by their order on the branch; at most `cap`. */
function commitsOf(list: Dated[], cap: number): Child[] {
  return [...list]
    .sort((a, b) => b.commit.time - a.commit.time || b.at - a.at)
    .slice(0, cap)
    .map((c) => commitRoot(c.commit, leafName(c), largestFirst(c.key.slice(9, 15)) + largestFirst(String(c.at).padStart(12, '0'))));
}

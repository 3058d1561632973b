/**
 * The heart of sync-collection for any backend: two states of a collection's members, each as
 * name → fingerprint (content id + dead properties), compared. With a limit, also the partial state
 * that the first `limit` changes lead to, so the token handed out for a truncated answer is exact.
 * Pure.
 */
export type Fingerprints = ReadonlyMap<string, string>;

export interface MemberDiff {
  changed: string[];
  removed: string[];
  /** The state after applying only the reported changes (`current` itself unless truncated). */
  reached: Fingerprints;
  truncated: boolean;
}

export function diffMembers(previous: Fingerprints, current: Fingerprints, limit = Infinity): MemberDiff {
  // Only the changed names are sorted (the same order as sorting every name, then filtering): a
  // calendar of 10,000 members after one change sorts one name, not 20,000.
  const changes: string[] = [];
  for (const [n, print] of current) if (previous.get(n) !== print) changes.push(n);
  for (const n of previous.keys()) if (!current.has(n)) changes.push(n);
  changes.sort();
  const taken = changes.slice(0, Math.max(0, limit));
  if (taken.length === changes.length) {
    // Every change reported: the state reached is `current` (no copy of 10,000 members).
    const changed = taken.filter((n) => current.has(n));
    return { changed, removed: taken.filter((n) => !current.has(n)), reached: current, truncated: false };
  }
  const reached = new Map(previous);
  const changed: string[] = [];
  const removed: string[] = [];
  for (const name of taken) {
    const now = current.get(name);
    if (now === undefined) {
      reached.delete(name);
      removed.push(name);
    } else {
      reached.set(name, now);
      changed.push(name);
    }
  }
  return { changed, removed, reached, truncated: taken.length < changes.length };
}

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
  /** The state after applying only the reported changes (equals `current` unless truncated). */
  reached: Map<string, string>;
  truncated: boolean;
}

export function diffMembers(previous: Fingerprints, current: Fingerprints, limit = Infinity): MemberDiff {
  const names = [...new Set([...previous.keys(), ...current.keys()])].sort();
  const changes = names.filter((n) => previous.get(n) !== current.get(n));
  const taken = changes.slice(0, Math.max(0, limit));
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

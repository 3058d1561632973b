/**
 * A folder's members with their sync fingerprints (ETag, plus a file's dead properties), for
 * sync-collection on the folder backend (index.ts syncToken / changes).
 *
 * Read in one pass of the folder's stats that also gives its listing version (listing.ts
 * listVersionedOf): an array of entries, not an async generator with a promise per member (at
 * 10,000 members those awaits, and a WeakMap entry per member, cost as much as a third of the stats).
 * The fingerprints are kept by that version, so a folder that did not change (a token handed out by
 * PROPFIND, a client polling sync-collection with nothing new) builds no fingerprints again, and
 * hands the very same map to the snapshot store, which then has its id without hashing it again.
 *
 * Why the key is safe: the listing version hashes the folder's path and fstat, every visible member's
 * name and lstat (ctime included, which cannot be set back) and the sidecar's lstat; the entries are
 * made from the very stats hashed and the sidecar is read after its lstat was hashed (as for
 * listVersioned), so what is kept under a version is what a pass at that version gives. The version
 * is taken afresh by every call, so a change by any process or by hand shows on the next one.
 * Per process, bounded by bytes.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Entry } from '../backend.js';
import { baseName } from '../backend.js';
import type { Sidecar } from '../sidecar.js';
import { Lru } from '../util/lru.js';

export interface MemberPrints {
  /** name → fingerprint; handed to the snapshot store as it is, never changed afterwards. */
  prints: ReadonlyMap<string, string>;
  entries: ReadonlyMap<string, Entry>;
  /** The folder's sidecar as read in the pass (a file's dead properties, for its responses). */
  sidecar: Sidecar;
}

/**
 * Bytes of fingerprints kept per process. A folder's value heavier than a quarter of it is not kept
 * (the Lru always keeps its newest entry, however heavy): such a folder builds its fingerprints per
 * call, as before this cache, rather than pinning them in every worker that synced it. A quarter is
 * ~13,000 members of a calendar (a 10,000-event one weighs ~7.8 MB).
 */
export const MEMBER_PRINTS_BYTES = 40 * 1024 * 1024;
/**
 * What a member costs besides its path and fingerprint strings (counted at two bytes a character):
 * its Entry (object, ETag string, two Dates) and two Map slots. Measured with v8.getHeapStatistics
 * after GC, 20,000 members held: 697, 755 and 915 bytes a member for paths of 23, 55 and 135
 * characters (fingerprint ~45), i.e. ~560 + 2 × (path + fingerprint); counted at 600.
 */
const MEMBER_BYTES = 600;
/** Members handled between two turns of the event loop, as the pass of stats turns (listing.ts). */
const BATCH = 256;

/**
 * `each` for every item, the event loop turning every BATCH items: a first sync of a big folder
 * otherwise handles all its members in one block (20,000 files: 40,000 Map entries and 20,000
 * sidecars remembered at once), and every other request on the worker waits for it.
 */
export async function eachInTurns<T>(items: Iterable<T>, each: (item: T) => void): Promise<void> {
  let i = 0;
  for (const item of items) {
    if (++i % BATCH === 0) await nextTurn();
    each(item);
  }
}

const kept = new Lru<{ version: string; value: MemberPrints; bytes: number }>(MEMBER_PRINTS_BYTES, (v, k) => 2 * k.length + v.bytes);

/** The memory a value holds, near enough (see MEMBER_BYTES). */
export function weigh(m: MemberPrints): number {
  let n = 0;
  for (const [name, e] of m.entries) n += MEMBER_BYTES + 2 * (e.path.length + (m.prints.get(name)?.length ?? 0));
  return n;
}

/** One pass's members and the version it was read at; null when the folder has no version. */
export type VersionedPass = (remember: (file: Entry, sidecar: Sidecar) => void) => Promise<{ entries: Entry[]; version: string } | null>;

/**
 * The members' fingerprints of the folder `path` of the tree at `root`, from one versioned pass;
 * null when the pass gives no version (a folder holding a symbolic link): the caller lists instead.
 */
export async function versionedMemberPrints(root: string, path: string, pass: VersionedPass): Promise<MemberPrints | null> {
  let sidecar: Sidecar = {};
  const listed = await pass((_file, s) => void (sidecar = s));
  if (!listed) return null;
  const key = `${root}\0${path}`;
  const before = kept.get(key);
  if (before?.version === listed.version) return before.value;
  const value = await fingerprints(listed.entries, sidecar);
  const bytes = weigh(value);
  if (bytes <= MEMBER_PRINTS_BYTES / 4) kept.set(key, { version: listed.version, value, bytes });
  else kept.delete(key); // too heavy to keep: an older version of it is of no use either
  return value;
}

/**
 * Each member's fingerprint: a folder's ETag; a file's ETag and its dead properties as JSON. The
 * event loop turns every BATCH members (eachInTurns).
 */
export async function fingerprints(listed: Iterable<Entry>, sidecar: Sidecar): Promise<MemberPrints> {
  const prints = new Map<string, string>();
  const entries = new Map<string, Entry>();
  await eachInTurns(listed, (e) => {
    const name = baseName(e.path);
    entries.set(name, e);
    if (e.kind === 'collection') {
      prints.set(name, e.etag);
      return;
    }
    // Most files have no dead properties: no JSON to write.
    const own = sidecar[name];
    prints.set(name, `${e.etag} ${own === undefined ? '{}' : JSON.stringify(own)}`);
  });
  return { prints, entries, sidecar };
}

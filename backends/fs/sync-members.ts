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

/** Bytes of fingerprints kept per process (a 10,000-member calendar's are ~4 MB, entries counted). */
export const MEMBER_PRINTS_BYTES = 16 * 1024 * 1024;
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
    if (++i % BATCH === 0) await new Promise((r) => setImmediate(r));
    each(item);
  }
}

/** What an Entry is counted at (its object, path string and ETag). */
const ENTRY_BYTES = 200;

const kept = new Lru<{ version: string; value: MemberPrints }>(MEMBER_PRINTS_BYTES, (v, k) => 2 * k.length + weigh(v.value));

function weigh(m: MemberPrints): number {
  let n = 0;
  for (const [name, print] of m.prints) n += 2 * (name.length + print.length) + ENTRY_BYTES;
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
  kept.set(key, { version: listed.version, value });
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

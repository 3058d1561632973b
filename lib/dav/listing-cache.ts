/**
 * Depth-1 PROPFIND answers replayed as bytes: the members' part of the body (every `DAV:response`
 * after the folder's own, which is rendered each time) by a key that covers everything those bytes
 * depend on. A git commit never changes, so on the git backend a listing of 1,000 members becomes one
 * string written out again.
 *
 * Why each part of the key is enough (a key is never made again for a different answer):
 * - the backend's `listingVersion(folder)` (backends/capabilities.ts): git's tip commit id (the tree,
 *   `.davprops` and the dates history gives) + the volatile properties' version + a per-process
 *   epoch (new on every tip change, so a rewind never reuses a version, and after a listing that
 *   made up an entry for an unreadable object) + the mount table's generation; on the folder
 *   backend a hash of the names and every member's and the sidecar's lstat, ctime included, taken
 *   afresh on each request (backends/fs/listing.ts), so a change by any process or by hand shows;
 *   null where there is no such key (shares, history, a folder with mount points below it, a
 *   folder holding a symbolic link or too many members to keep) → no cache;
 * - the Dav instance (a serial per object: its prefix, backend view, property registry and content
 *   type hook are fixed for its life) and the user the request runs as, and the folder's href as
 *   written (every member's href starts with it);
 * - the property request as parsed: kind, names in order (the order of the output) and `include`,
 *   and Brief/Prefer minimal. Only properties whose value is a function of the entry, its dead
 *   properties and the content of the tree are cached: the core live ones by identity (a plugin's
 *   replacement, CalDAV's getters, quota, version links and anything reading the user or request
 *   headers refuse the cache) and dead ones. getcontenttype's CalDAV hook reads the parent's stored
 *   type and the object's content: both in the commit;
 * - locks: only a folder that no lock is in or over (ResponseWriter.enterFolder; the lock table
 *   catches up with other workers' journal) is cached or served from the cache: then every member's
 *   lockdiscovery is empty, in the bytes and in truth.
 * A miss stores its bytes only if they were made at the key's version: listed in the same pass as
 * that version (listVersioned, the folder backend: one pass instead of list + version), or the
 * backend's version after the listing is the one before (git), so a commit, a property change or a
 * share change during the listing cannot file new bytes under an old key.
 *
 * Per process (each worker has its own; keys are content ids or this process's own counters, so a
 * worker never serves another's state as current), bounded by bytes.
 */
import type { Backend, Entry } from '../../backends/backend.js';
import { isListingVersioned, isQuotaAware } from '../../backends/capabilities.js';
import { Lru, ownedBytes } from '../../backends/util/lru.js';
import { cacheCounts } from '../../backends/util/stats.js';
import type { Dav, DavRequest } from './context.js';
import type { LiveProperty } from './properties/registry.js';
import {
  creationdate,
  deletedAt,
  displayname,
  getcontentlength,
  getcontenttype,
  getetag,
  getlastmodified,
  lockdiscovery,
  quotaAvailableBytes,
  quotaUsedBytes,
  resourcetype,
  supportedlock,
} from './properties/live.js';
import { answeredUnsettled, lastmodified, ocChecksums } from './properties/owncloud.js';
import type { PropRequest, ResponseOptions } from './propfind-core.js';

/** Bytes held per process (members' UTF-8 bytes; a key's UTF-16 code units count 2 bytes each). */
export const CACHE_BYTES = 16 * 1024 * 1024;
/** A listing longer than this is never kept, it streams as before: a 100,000-member folder. */
export const ENTRY_MAX_BYTES = 2 * 1024 * 1024;

const counts = cacheCounts('propfind_members');
const cache = new Lru<Buffer>(CACHE_BYTES, (v, k) => v.length + 2 * k.length, counts);

/**
 * Live properties whose value depends only on the entry, its dead properties and the tree's content
 * (oc:checksums: the content's hashes, properties/owncloud.ts, stored only when every file asked
 * had them; DAV:lastmodified: a dead property's value).
 */
const SAFE = new Set<LiveProperty>([resourcetype, getcontentlength, getcontenttype, getetag, getlastmodified, creationdate, displayname, deletedAt, lockdiscovery, supportedlock, ocChecksums, lastmodified]);

const davIds = new WeakMap<Dav, number>();
let davSerial = 0;

/**
 * Whether every property the request would write is covered by the key (see the file comment):
 * 'files' when only a listing without collections is (allprop where the backend knows quota: a
 * collection member's quota is the disk's, in no key).
 */
function cacheable(dav: Dav, backend: Backend, request: PropRequest): boolean | 'files' {
  if (request.kind === 'propname') return false; // rare; applicable() asks every plugin's appliesTo
  const safe = (name: string) => {
    const live = dav.props.get(name);
    return live === undefined || SAFE.has(live); // undefined: a dead property, the backend's
  };
  if (request.kind === 'prop') return request.names.every(safe);
  // allprop: quota applies to collections, where the backend knows quota (the folder backend).
  const quota = (p: LiveProperty) => p === quotaAvailableBytes || p === quotaUsedBytes;
  if (!request.include.every(safe)) return false;
  const all = dav.props.all();
  if (!all.every((p) => !p.inAllprop || SAFE.has(p) || quota(p))) return false;
  return all.some(quota) && isQuotaAware(backend) ? 'files' : true;
}

export interface ListingSlot {
  key: string;
  version: string;
  /** Keep the members only if none of them is a collection (see cacheable). */
  filesOnly: boolean;
}

/**
 * A listing with more members would not fit ENTRY_MAX_BYTES (~200 bytes is the shortest response):
 * a backend whose version costs a pass over the members (folders) gives none for it.
 */
const MAX_MEMBERS = Math.ceil(ENTRY_MAX_BYTES / 200);

/**
 * The key for a Depth-1 listing of `folder` (whose href is `base`), or null when this one must not be
 * cached. Call after ResponseWriter.enterFolder said whether members are lock-free.
 */
export async function listingSlot(
  req: DavRequest,
  folder: string,
  base: string,
  request: PropRequest,
  options: ResponseOptions,
  lockFree: boolean,
): Promise<ListingSlot | null> {
  const { backend, dav } = req;
  const can = lockFree && isListingVersioned(backend) && cacheable(dav, backend, request);
  if (!can || !isListingVersioned(backend)) return null;
  const version = await backend.listingVersion(folder, { maxMembers: MAX_MEMBERS });
  if (version === null) return null;
  let id = davIds.get(dav);
  if (id === undefined) davIds.set(dav, (id = ++davSerial));
  const user = (req.ctx.state.user as string | undefined) ?? '';
  const asked = request.kind === 'prop' ? request.names : request.kind === 'allprop' ? request.include : [];
  const key = JSON.stringify([version, id, user, base, folder, request.kind, asked, options.minimal]);
  return { key, version, filesOnly: can === 'files' };
}

/**
 * The members' bytes stored under this key, if any (counted as a hit or a miss). Kept encoded: a
 * string would be encoded to UTF-8 again on every hit (a third of a hit's time when it was).
 */
export function cachedMembers(slot: ListingSlot): Buffer | undefined {
  return cache.get(slot.key);
}

/**
 * What a miss under `slot` renders, and how its bytes may be stored: a backend that lists with its
 * version in one pass (`listVersioned`) gives entries read at a known version, stored only if that is
 * the slot's ('known': no second version pass); any other is listed and its version checked after
 * ('after', also when the one-pass listing gives none); 'never' when it was read at another version.
 */
export async function missMembers(req: DavRequest, folder: string, slot: ListingSlot): Promise<{ entries: Iterable<Entry> | AsyncIterable<Entry>; store: 'known' | 'after' | 'never' }> {
  const backend = req.backend;
  if (isListingVersioned(backend) && backend.listVersioned) {
    const listed = await backend.listVersioned(folder, { maxMembers: MAX_MEMBERS });
    if (listed) return { entries: listed.entries, store: listed.version === slot.version ? 'known' : 'never' };
    // None (a view forwarding to a backend without it, e.g. git under MountView, or refused): as below.
  }
  return { entries: backend.list(folder), store: 'after' };
}

/**
 * A miss's member responses as bytes to write, kept if they are small enough and were made at the
 * key's version: read at it ('known'), or the backend's version after the listing is still the one
 * the key was made with ('after': nothing changed while the listing was made).
 */
export async function storeMembers(req: DavRequest, folder: string, slot: ListingSlot, members: string, store: 'known' | 'after'): Promise<Buffer> {
  const bytes = ownedBytes(members, ENTRY_MAX_BYTES); // its own memory, so the byte bound holds
  if (!bytes) return Buffer.from(members);
  if (answeredUnsettled(req)) return bytes; // a file's hashes failed for now: not an answer to replay
  const backend = req.backend;
  if (store === 'known' || (isListingVersioned(backend) && (await backend.listingVersion(folder, { maxMembers: MAX_MEMBERS })) === slot.version)) cache.set(slot.key, bytes);
  return bytes;
}

/**
 * Misses being filled, by key: a request that misses while another request of the same key is
 * making that listing waits for it and replays what it stored, rather than list and render the
 * same folder again (16 clients asking at once made 16 listings, each slower for the others).
 * Waiting never serves more than the cache would: what is replayed is what was stored under the key.
 */
const filling = new Map<string, Promise<void>>();

/**
 * Registers this request as filling `slot`; call the result as soon as it is known whether anything
 * will be stored (it may be called again: the later calls do nothing). The filler must not wait on
 * its own client before that (propfind.ts renders a storable listing into memory first).
 */
export function beginFill(slot: ListingSlot): () => void {
  let done!: () => void;
  const p = new Promise<void>((resolve) => (done = resolve));
  filling.set(slot.key, p);
  return () => {
    if (filling.get(slot.key) === p) filling.delete(slot.key);
    done();
  };
}

/**
 * The longest a request waits for another's fill before it lists for itself: a fill is released
 * when its listing is made, not when it is sent, so this only bounds a listing that is itself slow
 * (a huge folder, a loaded machine); the waiter then does the work it would have done anyway.
 * An object so tests that count listings can raise it.
 */
export const fillWait = { ms: 2000 };

/** If another request is filling `slot`, waits for it and returns what it stored (undefined: nothing). */
export async function awaitFill(slot: ListingSlot): Promise<Buffer | undefined> {
  const p = filling.get(slot.key);
  if (!p) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<void>((resolve) => (timer = setTimeout(resolve, fillWait.ms)));
  try {
    await Promise.race([p, cap]);
  } finally {
    clearTimeout(timer);
  }
  return cache.get(slot.key);
}

/** The stored bytes, for statistics and tests. */
export function listingCacheBytes(): number {
  return cache.weightHeld;
}

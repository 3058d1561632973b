/**
 * ownCloud's `oc:checksums` (namespace http://owncloud.org/ns), which rclone's owncloud mode reads
 * for `rclone check` and `rclone sync`: `<oc:checksum>SHA1:<hex> MD5:<hex></oc:checksum>` (rclone
 * splits the text on spaces and takes `sha1:`/`md5:` prefixes). Not in allprop.
 *
 * The hashes come from the state dir's table (backends/util/checksum-table.ts), keyed by the
 * content's identity (git: the blob id; the folder: device, inode, size, mtime and ctime; see that
 * module for the one case a key can repeat). A PUT from an ownCloud client records them as it
 * streams; other content (other clients, a git push, an edit in the folder) is hashed here on first
 * ask, up to HASH_ON_DEMAND_BYTES, and recorded; a bigger file without a record has no value (404).
 * The answer is a function of the content, so listings carrying it may be replayed (listing-cache.ts),
 * except one where a file's hashing failed for now (`answeredUnsettled`).
 */
import { createHash } from 'node:crypto';
import type { Entry } from '../../../backends/backend.js';
import { locate } from '../../../backends/capabilities.js';
import { checksumTable, recordKey, type ContentHashes } from '../../../backends/util/checksum-table.js';
import type { DavRequest } from '../context.js';
import { storedMtime } from '../owncloud.js';
import { clark, dav, NS } from '../xml/names.js';
import { el } from '../xml/write.js';
import type { LiveProperty } from './registry.js';

/** Files up to this size are hashed when asked and have no record; bigger ones only at an ownCloud PUT. */
export const HASH_ON_DEMAND_BYTES = 64 * 1024 * 1024;

const oc = (local: string) => clark(NS.OWNCLOUD, local);

/** Hashings under way, by state dir and key: a listing asked twice at once reads each file once. */
const inFlight = new Map<string, Promise<ContentHashes | null>>();

/**
 * Requests that answered a file without hashes where it could have had them (a read failed, or the
 * file changed while it was read): their listing must not be stored (listing-cache.ts), or the 404
 * would be replayed until the folder changes.
 */
const unsettled = new WeakSet<DavRequest>();

/** Whether `req` answered some file's oc:checksums with a 404 that another try may not give. */
export function answeredUnsettled(req: DavRequest): boolean {
  return unsettled.has(req);
}

/** The SHA-1 and MD5 of a file's content, recorded or made now; null where neither is possible. */
export async function contentHashes(req: DavRequest, entry: Entry): Promise<ContentHashes | null> {
  const id = entry.kind === 'file' ? recordKey(entry) : null;
  if (id === null) return null;
  const { stateDir } = locate(req.backend, entry.path);
  const table = checksumTable(stateDir);
  const known = await table.get(id).catch(() => undefined); // an unreadable log: hash as if unrecorded
  if (known) return known;
  if (entry.size > HASH_ON_DEMAND_BYTES) return null;
  const key = `${stateDir}\0${id}`;
  let p = inFlight.get(key);
  if (!p) {
    p = hashNow(req, entry, id).finally(() => inFlight.delete(key));
    inFlight.set(key, p);
  }
  const hashes = await p;
  if (!hashes) unsettled.add(req);
  return hashes;
}

/** The content's hashes, made now; null when the read failed or the file changed meanwhile. */
async function hashNow(req: DavRequest, entry: Entry, id: string): Promise<ContentHashes | null> {
  const sha1 = createHash('sha1');
  const md5 = createHash('md5');
  try {
    for await (const chunk of await req.backend.read(entry.path, undefined, entry)) {
      sha1.update(chunk as Buffer);
      md5.update(chunk as Buffer);
    }
    // Recorded only if the file still is the content the ETag names (it may have changed meanwhile).
    const now = await req.backend.stat(entry.path);
    if (!now || recordKey(now) !== id) return null;
  } catch {
    return null;
  }
  const hashes = { sha1: sha1.digest('hex'), md5: md5.digest('hex') };
  await checksumTable(locate(req.backend, entry.path).stateDir).record(id, hashes).catch(() => undefined);
  return hashes;
}

export const ocChecksums: LiveProperty = {
  name: oc('checksums'),
  inAllprop: false,
  protected: true,
  appliesTo: (r) => !r.isCollection,
  get: async (r) => {
    const h = await contentHashes(r.req, r.entry);
    return h ? [el(oc('checksum'), `SHA1:${h.sha1} MD5:${h.md5}`)] : null;
  },
};

/**
 * `DAV:lastmodified` as PROPPATCH set it in unix seconds (../owncloud.ts keeps that as the file's
 * time): read back as those seconds while the file is the content it was set for, so a successful
 * set is visible (RFC 4918 §9.2). Any other value a client sets is an ordinary dead property, which
 * wins (the property is not protected). Not in allprop.
 */
export const lastmodified: LiveProperty = {
  name: dav('lastmodified'),
  inAllprop: false,
  protected: false,
  appliesTo: (r) => !r.isCollection,
  get: async (r) => {
    const time = storedMtime(await r.deadProps(), r.entry.etag);
    return time ? [String(Math.floor(time.getTime() / 1000))] : null;
  },
};

export const OWNCLOUD_PROPERTIES: LiveProperty[] = [ocChecksums, lastmodified];

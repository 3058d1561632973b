/**
 * What rclone's `owncloud` vendor mode sends and reads (rclone backend/webdav), served on any backend:
 * - PUT `OC-Checksum: SHA1:<hex>` (or `MD5:`): the body is checked against it (400, nothing stored);
 * - PUT `X-OC-Mtime: <unix seconds>`: the file's modification time, answered `X-OC-MTime: accepted`;
 * - PROPPATCH `DAV:lastmodified` = unix seconds (newer rclone's way to set the time): the same time;
 * - PROPFIND `oc:checksums` (properties/owncloud.ts): `SHA1:<hex> MD5:<hex>`, from the table of
 *   backends/util/checksum-table.ts.
 * A backend that keeps modification times (the folder backend) sets it on the file as it writes it
 * (WriteOptions.modified). One that has none (git) gets it as an internal dead property of the file,
 * stored beside its other properties (git: `.davprops`, committed with it) and naming the ETag it was
 * set for: once the content changes by any route, the ETag differs and the time is no longer used.
 */
import type { Entry, Guard, MutationOptions, PropertyMap, PropPatch } from '../../backends/backend.js';
import type { DavRequest } from './context.js';
import { badRequest } from './errors/dav-error.js';
import type { Resource } from './properties/registry.js';
import { clarkOf, textOf, type XmlElement } from './xml/parse.js';
import { BackendError } from '../../backends/errors.js';
import { clark, dav, NS } from './xml/names.js';
import { el, serializeFragment } from './xml/write.js';

/** The internal dead property holding a set modification time: text `<etag> <unix seconds>`. */
export const MTIME_PROP = clark(NS.GITDAV, 'mtime');

export interface OcChecksum {
  alg: 'sha1' | 'md5';
  hex: string;
}

/** The latest time taken (2106-02-07): file systems store later ones clamped or not at all. */
const MAX_MTIME = 2 ** 32 - 1;

/** `X-OC-Mtime` as a Date (whole seconds, as ownCloud takes it); a malformed or out-of-range value is a 400. */
export function parseOcMtime(header: string | undefined): Date | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(\d{1,12})(?:\.\d*)?\s*$/.exec(header);
  if (!m) throw badRequest(`invalid X-OC-Mtime "${header}" (expected unix seconds)`);
  if (Number(m[1]) > MAX_MTIME) throw badRequest(`X-OC-Mtime "${header}" is out of range (at most ${MAX_MTIME})`);
  return new Date(Number(m[1]) * 1000);
}

/**
 * `OC-Checksum: SHA1:<hex>` → the checksum to verify. ownCloud names one checksum; types it does not
 * know here (ADLER32) are not checked, as ownCloud's own server ignores types it does not support.
 */
export function parseOcChecksum(header: string | undefined): OcChecksum | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*([A-Za-z0-9]+):(\S*)\s*$/.exec(header);
  if (!m) throw badRequest(`invalid OC-Checksum "${header}" (expected e.g. SHA1:<hex>)`);
  const type = m[1]!.toLowerCase();
  if (type !== 'sha1' && type !== 'md5') return undefined;
  const hex = m[2]!.toLowerCase();
  if (!new RegExp(`^[0-9a-f]{${type === 'sha1' ? 40 : 32}}$`).test(hex)) throw badRequest(`invalid OC-Checksum "${header}": not a ${type.toUpperCase()} in hex`);
  return { alg: type, hex };
}

/** The stored modification time, where it was set for this exact content (`etag`). */
export function storedMtime(props: PropertyMap, etag: string): Date | undefined {
  const xml = props.get(MTIME_PROP);
  if (xml === undefined) return undefined;
  const m = />("[\x21\x23-\x7e]{1,128}") (\d{1,12})</.exec(xml);
  return m && m[1] === etag ? new Date(Number(m[2]) * 1000) : undefined;
}

function mtimeValue(etag: string, time: Date): string {
  return serializeFragment(el(MTIME_PROP, `${etag} ${Math.floor(time.getTime() / 1000)}`), {});
}

/** DAV:getlastmodified's date: a time set for this content, else the backend's. */
export function modifiedOf(res: Resource): Date | Promise<Date> {
  if (res.isCollection) return res.entry.modified;
  return res.deadProps().then((props) => storedMtime(props, res.entry.etag) ?? res.entry.modified, () => res.entry.modified);
}

/**
 * Records `time` for the file as it is now (`entry`), where the backend did not set it itself. Runs
 * as its own step after the write; its guard lets it go only while the file still has that content,
 * so a time is never filed for another version. False where it was not kept (the file changed
 * meanwhile, or the step failed): the content is stored all the same, so the PUT still succeeds and
 * only does not claim the time (no `X-OC-MTime: accepted`, which tells the client to set it again).
 */
export async function keepMtime(req: DavRequest, entry: Entry, time: Date, options: MutationOptions): Promise<boolean> {
  const { backend } = req;
  const value = mtimeValue(entry.etag, time);
  try {
    if ((await backend.props(entry.path, entry)).get(MTIME_PROP) === value) return true;
    await backend.patchProps(entry.path, [{ op: 'set', name: MTIME_PROP, value }], { ...options, guard: sameContent(entry) });
    return true;
  } catch {
    return false;
  }
}

/**
 * PROPPATCH's `<D:set>` of `DAV:lastmodified` on a file, with unix seconds (as rclone sends it): the
 * patch that keeps that time for the file's content; undefined for anything else (stored as it is).
 */
export function lastmodifiedPatch(prop: XmlElement, entry: Entry): PropPatch | undefined {
  if (entry.kind !== 'file' || clarkOf(prop) !== dav('lastmodified')) return undefined;
  const m = /^\s*(\d{1,12})\s*$/.exec(textOf(prop));
  return m ? { op: 'set', name: MTIME_PROP, value: mtimeValue(entry.etag, new Date(Number(m[1]) * 1000)) } : undefined;
}

/** A guard that lets a step go only while the file is still the content `entry` names. */
export function sameContent(entry: Entry, then?: Guard): Guard {
  return async (view) => {
    if ((await view.stat(entry.path))?.etag !== entry.etag) throw new BackendError('Conflict', entry.path, 'the file changed while its time was being set');
    await then?.(view);
  };
}

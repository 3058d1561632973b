/**
 * Whole `DAV:response` elements of calendar-query and calendar-multiget answers, as UTF-8 bytes, for
 * requests that ask only DAV:getetag and an unshaped CALDAV:calendar-data (what clients and the
 * bench ask). A warm month's query then writes its 582 hits as kept bytes: no property getters, no
 * string building, no UTF-8 encoding of 0.5 MB per answer.
 *
 * Why a key can never be stale: such a response is a function of the href and the object's content
 * alone. getetag is the ETag; calendar-data is the stored text (escaped) or, for text that is not
 * iCalendar, absent. The ETag names one content within its tree (git blob id; inode + size + mtime
 * on folders), the scope names the tree, and the href is the mount's prefix and the path, both in
 * the key, with the property names in the order asked (the answer lists them in that order). A PUT,
 * DELETE, MOVE, native commit or a change to a folder gives the path another ETag (or no entry), so
 * another key. Each worker has its own cache; nothing is shared.
 *
 * Bounded by bytes for the whole server (CalDavStates), by the bytes kept plus the key.
 */
import { Lru, ownedBytes } from '../../../backends/util/lru.js';
import { cacheCounts } from '../../../backends/util/stats.js';
import type { PropRequest } from '../../dav/propfind-core.js';
import type { XmlElement } from '../../dav/xml/parse.js';
import { clark, NS } from '../../dav/xml/names.js';

export const DEFAULT_RESPONSE_CACHE_BYTES = 8 * 1024 * 1024;
/** A response over this is not kept (a big object would evict every other and outgrow the bound). */
export const MAX_KEPT_RESPONSE_BYTES = 256 * 1024;

const GETETAG = clark(NS.DAV, 'getetag');
const CALENDAR_DATA = clark(NS.CALDAV, 'calendar-data');

export class ResponseCache {
  private readonly lru: Lru<Buffer>;

  constructor(limitBytes = DEFAULT_RESPONSE_CACHE_BYTES) {
    this.lru = new Lru<Buffer>(limitBytes, (v, k) => v.length + 2 * k.length + 120, cacheCounts('caldav_responses'));
  }

  get(key: string): Buffer | undefined {
    return this.lru.get(key);
  }

  set(key: string, response: Buffer): void {
    this.lru.set(key, response);
  }
}

/**
 * A response as bytes to keep (backends/util/lru.ts ownedBytes: its own memory), or null for one over
 * MAX_KEPT_RESPONSE_BYTES (written, not kept: a big object would empty the cache and outgrow its bound).
 */
export function keptBytes(text: string): Buffer | null {
  return ownedBytes(text, MAX_KEPT_RESPONSE_BYTES);
}

/**
 * The request's part of a key, or null where a response depends on more than the href and the
 * content (any other property, a shaped calendar-data: comp/prop selection, expand, limits).
 */
export function plainRequestKey(request: PropRequest, plainData: PlainData = plainCalendarData): string | null {
  if (request.kind !== 'prop' || request.names.length === 0) return null;
  for (const name of request.names) {
    if (name === GETETAG) continue;
    if (!plainData(name, request.requested?.get(name))) return null;
  }
  return request.names.join(' ');
}

/**
 * Whether a property asked with this element is a function of the content alone, as the stored text
 * is: calendar-data here, CardDAV's address-data in lib/carddav (the same cache serves both).
 */
export type PlainData = (name: string, requested: XmlElement | undefined) => boolean;

const plainCalendarData: PlainData = (name, requested) => name === CALENDAR_DATA && !shaped(requested);

/** The same test as calendar-data.ts wantsShaping: any child element or attribute shapes the data. */
function shaped(requested: XmlElement | undefined): boolean {
  return !!requested && (requested.children.some((c) => typeof c !== 'string') || requested.attrs.size > 0);
}

/** The whole key: the tree, the content, the mount's prefix and path (the href), and the request's part. */
export function responseKey(scope: string, etag: string, prefix: string, path: string, request: string): string {
  return `${scope}\0${etag}\0${prefix}\0${path}\0${request}`;
}

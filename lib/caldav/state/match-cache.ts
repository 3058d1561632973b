/**
 * calendar-query verdicts: whether the object with one ETag matched one query's filter. A warm query
 * then parses and evaluates nothing: objects whose verdict is known are answered from it (a hit is
 * rendered from its stored text, a miss skipped), so only new or changed objects are parsed.
 *
 * Why a key can never be stale: a verdict depends only on the object's bytes and on the query. The
 * ETag names one exact content (a git blob id, or inode + size + mtime on folders: a changed object
 * has another ETag and misses here), scoped by the tree (ETags are unique within a tree). The query
 * part is a hash of what `matches` reads: the CALDAV:filter element, the request's CALDAV:timezone
 * text and the instance cap, serialised canonically (attributes sorted). So a PUT, DELETE, MOVE, a
 * native git commit or a direct change to a folder changes the ETag or the listing, never a verdict;
 * another worker's write is seen the same way (each worker has its own cache; nothing is shared).
 * Verdicts cut short by the step budget are not stored (the query is answered 507 for them).
 *
 * Bounded by bytes (its keys are the bulk): the default 4 MB holds ~20,000 verdicts.
 */
import { createHash } from 'node:crypto';
import { Lru } from '../../../backends/util/lru.js';
import { cacheCounts } from '../../../backends/util/stats.js';
import type { XmlElement, XmlNode } from '../../dav/xml/parse.js';

export const DEFAULT_MATCH_CACHE_BYTES = 4 * 1024 * 1024;

export class MatchCache {
  private readonly lru: Lru<boolean>;

  constructor(limitBytes = DEFAULT_MATCH_CACHE_BYTES) {
    // A key (~110 chars, two bytes each) and the map's entry (~80 bytes).
    this.lru = new Lru<boolean>(limitBytes, (_v, k) => 2 * k.length + 80, cacheCounts('caldav_matches'));
  }

  get(scope: string, etag: string, query: string): boolean | undefined {
    return this.lru.get(`${scope}\0${etag}\0${query}`);
  }

  set(scope: string, etag: string, query: string, hit: boolean): void {
    this.lru.set(`${scope}\0${etag}\0${query}`, hit);
  }
}

/** A query's part of the key: a hash of everything besides the object that decides a verdict. */
export function queryKey(filter: XmlElement | undefined, timezone: string | null, maxInstances: number): string {
  const h = createHash('sha1');
  h.update(`${maxInstances}\0${timezone ?? ''}\0`);
  if (filter) canonical(filter, h);
  return h.digest('base64');
}

/** The element written out unambiguously: names, sorted attributes, xml:lang, text JSON-quoted. */
function canonical(node: XmlNode, h: ReturnType<typeof createHash>): void {
  if (typeof node === 'string') {
    h.update(JSON.stringify(node));
    return;
  }
  const attrs = [...node.attrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  h.update(`<${JSON.stringify(node.ns)}${JSON.stringify(node.local)}${JSON.stringify(attrs)}${JSON.stringify(node.lang ?? null)}`);
  for (const c of node.children) canonical(c, h);
  h.update('>');
}

/**
 * Calendar objects by ETag, one tree's share of a cache whose bound all trees share. A strong ETag
 * names one exact content (a git blob id, or inode + size + mtime), so entries never go stale: a
 * query over a large calendar reads and parses only what changed.
 *
 * Bounded by memory, not by text alone: a parsed object (ical.js components, decorated values) takes
 * ~18× its text (10,000 events: 4.6 MB of text, 84 MB parsed), so it is counted as PARSED_FACTOR
 * times its text. Queries need few parsed objects since the object index (object-index.ts) skips the
 * rest, so the default 64 MB holds the parsed objects of ~7,000 typical events. The bound is the
 * server's, not each tree's (states.ts): a server with a thousand users holds 64 MB of parsed
 * objects, not 64 GB.
 */
import type { Backend, Entry } from '../../../backends/backend.js';
import { Lru } from '../../../backends/util/lru.js';
import { cacheCounts } from '../../../backends/util/stats.js';
import { wholeContent } from '../../../backends/util/whole-body.js';

export interface CachedObject<P> {
  text: string;
  parsed?: P;
  /** The text escaped for XML character data (`calendar-data` in a multistatus), once asked for. */
  xml?: string;
}

const PARSED_FACTOR = 17;

export const DEFAULT_OBJECT_CACHE_BYTES = 64 * 1024 * 1024;

/** The memory every tree's object cache draws from, bounded by `limitBytes` in all. */
export function objectMemory<P>(limitBytes = DEFAULT_OBJECT_CACHE_BYTES): Lru<CachedObject<P>> {
  return new Lru<CachedObject<P>>(limitBytes, weigh, cacheCounts('caldav_objects'));
}

function weigh(c: CachedObject<unknown>): number {
  return c.text.length * (c.parsed === undefined || c.parsed === null ? 1 : 1 + PARSED_FACTOR) + (c.xml !== undefined && c.xml !== c.text ? c.xml.length : 0);
}

/** How often `calendar-data` was written from an escaped text kept by ETag (hits) or escaped afresh (misses). */
export const escapedCounts = cacheCounts('caldav_calendar_data_xml');

export class ObjectCache<P> {
  /**
   * @param memory the shared cache (objectMemory)
   * @param scope this tree's part of it: ETags are unique within one tree, not across trees
   */
  constructor(
    private readonly memory: Lru<CachedObject<P>>,
    private readonly scope: string,
  ) {}

  /** The object's text (read whole from `backend`: calendar objects are bounded by max-resource-size). */
  async text(backend: Backend, entry: Entry): Promise<string> {
    return (await this.slot(backend, entry)).text;
  }

  /** The object parsed by `parse`, once per ETag. */
  async parsed(backend: Backend, entry: Entry, parse: (text: string) => P): Promise<P> {
    const key = this.key(entry);
    const slot = await this.slot(backend, entry);
    if (slot.parsed === undefined) {
      slot.parsed = parse(slot.text);
      // Weighed again, parsed now (unless it was evicted or replaced meanwhile).
      if (this.memory.peek(key) === slot) this.memory.set(key, slot);
    }
    return slot.parsed;
  }

  /**
   * The object parsed by `parse`, kept only if it already was: for a caller that needs one fact of
   * it (its UID, recorded in the object index), where keeping it would fill the cache with every
   * object a calendar upload adds (a git calendar's UID index reads each new member back). A failure
   * (`parse` returns null) is kept, as by `parsed`: it costs nothing, and a broken object is then
   * parsed (and logged) once per ETag.
   */
  async parsedOnce(backend: Backend, entry: Entry, parse: (text: string) => P): Promise<P> {
    const slot = await this.slot(backend, entry);
    if (slot.parsed !== undefined) return slot.parsed;
    const parsed = parse(slot.text);
    if (parsed === null) slot.parsed = parsed; // weighed as text alone (weigh): no need to weigh again
    return parsed;
  }

  /**
   * The text escaped by `escape`, once per ETag: the same content always escapes the same, so the
   * kept copy cannot be stale (calendar-multiget and calendar-query answers write it as it is).
   */
  async escaped(backend: Backend, entry: Entry, escape: (text: string) => string): Promise<string> {
    const key = this.key(entry);
    const slot = await this.slot(backend, entry);
    if (slot.xml !== undefined) {
      escapedCounts.hits++;
      return slot.xml;
    }
    escapedCounts.misses++;
    slot.xml = escape(slot.text);
    if (slot.xml !== slot.text && this.memory.peek(key) === slot) this.memory.set(key, slot); // weighed again
    return slot.xml;
  }

  private key(entry: Entry): string {
    return `${this.scope}\0${entry.etag}`;
  }

  private async slot(backend: Backend, entry: Entry): Promise<CachedObject<P>> {
    const key = this.key(entry);
    const hit = this.memory.get(key);
    if (hit) return hit;
    const body = await backend.read(entry.path, undefined, entry);
    let bytes = wholeContent(body); // a small packed git blob comes whole: no stream to run
    if (!bytes) {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      bytes = Buffer.concat(chunks);
    }
    const slot: CachedObject<P> = { text: bytes.toString('utf8') };
    this.memory.set(key, slot); // read twice at once: the later copy replaces the earlier
    return slot;
  }
}

/**
 * Calendar objects by ETag. A strong ETag names one exact content (a git blob id, or inode + size +
 * mtime), so entries never go stale: a query over a large calendar reads and parses only what changed.
 *
 * Bounded by memory, not by text alone: a parsed object (ical.js components, decorated values) takes
 * ~18× its text (10,000 events: 4.6 MB of text, 84 MB parsed), so it is counted as PARSED_FACTOR
 * times its text. Queries need few parsed objects since the object index (object-index.ts) skips the
 * rest, so the default 64 MB holds the parsed objects of ~7,000 typical events.
 */
import type { Entry } from '../../backends/backend.js';
import type { DavRequest } from '../dav/context.js';

interface Cached<P> {
  key: string;
  text: string;
  parsed?: P;
}

const PARSED_FACTOR = 17;
const weight = (c: Cached<unknown>) => c.text.length * (c.parsed === undefined ? 1 : 1 + PARSED_FACTOR);

export class ObjectCache<P> {
  private readonly map = new Map<string, Cached<P>>();
  private bytes = 0;

  constructor(private readonly limitBytes = 64 * 1024 * 1024) {}

  /** The object's text (read whole: calendar objects are bounded by max-resource-size). */
  async text(req: DavRequest, entry: Entry): Promise<string> {
    return (await this.slot(req, entry)).text;
  }

  /** The object parsed by `parse`, once per ETag. */
  async parsed(req: DavRequest, entry: Entry, parse: (text: string) => P): Promise<P> {
    const slot = await this.slot(req, entry);
    if (slot.parsed === undefined) {
      slot.parsed = parse(slot.text);
      if (this.map.get(slot.key) === slot) this.bytes += slot.text.length * PARSED_FACTOR;
      this.evict();
    }
    return slot.parsed;
  }

  private async slot(req: DavRequest, entry: Entry): Promise<Cached<P>> {
    const key = `${req.backend.name}:${entry.etag}`;
    const hit = this.map.get(key);
    if (hit) {
      this.map.delete(key);
      this.map.set(key, hit);
      return hit;
    }
    const chunks: Buffer[] = [];
    for await (const c of await req.backend.read(entry.path, undefined, entry)) chunks.push(c as Buffer);
    const slot: Cached<P> = { key, text: Buffer.concat(chunks).toString('utf8') };
    const raced = this.map.get(key); // read twice at once: the later copy replaces the earlier
    if (raced) this.bytes -= weight(raced);
    this.map.delete(key);
    this.map.set(key, slot);
    this.bytes += weight(slot);
    this.evict();
    return slot;
  }

  private evict(): void {
    for (const [k, v] of this.map) {
      if (this.bytes <= this.limitBytes || this.map.size <= 1) break;
      this.map.delete(k);
      this.bytes -= weight(v);
    }
  }
}

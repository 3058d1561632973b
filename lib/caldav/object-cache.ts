/**
 * Calendar objects by ETag. A strong ETag names one exact content (a git blob id, or inode + size +
 * mtime), so entries never go stale: a query over a large calendar reads and parses only what changed.
 */
import type { Entry } from '../../backends/backend.js';
import type { DavRequest } from '../dav/context.js';

interface Cached<P> {
  text: string;
  parsed?: P;
}

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
    slot.parsed ??= parse(slot.text);
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
    const slot: Cached<P> = { text: Buffer.concat(chunks).toString('utf8') };
    this.map.set(key, slot);
    this.bytes += slot.text.length;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.limitBytes) break;
      this.map.delete(k);
      this.bytes -= v.text.length;
    }
    return slot;
  }
}

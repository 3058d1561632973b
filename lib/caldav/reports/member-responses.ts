/**
 * One calendar object's `DAV:response` for calendar-query and calendar-multiget (and a card's for
 * CardDAV's): written by PROPFIND's ResponseWriter, or, for a request that asks only getetag and plain
 * calendar-data (address-data), taken as bytes kept by (tree, ETag, href, properties)
 * (state/response-cache.ts says why that cannot be stale).
 */
import type { Entry } from '../../../backends/backend.js';
import type { DavRequest } from '../../dav/context.js';
import { Resource } from '../../dav/properties/registry.js';
import type { PropRequest } from '../../dav/propfind-core.js';
import { ResponseWriter } from '../../dav/response-writer.js';
import { RawXml } from '../../dav/xml/write.js';
import { scopeOf } from '../objects.js';
import { keptBytes, plainRequestKey, responseKey, type PlainData } from '../state/response-cache.js';
import type { CalDavStates } from '../state/states.js';

export class MemberResponses {
  private readonly writer: ResponseWriter;
  /** The request's part of a response's key; null: responses are not kept for this request. */
  private readonly plain: string | null;

  constructor(
    private readonly states: CalDavStates,
    private readonly req: DavRequest,
    request: PropRequest,
    /** Which properties are the content's alone (default: plain calendar-data). */
    plainData?: PlainData,
  ) {
    this.writer = new ResponseWriter(req, request, { minimal: false });
    this.plain = plainRequestKey(request, plainData);
  }

  /** The member's response: kept bytes, or written now (and kept, where the request allows). */
  async write(entry: Entry): Promise<RawXml | Buffer> {
    const { req, plain } = this;
    if (plain === null) return new RawXml(await this.writer.write(new Resource(req, entry)));
    const cache = this.states.responses;
    const key = responseKey(scopeOf(this.states, req, entry), entry.etag, req.dav.prefix, entry.path, plain);
    const kept = cache.get(key);
    if (kept) return kept;
    const text = await this.writer.write(new Resource(req, entry));
    const bytes = keptBytes(text);
    if (!bytes) return new RawXml(text);
    cache.set(key, bytes);
    return bytes;
  }
}

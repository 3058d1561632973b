/** PROPFIND (RFC 4918 §9.1): the response streams; Depth infinity is bounded by a limit. */
import type { Entry } from '../../../backends/backend.js';
import type { DavRequest, MethodHandler } from '../context.js';
import { DavError } from '../errors/dav-error.js';
import { Resource } from '../properties/registry.js';
import { parsePropfind, propResponse, type PropRequest, type ResponseOptions } from '../propfind-core.js';
import { ResponseWriter } from '../response-writer.js';
import { encodeSegment } from '../paths.js';
import { sendMultistatus } from '../multistatus.js';
import { awaitFill, beginFill, cachedMembers, ENTRY_MAX_BYTES, listingSlot, storeMembers, type ListingSlot } from '../listing-cache.js';
import { requireEntry } from '../respond.js';
import { el, RawXml, type OutElement } from '../xml/write.js';
import { dav } from '../xml/names.js';

export const propfind: MethodHandler = async (req) => {
  const depth = req.depth('infinity');
  const request = parsePropfind(await req.readXml());
  const root = await requireEntry(req);
  if (depth === 'infinity' && root.kind === 'collection') await assertFiniteEnough(req, root);
  const options: ResponseOptions = { minimal: wantsMinimal(req) };
  sendMultistatus(req.ctx, responses(req, root, depth, request, options));
};

/**
 * For tests only (test/protocol/propfind-writer.test.ts): `generic` answers every response through
 * propResponse, element by element as before the ResponseWriter, which must give the same bytes.
 */
export const propfindPath = { generic: false };

async function* responses(req: DavRequest, root: Entry, depth: string, request: PropRequest, options: ResponseOptions): AsyncGenerator<RawXml | OutElement | Buffer> {
  if (propfindPath.generic) return yield* genericResponses(req, root, depth, request, options);
  const writer = new ResponseWriter(req, request, options);
  yield new RawXml(await writer.write(new Resource(req, root)));
  if (depth === '0' || root.kind !== 'collection') return;
  const pending: Entry[] = [root];
  while (pending.length) {
    const folder = pending.shift()!.path;
    writer.enterFolder(folder);
    // Encoded once per folder; each member adds its own encoded name.
    const base = req.href(folder, true);
    const inside = folder === '/' ? '/' : folder + '/';
    // Depth 1: the members' bytes may be replayed (../listing-cache.ts says why the key is safe).
    const slot = depth === '1' ? await listingSlot(req, folder, base, request, options, writer.membersLockFree) : null;
    const cached = slot && (cachedMembers(slot) ?? (await awaitFill(slot)));
    if (cached !== undefined && cached !== null) {
      for (let i = 0; i < cached.length; i += CHUNK) yield cached.subarray(i, i + CHUNK);
      return;
    }
    const collected = slot ? new Collector() : null;
    const filled = slot ? beginFill(slot) : undefined;
    try {
      yield* members(req, folder, base, inside, writer, depth, pending, slot, collected);
    } finally {
      filled?.();
    }
  }
}

/** A folder's members, written; a miss's bytes are stored under `slot`. */
async function* members(
  req: DavRequest,
  folder: string,
  base: string,
  inside: string,
  writer: ResponseWriter,
  depth: string,
  pending: Entry[],
  slot: ListingSlot | null,
  collected: Collector | null,
): AsyncGenerator<RawXml> {
  for await (const entry of req.backend.list(folder)) {
    const name = entry.path.startsWith(inside) ? entry.path.slice(inside.length) : '';
    const href = name && !name.includes('/') ? base + encodeSegment(name) + (entry.kind === 'collection' ? '/' : '') : undefined;
    const xml = await writer.write(new Resource(req, entry, href));
    if (slot?.filesOnly && entry.kind === 'collection') collected?.drop();
    collected?.add(xml);
    yield new RawXml(xml);
    // A finite-depth collection (history) is listed as a member but never walked into: its
    // snapshots hold `.history` again, so the walk would never end.
    if (depth === 'infinity' && entry.kind === 'collection' && !entry.finiteDepth) pending.push(entry);
  }
  const text = collected?.text();
  if (slot && text !== undefined) await storeMembers(req, folder, slot, text);
}

/** A hit is written in pieces of this many bytes, so it still interleaves with other requests. */
const CHUNK = 65536;

/** A miss's member responses, kept while they stay under the cache's entry limit. */
class Collector {
  private parts: string[] | null = [];
  private length = 0;

  /** Nothing is kept of this listing. */
  drop(): void {
    this.parts = null;
  }

  add(xml: string): void {
    if (!this.parts) return;
    this.length += xml.length;
    if (this.length > ENTRY_MAX_BYTES) this.parts = null;
    else this.parts.push(xml);
  }

  /** Everything added, or undefined when it grew past the limit. */
  text(): string | undefined {
    return this.parts?.join('');
  }
}

async function* genericResponses(req: DavRequest, root: Entry, depth: string, request: PropRequest, options: ResponseOptions): AsyncGenerator<OutElement> {
  yield await propResponse(new Resource(req, root), request, options);
  if (depth === '0' || root.kind !== 'collection') return;
  const pending: Entry[] = [root];
  while (pending.length) {
    for await (const entry of req.backend.list(pending.shift()!.path)) {
      yield await propResponse(new Resource(req, entry), request, options);
      if (depth === 'infinity' && entry.kind === 'collection' && !entry.finiteDepth) pending.push(entry);
    }
  }
}

async function assertFiniteEnough(req: DavRequest, root: Entry): Promise<void> {
  if (root.finiteDepth) {
    throw new DavError(403, 'Depth: infinity is not served here; use Depth: 1', { condition: el(dav('propfind-finite-depth')) });
  }
  const max = req.dav.options.limits.maxInfinityResources;
  let count = 1;
  const pending = [root.path];
  while (pending.length) {
    for await (const entry of req.backend.list(pending.pop()!)) {
      if (++count > max) {
        throw new DavError(403, `Depth: infinity is limited to ${max} resources here; use Depth: 1`, {
          condition: el(dav('propfind-finite-depth')),
        });
      }
      if (entry.kind === 'collection' && !entry.finiteDepth) pending.push(entry.path);
    }
  }
}

function wantsMinimal(req: DavRequest): boolean {
  return /^t/i.test(req.header('Brief') ?? '') || /return\s*=\s*minimal/i.test(req.header('Prefer') ?? '');
}

/** PROPFIND (RFC 4918 §9.1): the response streams; Depth infinity is bounded by a limit. */
import type { Entry } from '../../../backends/backend.js';
import type { DavRequest, MethodHandler } from '../context.js';
import { DavError } from '../errors/dav-error.js';
import { Resource } from '../properties/registry.js';
import { parsePropfind, propResponse, type PropRequest, type ResponseOptions } from '../propfind-core.js';
import { ResponseWriter } from '../response-writer.js';
import { encodeSegment } from '../paths.js';
import { sendMultistatus } from '../multistatus.js';
import { awaitFill, beginFill, cachedMembers, ENTRY_MAX_BYTES, listingSlot, missMembers, storeMembers, type ListingSlot } from '../listing-cache.js';
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
    if (!slot) {
      for await (const m of members(req, req.backend.list(folder), base, inside, writer, depth, pending)) yield new RawXml(m.xml);
      continue;
    }
    yield* fill(req, folder, slot, base, inside, writer);
  }
}

/**
 * A miss under `slot`: its member responses are rendered into memory (not written) while they may
 * still be stored, so those waiting for this fill (awaitFill) are released as soon as it is known
 * whether anything will be stored — never paced by this request's client, which may read slowly or
 * not at all. Once a listing cannot be stored (too long, or a collection member where `filesOnly`),
 * the waiters are released to list themselves and this one streams the rest.
 */
async function* fill(req: DavRequest, folder: string, slot: ListingSlot, base: string, inside: string, writer: ResponseWriter): AsyncGenerator<RawXml | Buffer> {
  const release = beginFill(slot);
  try {
    const { entries, store } = await missMembers(req, folder, slot);
    const listed = members(req, entries, base, inside, writer, '1', []);
    if (store === 'never') release(); // nothing will be stored: the waiters list themselves
    let parts: string[] | null = store === 'never' ? null : [];
    let length = 0;
    for await (const m of listed) {
      if (!parts) {
        yield new RawXml(m.xml);
        continue;
      }
      length += m.xml.length;
      if (length <= ENTRY_MAX_BYTES && !(slot.filesOnly && m.collection)) {
        parts.push(m.xml);
        continue;
      }
      release();
      for (const p of parts) yield new RawXml(p);
      parts = null;
      yield new RawXml(m.xml);
    }
    if (!parts || store === 'never') return;
    const bytes = await storeMembers(req, folder, slot, parts.join(''), store);
    release();
    for (let i = 0; i < bytes.length; i += CHUNK) yield bytes.subarray(i, i + CHUNK);
  } finally {
    release();
  }
}

interface Member {
  xml: string;
  collection: boolean;
}

/** A folder's members (`listed`), rendered. */
async function* members(req: DavRequest, listed: Iterable<Entry> | AsyncIterable<Entry>, base: string, inside: string, writer: ResponseWriter, depth: string, pending: Entry[]): AsyncGenerator<Member> {
  for await (const entry of listed) {
    const name = entry.path.startsWith(inside) ? entry.path.slice(inside.length) : '';
    const href = name && !name.includes('/') ? base + encodeSegment(name) + (entry.kind === 'collection' ? '/' : '') : undefined;
    const xml = await writer.write(new Resource(req, entry, href));
    yield { xml, collection: entry.kind === 'collection' };
    // A finite-depth collection (history) is listed as a member but never walked into: its
    // snapshots hold `.history` again, so the walk would never end.
    if (depth === 'infinity' && entry.kind === 'collection' && !entry.finiteDepth) pending.push(entry);
  }
}

/** A hit is written in pieces of this many bytes, so it still interleaves with other requests. */
const CHUNK = 65536;

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

/**
 * A folder's members as entries, in chunks of 256: the blob sizes a chunk still needs are read for
 * that chunk alone (several reads in flight), so the first entries of a folder of 100,000 go out
 * after one chunk, not after a pass over every member. A chunk whose sizes are all known (a warm
 * listing) makes its entries one at a time as they are taken; one with sizes to read (a cold
 * listing: in a fresh process, every file's) makes those entries while reading, so up to 256 are
 * held until taken, each let go as it is. Entries made far ahead of their writing lived through
 * several young-generation collections and were moved to the old generation, whose growth was most
 * of such a listing's peak.
 */
import { joinPath, type Entry } from '../backend.js';
import { BackendError } from '../errors.js';
import { mapOrdered } from '../util/concurrency.js';
import { entryOf } from './entry-of.js';
import type { ObjectStore } from './objects.js';
import type { PathIndex } from './path-index.js';
import { isListable, type Slot } from './tree.js';

const CHUNK = 256;

export interface MemberSource {
  store: ObjectStore;
  index: PathIndex;
  /** Whether the member `name` of the folder listed is bookkeeping clients never see. */
  isHidden(name: string): boolean;
  /** An entry the slow way: a folder not yet written, a size read from the object. */
  toEntry(path: string, slot: Slot): Promise<Entry>;
  /** A member whose object is broken was listed as a made-up entry. */
  madeUp(): void;
}

/** `members` in tree order, as the folder's slot map or one pass over its tree (TreeEditor.members). */
export async function* listMembers(dir: string, members: Iterable<[string, Slot]>, time: Date, src: MemberSource): AsyncGenerator<Entry> {
  let chunk: Array<[string, Slot]> = [];
  for (const [name, child] of members) {
    if (!isListable(child) || src.isHidden(name)) continue;
    chunk.push([joinPath(dir, name), child]);
    if (chunk.length === CHUNK) {
      yield* entriesOf(chunk, time, src);
      chunk = [];
    }
  }
  if (chunk.length) yield* entriesOf(chunk, time, src);
}

async function* entriesOf(chunk: Array<[string, Slot]>, time: Date, src: MemberSource): AsyncGenerator<Entry> {
  const sized = (s: Slot) => (s.kind === 'file' ? src.store.knownBlobSize(s.oid) : s.oid ? 0 : undefined);
  // Sizes taken now: the cache may drop one while this chunk's entries wait to be taken.
  const sizes = chunk.map(([, s]) => sized(s));
  const unknown = chunk.filter((_, i) => sizes[i] === undefined);
  const slow = new Map<string, Entry>();
  if (unknown.length) for await (const entry of mapOrdered(unknown, 16, ([path, s]) => made(path, s, time, src))) slow.set(entry.path, entry);
  for (let i = 0; i < chunk.length; i++) {
    const [path, s] = chunk[i]!;
    const size = sizes[i];
    if (size === undefined) {
      const entry = slow.get(path)!;
      slow.delete(path);
      yield entry;
      continue;
    }
    yield entryOf(path, s.kind === 'dir' ? 'collection' : 'file', s.oid!, size, time, src.index);
  }
}

function made(path: string, slot: Slot, time: Date, src: MemberSource): Promise<Entry> {
  return src.toEntry(path, slot).catch((err: unknown): Entry => {
    // A broken object fails its own GET (500, naming it); the folder still lists whole.
    if (!(err instanceof BackendError && err.code === 'Corrupt')) throw err;
    src.madeUp();
    return { path, kind: 'file', size: 0, etag: `"${slot.kind === 'file' ? slot.oid : 'corrupt'}"`, modified: time };
  });
}

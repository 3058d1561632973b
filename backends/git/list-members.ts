/**
 * A folder's members as entries, in chunks: the blob sizes a chunk still needs are read for that
 * chunk alone (several reads in flight), then its entries are made at once. So the first entries of
 * a folder of 100,000 go out after one chunk, not after a pass over every member (the members
 * array, the hidden-name filter and a size look-up for each, as before).
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
  isHidden(path: string): boolean;
  /** An entry the slow way: a folder not yet written, a size read from the object. */
  toEntry(path: string, slot: Slot): Promise<Entry>;
  /** A member whose object is broken was listed as a made-up entry. */
  madeUp(): void;
}

export async function* listMembers(dir: string, members: ReadonlyMap<string, Slot>, time: Date, src: MemberSource): AsyncGenerator<Entry> {
  let chunk: Array<[string, Slot]> = [];
  for (const [name, child] of members) {
    const path = joinPath(dir, name);
    if (!isListable(child) || src.isHidden(path)) continue;
    chunk.push([path, child]);
    if (chunk.length === CHUNK) {
      yield* await entriesOf(chunk, time, src);
      chunk = [];
    }
  }
  if (chunk.length) yield* await entriesOf(chunk, time, src);
}

async function entriesOf(chunk: Array<[string, Slot]>, time: Date, src: MemberSource): Promise<Entry[]> {
  const sized = (s: Slot) => (s.kind === 'file' ? src.store.knownBlobSize(s.oid) : s.oid ? 0 : undefined);
  const slow = new Map<string, Entry>();
  const unknown = chunk.filter(([, s]) => sized(s) === undefined);
  for await (const entry of mapOrdered(unknown, 16, ([path, s]) => made(path, s, time, src))) slow.set(entry.path, entry);
  return chunk.map(([path, s]) => slow.get(path) ?? entryOf(path, s.kind === 'dir' ? 'collection' : 'file', s.oid!, sized(s)!, time, src.index));
}

function made(path: string, slot: Slot, time: Date, src: MemberSource): Promise<Entry> {
  return src.toEntry(path, slot).catch((err: unknown): Entry => {
    // A broken object fails its own GET (500, naming it); the folder still lists whole.
    if (!(err instanceof BackendError && err.code === 'Corrupt')) throw err;
    src.madeUp();
    return { path, kind: 'file', size: 0, etag: `"${slot.kind === 'file' ? slot.oid : 'corrupt'}"`, modified: time };
  });
}

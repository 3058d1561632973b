/**
 * A git GET's or HEAD's target opened once (GitBackend.openRead): the branch tip is read and the path
 * walked in its tree once, for the entry the method answers with; the body is then the blob that
 * entry's ETag names, by id. A blob id names its content for ever, so the bytes are those the ETag
 * and Content-Length describe whatever the branch does meanwhile, without holding anything open
 * between the two: a HEAD, a 304 or a 412 opens no file at all. The body comes from the blob cache
 * (`BlobCache.open`) or is inflated, and the blob cache's file, once opened,
 * serves the whole body even if it is evicted (unlinked) meanwhile.
 */
import type { Readable } from 'node:stream';
import type { ByteRange, Entry } from '../backend.js';
import type { OpenedRead } from '../capabilities.js';
import { BackendError } from '../errors.js';

/**
 * The blob id a file entry of a git tree names (its ETag is the id in quotes: ./entry-of.ts), or
 * null. 40 hex digits: the object store reads SHA-1 repositories only (refs.ts, loose.ts). With
 * `path`, only for an entry of that path (a caller's `known` entry).
 */
export function blobIdOf(entry: Entry | undefined, path = entry?.path): string | null {
  return entry && entry.path === path && entry.kind === 'file' ? (/^"([0-9a-f]{40})"$/.exec(entry.etag)?.[1] ?? null) : null;
}

/**
 * The entry, and its body from `store.readBlob` by the entry's blob id (`backend.read` by name where
 * the entry names none, which the live tree's file entries always do). A collection's body is an
 * IsACollection error.
 */
export function openedBlob(
  entry: Entry,
  store: { readBlob(oid: string, range?: ByteRange): Promise<Readable> },
  backend: { read(path: string, range?: ByteRange): Promise<Readable> },
): OpenedRead {
  let taken = false;
  return {
    entry,
    body(range?: ByteRange): Promise<Readable> {
      if (taken) return Promise.reject(new Error('an opened read gives its body once'));
      taken = true;
      if (entry.kind === 'collection') return Promise.reject(new BackendError('IsACollection', entry.path));
      const oid = blobIdOf(entry);
      return oid ? store.readBlob(oid, range) : backend.read(entry.path, range);
    },
    close: () => undefined, // nothing is held until body(), and the body owns what it opens
  };
}

/**
 * A tree member as an Entry, once its id and (for a file) its size are known: synchronous, so a
 * listing whose blob sizes are all cached builds its entries without a promise per member.
 */
import type { Entry } from '../backend.js';
import type { PathIndex } from './path-index.js';

export function entryOf(path: string, kind: 'file' | 'collection', oid: string, size: number, time: Date, index: PathIndex): Entry {
  // Times come from the path index: when this path last changed, and when it first appeared.
  const last = index.lastChange(path);
  const first = index.firstChange(path);
  const modified = last && last.time * 1000 <= time.getTime() ? new Date(last.time * 1000) : time;
  const created = first ? new Date(first.time * 1000) : undefined;
  return { path, kind, size, etag: `"${oid}"`, modified, created };
}


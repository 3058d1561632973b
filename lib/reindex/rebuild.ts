/**
 * The rebuilding half of `gitdav reindex`: opens a tree the way the server does (lib/tenants.ts
 * openBackend, blob cache off), which on git builds the path index from history (and commits what a
 * crash left in the journal, as any start does), then fills the CalDAV object index by parsing every
 * calendar object — what a calendar-query does object by object (lib/caldav/objects.ts) — and
 * closes, which saves both. Everything else derived is rebuilt lazily by the server (./derived.ts).
 */
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Backend, Entry } from '../../backends/backend.js';
import { openBackend, type BackendKind, type GitWriteOptions } from '../tenants.js';
import type { SymlinkPolicy } from '../../backends/fs/containment.js';
import { propsHaveType } from '../dav/resource-types.js';
import { CALENDAR } from '../caldav/context.js';
import { parseCalendarObject } from '../caldav/ical/object.js';
import { objectBounds } from '../caldav/ical/bounds.js';
import { INDEX_FILE, ObjectIndex } from '../caldav/state/object-index.js';

/** Bigger files in a calendar are not parsed (no client stores such an object; the server's PUT bounds them far lower). */
const MAX_OBJECT_BYTES = 64 * 1024 * 1024;
const HISTORY = '/.history';

export interface Rebuilt {
  calendars: number;
  /** Calendar objects parsed and indexed. */
  objects: number;
  /** Files in calendars that are no calendar object (left out, as queries leave them out). */
  skipped: number;
}

export interface OpenOptions {
  symlinks?: SymlinkPolicy;
  git?: GitWriteOptions;
}

/** Opens the tree, rebuilds, closes. Throws what the open throws (a folder in use: FolderInUseError). */
export async function rebuildTree(kind: BackendKind, root: string, options: OpenOptions, open?: (b: Backend) => Promise<void>): Promise<Rebuilt> {
  const backend = await openBackend(kind, root, { symlinks: options.symlinks, blobCacheBytes: 0, git: options.git });
  try {
    await open?.(backend);
    const index = new ObjectIndex(join(backend.stateDir, INDEX_FILE));
    await index.ready();
    const out: Rebuilt = { calendars: 0, objects: 0, skipped: 0 };
    for await (const calendar of collections(backend, '/')) {
      if (!propsHaveType(await backend.props(calendar.path, calendar), CALENDAR)) continue;
      out.calendars++;
      for await (const e of backend.list(calendar.path)) {
        if (e.kind !== 'file') continue;
        if (e.size > MAX_OBJECT_BYTES) {
          out.skipped++;
          continue;
        }
        const text = await readText(await backend.read(e.path, undefined, e));
        let bounds;
        try {
          bounds = objectBounds(parseCalendarObject(text));
        } catch {
          out.skipped++; // not a calendar object (stored over plain WebDAV): queries skip it too
          continue;
        }
        index.set(e.etag, bounds);
        out.objects++;
      }
    }
    await index.close();
    return out;
  } finally {
    await backend.close?.();
  }
}

/** Every collection under `path` (itself first), depth first; history is not the live tree. */
async function* collections(backend: Backend, path: string): AsyncGenerator<Entry> {
  const self = await backend.stat(path);
  if (!self || self.kind !== 'collection') return;
  yield self;
  const subs: string[] = [];
  for await (const e of backend.list(path)) if (e.kind === 'collection' && e.path !== HISTORY) subs.push(e.path);
  for (const sub of subs) yield* collections(backend, sub);
}

async function readText(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * What in a tree's state dir (`<gitdir>/gitdav/`, `<root>/.gitdav/`) is DERIVED — rebuilt from the
 * repository or folder, so deleting it costs only time — and what is not, from the code that writes
 * each file (docs/architecture.md, "Who owns which state"; docs/operations.md, "Reindex, and what
 * lives where"). `gitdav reindex` (../cli-reindex.ts) removes exactly the DERIVED entries below and
 * nothing else: the list is explicit (never "everything but…"), so a file added to the state dir
 * later is kept until someone decides it is derived.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

export interface DerivedEntry {
  /** The name in the state dir (a file, or a folder whose matching files go). */
  name: string;
  /** In a folder: only the files whose names match (the lock files beside them stay). */
  files?: RegExp;
  /** What rebuilds it. */
  rebuilt: string;
}

/** Derived: each rebuilt from the repository or folder (by reindex itself, or lazily on first use). */
export const DERIVED: readonly DerivedEntry[] = [
  { name: 'path-index.json', rebuilt: 'now, from history (the git backend builds it at open; reindex saves it)' },
  { name: 'caldav-index.json', rebuilt: 'now, by parsing every calendar object (reindex walks the calendars)' },
  { name: 'caldav-members', files: /\.json$/, rebuilt: 'lazily: each calendar\'s member list at its first calendar-query' },
  { name: 'caldav-uids', files: /\.log$/, rebuilt: 'lazily: each calendar\'s UID index from the calendar at its first PUT' },
  { name: 'checksums.log', rebuilt: 'lazily: SHA-1/MD5 re-hashed when a client asks oc:checksums' },
  { name: 'blob-cache', rebuilt: 'lazily: inflated blobs cached again as clients read them' },
];

/** Not derived: the only copy of what they hold, or held by a live process. Reindex never touches them. */
export const KEPT: readonly { name: string; why: string }[] = [
  { name: 'journal', why: 'the write journal: acknowledged writes not yet committed, and the committed mark' },
  { name: 'sync-token.key', why: 'signs sync tokens: a new key makes every client resync once' },
  { name: 'sync', why: 'folder sync snapshots: past states, not rebuildable; lost, a client resyncs once (403 valid-sync-token)' },
  { name: 'locks', why: 'clients\' WebDAV locks' },
  { name: 'volatile-props.json', why: 'Windows\' Win32* properties, never committed' },
  { name: 'junk', why: 'junk files (.DS_Store, ~$x.docx…): user data kept out of history' },
  { name: 'share-props.json', why: 'a grantee\'s properties on shares' },
  { name: 'tmp', why: 'uploads in flight (a dead process\'s are swept by the next open)' },
  { name: 'flight', why: 'flight-recorder dumps and process registrations' },
  { name: 'server.pid', why: 'the folder server\'s lock' },
  { name: 'supervisor.json', why: 'the supervisor\'s registration' },
];

export interface Removed {
  path: string;
  bytes: number;
  files: number;
}

/** Bytes and files under `path` (0, 0 if absent); symbolic links are not followed. */
export async function sizeOf(path: string): Promise<{ bytes: number; files: number }> {
  const st = await fsp.lstat(path).catch(() => null);
  if (!st) return { bytes: 0, files: 0 };
  if (!st.isDirectory()) return { bytes: st.size, files: 1 };
  let bytes = 0;
  let files = 0;
  for (const name of await fsp.readdir(path)) {
    const s = await sizeOf(join(path, name));
    bytes += s.bytes;
    files += s.files;
  }
  return { bytes, files };
}

/**
 * Removes the derived entries of one state dir: a file is unlinked (a reader holding it open keeps
 * its data); a folder entry loses its matching files only (or, without `files`, goes whole).
 */
export async function removeDerived(stateDir: string): Promise<Removed[]> {
  const out: Removed[] = [];
  for (const e of DERIVED) {
    const path = join(stateDir, e.name);
    const st = await fsp.lstat(path).catch(() => null);
    if (!st) continue;
    if (st.isDirectory() && e.files) {
      let bytes = 0;
      let files = 0;
      for (const name of await fsp.readdir(path)) {
        if (!e.files.test(name)) continue;
        const s = await sizeOf(join(path, name));
        await fsp.rm(join(path, name), { force: true });
        bytes += s.bytes;
        files += s.files;
      }
      if (files) out.push({ path, bytes, files });
      continue;
    }
    const s = await sizeOf(path);
    await fsp.rm(path, { recursive: true, force: true });
    out.push({ path, ...s });
  }
  return out;
}

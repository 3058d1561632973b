/**
 * A temp area that any number of processes share: each writes under a folder of its own, named by
 * its identity (./process-identity.ts `holderName`), and whoever opens the area removes the folders
 * of processes that cannot still run (a crash's leftovers). So a process starting beside running ones
 * (a worker replaced by its supervisor, a reload) never deletes another's upload in flight, and
 * nothing a dead process left lasts past the next start.
 *
 * Entries that are no process's folder (what an older gitdav wrote flat into the area) are removed
 * only once older than `legacyMs` (an hour): during the one reload from such a version, its workers
 * may still be finishing uploads there.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { holderName, holderOfName, judge, self } from './process-identity.js';

const LEGACY_MS = 3600_000;

/** This process's folder in the temp area `base` (not made here). */
export function ownTempDir(base: string): string {
  return join(base, holderName(self()));
}

/**
 * Makes this process's folder in `base` and removes what dead processes left there. Returns the
 * folder. `clearOwn`: also empty our own folder (the first user of the area in this process).
 */
export async function openTempArea(base: string, options: { clearOwn?: boolean; legacyMs?: number } = {}): Promise<string> {
  const own = ownTempDir(base);
  await fsp.mkdir(own, { recursive: true });
  const ownName = holderName(self());
  for (const name of await fsp.readdir(base)) {
    const path = join(base, name);
    if (name === ownName) {
      if (options.clearOwn) for (const n of await fsp.readdir(path)) await fsp.rm(join(path, n), { recursive: true, force: true });
      continue;
    }
    const holder = holderOfName(name);
    if (holder) {
      if (judge(holder) === 'stale') await fsp.rm(path, { recursive: true, force: true });
      continue;
    }
    const st = await fsp.lstat(path).catch(() => null);
    if (st && Date.now() - st.mtimeMs > (options.legacyMs ?? LEGACY_MS)) await fsp.rm(path, { recursive: true, force: true });
  }
  return own;
}

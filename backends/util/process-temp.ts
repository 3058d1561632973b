/**
 * A temp area that any number of processes share: each writes under a folder of its own, named by
 * its identity (./process-identity.ts `holderName`), and whoever opens the area removes the folders
 * of processes that cannot still run (a crash's leftovers). So a process starting beside running ones
 * (a worker replaced by its supervisor, a reload) never deletes another's upload in flight, and
 * nothing a dead process left lasts past the next start.
 *
 * A folder of a process in another pid namespace (another container) cannot be judged from here: it
 * is removed once untouched (no entry added or removed) for `elsewhereMs` (a day). Each process
 * removes its own folder when its last user of the area closes it (`closeTempArea`).
 *
 * Entries that are no process's folder (what an older gitdav wrote flat into the area) are removed
 * only once older than `legacyMs` (an hour): during the one reload from such a version, its workers
 * may still be finishing uploads there.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { holderName, holderOfName, judge, self } from './process-identity.js';

const LEGACY_MS = 3600_000;
const ELSEWHERE_MS = 24 * 3600_000;

/** Users of each area in this process (openTempArea − closeTempArea), by base. */
const users = new Map<string, number>();

/** This process's folder in the temp area `base` (not made here). */
export function ownTempDir(base: string): string {
  return join(base, holderName(self()));
}

/**
 * Makes this process's folder in `base` and removes what dead processes left there. Returns the
 * folder. `clearOwn`: also empty our own folder (the first user of the area in this process).
 */
export async function openTempArea(base: string, options: { clearOwn?: boolean; legacyMs?: number; elsewhereMs?: number } = {}): Promise<string> {
  const own = ownTempDir(base);
  const reused = await makeOwn(base, own);
  const ownName = holderName(self());
  for (const name of await fsp.readdir(base)) {
    const path = join(base, name);
    if (name === ownName) {
      // Not when it is a link to the area itself (see makeOwn): that would clear everyone's.
      const real = (await fsp.lstat(path)).isDirectory();
      if (real && (options.clearOwn || reused)) for (const n of await fsp.readdir(path)) await fsp.rm(join(path, n), { recursive: true, force: true });
      continue;
    }
    const holder = holderOfName(name);
    if (holder) {
      const state = judge(holder);
      if (state === 'stale' || (state === 'elsewhere' && (await untouchedFor(path, options.elsewhereMs ?? ELSEWHERE_MS)))) {
        await fsp.rm(path, { recursive: true, force: true });
      }
      continue;
    }
    // A process's folder this version cannot read (a newer gitdav's): never an older one's file.
    if (/^p\d+-/.test(name)) continue;
    const st = await fsp.lstat(path).catch(() => null);
    if (st && Date.now() - st.mtimeMs > (options.legacyMs ?? LEGACY_MS)) await fsp.rm(path, { recursive: true, force: true });
  }
  users.set(base, (users.get(base) ?? 0) + 1);
  return own;
}

/** One user of the area in this process is done with it; the last removes this process's folder. */
export async function closeTempArea(base: string): Promise<void> {
  const left = (users.get(base) ?? 1) - 1;
  if (left > 0) {
    users.set(base, left);
    return;
  }
  users.delete(base);
  // A link to the area (full disk, see makeOwn) is removed as a link, never followed.
  await fsp.rm(ownTempDir(base), { recursive: true, force: true }).catch(() => undefined);
}

async function untouchedFor(path: string, ms: number): Promise<boolean> {
  const st = await fsp.lstat(path).catch(() => null);
  return st !== null && Date.now() - st.mtimeMs > ms;
}

/**
 * Makes this process's folder; true if it took over a dead process's (whose leftovers must go). On a
 * full disk a new folder needs a block that is not there (a start must still succeed, as it did when
 * the area was one shared folder): a dead process's folder is renamed to ours (a rename needs no
 * block), or else ours is made a link to the area itself (a short link needs no block either), whose
 * files then lie flat there, as an older gitdav's did.
 */
async function makeOwn(base: string, own: string): Promise<boolean> {
  await fsp.mkdir(base, { recursive: true });
  try {
    await fsp.mkdir(own); // not recursive: that says ENOENT for a full disk
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'ENOSPC' && code !== 'EDQUOT') throw err;
  }
  for (const name of await fsp.readdir(base)) {
    const holder = holderOfName(name);
    if (!holder || judge(holder) !== 'stale') continue;
    const ok = await fsp.rename(join(base, name), own).then(() => true, () => false); // another process may take it first
    if (ok) return true;
  }
  await fsp.symlink('.', own);
  return false;
}

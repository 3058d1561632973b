/**
 * A repository's mirrors on disk, all in its state dir (`<gitdir>/gitdav`, so each user's repository
 * has its own, and lib/config.ts stays out of it):
 *
 *   mirrors.json            the list the operator manages (`gitdav mirror add|remove`): [{ name, url }]
 *   mirrors/<name>.json     what the last push did: commit pushed, when, last error, failures, state
 *   mirrors/<name>.lock     held by the one process pushing to that mirror (../../util/lock-file.ts)
 *
 * The list is read afresh on every push round (a small file; an edit needs no restart). Both files are
 * written whole (temp + fsync + rename, ../../util/durable-file.ts); the list's edits are made under
 * `mirrors.json.lock`, so two `gitdav mirror add` at once both land.
 */
import { join } from 'node:path';
import { readTextIfExists, writeFileDurably } from '../../util/durable-file.js';
import { LockFile } from '../../util/lock-file.js';

export interface MirrorConfig {
  /** A short name: the state file's and the metrics' label. */
  name: string;
  /** What `git push` takes: a path to a bare repository, an ssh or http(s) URL. */
  url: string;
}

/** ok: has the tip; lagging: behind, pushing; failing: the last push failed (retried); diverged: holds commits we do not (never overwritten). */
export type MirrorStateName = 'ok' | 'lagging' | 'failing' | 'diverged';

export interface MirrorState {
  url: string;
  /** The branch pushed (refs/heads/…). */
  ref: string;
  /** The last commit the mirror took (its branch is there or ahead of it), or null before the first push. */
  pushed: string | null;
  /** When (ISO) that push ended. */
  pushedAt: string | null;
  lastError: string | null;
  /** When (ISO) the last error happened. */
  lastErrorAt: string | null;
  /** Pushes failed in a row (0 after a success). */
  failures: number;
  state: MirrorStateName;
}

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const mirrorsFile = (stateDir: string): string => join(stateDir, 'mirrors.json');
export const stateFileOf = (stateDir: string, name: string): string => join(stateDir, 'mirrors', `${name}.json`);
export const lockFileOf = (stateDir: string, name: string): string => join(stateDir, 'mirrors', `${name}.lock`);

/** The configured mirrors; [] without a file. A file that is not a list of mirrors is an error (said, not guessed). */
export async function readMirrors(stateDir: string): Promise<MirrorConfig[]> {
  const text = await readTextIfExists(mirrorsFile(stateDir));
  if (text === null || !text.trim()) return [];
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed)) throw new Error(`${mirrorsFile(stateDir)}: not a list of mirrors`);
  return parsed.map((m: unknown, i) => {
    const { name, url } = (m ?? {}) as Partial<MirrorConfig>;
    if (typeof name !== 'string' || !NAME_PATTERN.test(name) || typeof url !== 'string' || !url || url.startsWith('-')) {
      // A url starting with "-" would be an option of git push (--receive-pack=…), not a place.
      throw new Error(`${mirrorsFile(stateDir)}: entry ${i} needs a name (letters, digits, . _ -) and a url (not starting with "-")`);
    }
    return { name, url };
  });
}

/** Changes the list under its lock file: `edit` gets the current list and returns the new one. */
export async function editMirrors(stateDir: string, edit: (mirrors: MirrorConfig[]) => MirrorConfig[]): Promise<MirrorConfig[]> {
  const file = mirrorsFile(stateDir);
  return new LockFile(`${file}.lock`).run(
    async () => {
      const next = edit(await readMirrors(stateDir));
      await writeFileDurably(file, JSON.stringify(next, null, 2) + '\n', { durability: 'fsync' });
      return next;
    },
    { makeDir: true },
  );
}

/** A name for a URL that has none: its last path part without `.git`, made unique among `taken`. */
export function nameFor(url: string, taken: Iterable<string>): string {
  const last = url.replace(/\/+$/, '').split(/[/:]/).pop() ?? '';
  const base = last.replace(/\.git$/, '').replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 40) || 'mirror';
  const used = new Set(taken);
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(`${base}-${i}`)) return `${base}-${i}`;
}

export async function readState(stateDir: string, name: string): Promise<MirrorState | null> {
  const text = await readTextIfExists(stateFileOf(stateDir, name)).catch(() => null);
  if (!text) return null;
  try {
    return JSON.parse(text) as MirrorState;
  } catch {
    return null; // a torn file after power loss: the next push writes it again
  }
}

export async function writeState(stateDir: string, name: string, state: MirrorState): Promise<void> {
  await writeFileDurably(stateFileOf(stateDir, name), JSON.stringify(state, null, 2) + '\n', { durability: 'fsync' });
}

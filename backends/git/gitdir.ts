/**
 * Finding (or making) the repository a git backend serves, and tidying what a crash left in it.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Refs } from './refs.js';
import { readTextIfExists, writeFileDurably } from '../util/durable-file.js';

/** HEAD's branch; if that does not exist (a fresh `git init` says master), `main` or the only branch. */
export async function defaultBranch(refs: Refs): Promise<string> {
  const head = (await refs.headTarget())?.replace(/^refs\/heads\//, '');
  if (head && (await refs.read(`refs/heads/${head}`, 0, true))) return head; // by name: pins nothing
  const branches = [...(await refs.list('refs/heads/')).keys()].map((r) => r.slice('refs/heads/'.length));
  if (branches.includes('main')) return 'main';
  if (branches.length === 1) return branches[0]!;
  return head || 'main';
}

/** Whether `dir` is a git dir: an objects folder and a HEAD file. */
export async function isGitDir(dir: string): Promise<boolean> {
  return (
    (await fsp.stat(join(dir, 'objects')).catch(() => null))?.isDirectory() === true &&
    (await fsp.stat(join(dir, 'HEAD')).catch(() => null))?.isFile() === true
  );
}

/** What `initBare` (as isomorphic-git's `init` before it) makes in a bare repository (HEAD last). */
const INIT_ENTRIES = new Set(['hooks', 'info', 'objects', 'refs', 'config', 'HEAD']);
/** isomorphic-git's `init` config for a bare repository, kept byte for byte: repositories stay as they were made. */
const INIT_CONFIG = '[core]\n\trepositoryformatversion = 0\n\tfilemode = false\n\tbare = true\n\tsymlinks = false\n\tignorecase = true\n';
const INIT_HEAD = 'ref: refs/heads/main\n';
/** `initBare`'s temp files, in info/ (a root being made may hold only INIT_ENTRIES): a crash's are removed on open. */
const INIT_TEMP = /^(config|HEAD)\.\d+\.[0-9a-f]+\.tmp$/;

/**
 * Writes `name` in the repository being made in `root`, whole (temp in info/, fsync, then link or
 * rename): no process ever sees it half written. `replace` false: only if it is not there yet
 * (link; EEXIST means another opener made it, with the same bytes, and is fine).
 */
async function writeInitFile(root: string, name: 'config' | 'HEAD', text: string, replace: boolean): Promise<void> {
  const tempFile = join(root, 'info', `${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFileDurably(join(root, name), text, { durability: 'fsync', replace, tempFile });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * A new bare repository in `root`: the folders, config and HEAD that isomorphic-git's `init` wrote,
 * without loading isomorphic-git for it (11 MB of RSS for the rest of the process's life, only to
 * write three lines; docs/bench.md, issue 13 round 4). Every opener of a new root runs it, at once
 * or after a crash of another, and every step is safe to repeat or to race, because both files
 * always hold the same bytes: the folders by mkdir -p; config and HEAD each appear whole and only
 * once (linked from a temp file, so never half seen, and an existing one is never replaced). A
 * crash at any point (after config, before HEAD) leaves a root the next opener completes. A config
 * that is a strict prefix of ours (empty included) is what a crash of an earlier gitdav left while
 * writing it in place: it is rewritten whole.
 */
async function initBare(root: string): Promise<void> {
  for (const dir of ['hooks', 'info', 'objects/info', 'objects/pack', 'refs/heads', 'refs/tags']) await fsp.mkdir(join(root, dir), { recursive: true });
  await writeInitFile(root, 'config', INIT_CONFIG, false);
  const config = await readTextIfExists(join(root, 'config'));
  if (config !== null && config !== INIT_CONFIG && INIT_CONFIG.startsWith(config)) await writeInitFile(root, 'config', INIT_CONFIG, true);
  await writeInitFile(root, 'HEAD', INIT_HEAD, false);
}

/**
 * The git dir for `root`: a bare repository, `root/.git`, or a new bare repository in an empty folder.
 * Several processes may open one new root at once (a supervisor's workers on their first start): a
 * folder holding only what `initBare` makes is a repository being made now, or one whose maker
 * crashed, and each opener runs `initBare`, which completes it (nobody waits for another).
 */
export async function findOrInitRepository(root: string): Promise<string> {
  if (await isGitDir(root)) return cleanInitTemps(root);
  if (await isGitDir(join(root, '.git'))) return join(root, '.git');
  await fsp.mkdir(root, { recursive: true });
  const names = await fsp.readdir(root);
  if (names.some((name) => !INIT_ENTRIES.has(name))) {
    throw new Error(`${root} is not empty and not a git repository; use --backend fs to serve it as a folder, or point --root at a repository`);
  }
  await initBare(root);
  if (!(await isGitDir(root))) throw new Error(`${root}: could not be made a git repository (objects/ or HEAD is not what it should be)`);
  return cleanInitTemps(root);
}

/** Removes temp files a crashed `initBare` left in info/ (an hour old: a live opener's are gone in milliseconds). */
async function cleanInitTemps(gitdir: string): Promise<string> {
  await removeOldTempFiles(join(gitdir, 'info'), INIT_TEMP);
  return gitdir;
}

export async function removeOldTempFiles(dir: string, pattern: RegExp, olderThanMs = 3600_000): Promise<void> {
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (!pattern.test(name)) continue;
    const st = await fsp.stat(join(dir, name)).catch(() => null);
    if (st?.isFile() && Date.now() - st.mtimeMs > olderThanMs) await fsp.rm(join(dir, name), { force: true });
  }
}

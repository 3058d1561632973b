/**
 * Finding (or making) the repository a git backend serves, and tidying what a crash left in it.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Refs } from './refs.js';

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

/**
 * A new bare repository in `root`: the folders, config and HEAD that isomorphic-git's `init` wrote,
 * without loading isomorphic-git for it (11 MB of RSS for the rest of the process's life, only to
 * write three lines; docs/bench.md, issue 13 round 4). The config is created exclusively: of several
 * processes making one root at once, the one that creates it writes HEAD, the others leave both
 * alone (as `init` left an existing config) and wait for HEAD. HEAD is written beside (in info/,
 * one of the entries a repository being made may hold) and renamed, so it appears whole.
 */
async function initBare(root: string): Promise<void> {
  for (const dir of ['hooks', 'info', 'objects/info', 'objects/pack', 'refs/heads', 'refs/tags']) await fsp.mkdir(join(root, dir), { recursive: true });
  try {
    await fsp.writeFile(join(root, 'config'), INIT_CONFIG, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  const temp = join(root, 'info', `HEAD.${process.pid}.${randomBytes(4).toString('hex')}`);
  await fsp.writeFile(temp, 'ref: refs/heads/main\n');
  await fsp.rename(temp, join(root, 'HEAD'));
}

/**
 * The git dir for `root`: a bare repository, `root/.git`, or a new bare repository in an empty folder.
 * Several processes may open one new root at once (a supervisor's workers on their first start): a
 * folder holding only what `initBare` makes is a repository another process is making right now, and
 * `initBare` leaves an existing config alone, so each may run it; then each waits (bounded) for HEAD,
 * which `initBare` writes last.
 */
export async function findOrInitRepository(root: string): Promise<string> {
  if (await isGitDir(root)) return root;
  if (await isGitDir(join(root, '.git'))) return join(root, '.git');
  await fsp.mkdir(root, { recursive: true });
  const names = await fsp.readdir(root);
  if (names.some((name) => !INIT_ENTRIES.has(name))) {
    throw new Error(`${root} is not empty and not a git repository; use --backend fs to serve it as a folder, or point --root at a repository`);
  }
  await initBare(root);
  for (let i = 0; i < 500 && !(await isGitDir(root)); i++) await new Promise((r) => setTimeout(r, 10));
  if (!(await isGitDir(root))) throw new Error(`${root}: a git repository being made there by another process was not finished (no HEAD)`);
  return root;
}

export async function removeOldTempFiles(dir: string, pattern: RegExp, olderThanMs = 3600_000): Promise<void> {
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (!pattern.test(name)) continue;
    const st = await fsp.stat(join(dir, name)).catch(() => null);
    if (st?.isFile() && Date.now() - st.mtimeMs > olderThanMs) await fsp.rm(join(dir, name), { force: true });
  }
}

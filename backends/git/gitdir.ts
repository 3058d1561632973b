/**
 * Finding (or making) the repository a git backend serves, and tidying what a crash left in it.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Refs } from './refs.js';
import { requireCjs } from '../util/require-cjs.js';

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

/** What isomorphic-git's `init` makes in a bare repository (HEAD last). */
const INIT_ENTRIES = new Set(['hooks', 'info', 'objects', 'refs', 'config', 'HEAD']);

/**
 * The git dir for `root`: a bare repository, `root/.git`, or a new bare repository in an empty folder.
 * Several processes may open one new root at once (a supervisor's workers on their first start): a
 * folder holding only what `init` makes is a repository another process is making right now, and
 * `init` leaves an existing config alone and otherwise writes the same files, so each may run it;
 * then each waits (bounded) for HEAD, which `init` writes last.
 */
export async function findOrInitRepository(root: string): Promise<string> {
  if (await isGitDir(root)) return root;
  if (await isGitDir(join(root, '.git'))) return join(root, '.git');
  await fsp.mkdir(root, { recursive: true });
  const names = await fsp.readdir(root);
  if (names.some((name) => !INIT_ENTRIES.has(name))) {
    throw new Error(`${root} is not empty and not a git repository; use --backend fs to serve it as a folder, or point --root at a repository`);
  }
  // isomorphic-git only here, to make a new repository: a server opening one never loads it.
  const git = (requireCjs('isomorphic-git') as typeof import('isomorphic-git')).default; // not `import`: util/require-cjs.ts
  await git.init({ fs, gitdir: root, bare: true, defaultBranch: 'main' });
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

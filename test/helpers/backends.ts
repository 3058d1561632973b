/**
 * Protocol tests run once per backend: `forEachBackend((kind) => describe(`PUT (${kind})`, …))`.
 * Where a test looks behind the server's back (what is stored, what temp files are left), it asks
 * `storageOf(kind, root)`, which reads the folder's files or the git branch through native git, so
 * the same assertion holds on both.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BackendName } from './server.js';

export const BACKENDS: readonly BackendName[] = ['fs', 'git'];

/** Declares a suite once per backend; the backend's name belongs in each describe title. */
export function forEachBackend(suite: (kind: BackendName) => void): void {
  for (const kind of BACKENDS) suite(kind);
}

const run = promisify(execFile);

/** What a backend holds, read without the server: the content as a client would find it. */
export interface Storage {
  /** A stored file's bytes (rejects if there is none). */
  bytes(path: string): Promise<Buffer>;
  text(path: string): Promise<string>;
  /** A stored folder's member names, sorted (default: the top, without the backend's own state folder). */
  names(dir?: string): Promise<string[]>;
  /** Temp files a write left behind (an interrupted upload must leave none). */
  leftoverTemps(): Promise<string[]>;
}

const rel = (path: string) => path.replace(/^\/+/, '');

/** Folder: ROOT is the tree, `.gitdav/` its state. Git: ROOT is a bare repository, `gitdav/` its state. */
export function storageOf(kind: BackendName, root: string): Storage {
  if (kind === 'fs') {
    return {
      bytes: (path) => readFile(join(root, rel(path))),
      text: (path) => readFile(join(root, rel(path)), 'utf8'),
      names: async (dir = '/') => (await readdir(join(root, rel(dir)))).filter((n) => rel(dir) !== '' || n !== '.gitdav').sort(),
      leftoverTemps: () => tempFilesIn(join(root, '.gitdav', 'tmp')),
    };
  }
  const git = async (...args: string[]) =>
    (await run('git', ['--git-dir', root, ...args], { encoding: 'buffer', maxBuffer: 64 << 20 })).stdout;
  return {
    bytes: (path) => git('cat-file', 'blob', `HEAD:${rel(path)}`),
    text: async (path) => (await git('cat-file', 'blob', `HEAD:${rel(path)}`)).toString('utf8'),
    names: async (dir = '/') => {
      // A new repository has no commit yet: nothing is stored at its top.
      if (rel(dir) === '' && !(await git('rev-parse', '-q', '--verify', 'HEAD').then(() => true, () => false))) return [];
      const out = await git('ls-tree', '-z', '--name-only', `HEAD:${rel(dir)}`);
      return out.toString('utf8').split('\0').filter(Boolean).sort();
    },
    leftoverTemps: async () => [
      ...(await tempFilesIn(join(root, 'gitdav', 'tmp'))),
      ...(await readdir(join(root, 'objects'))).filter((n) => n.startsWith('tmp_gitdav_')),
    ],
  };
}

/**
 * What a temp area holds: the entries of each process's folder in it (backends/util/process-temp.ts),
 * and anything else lying there. Empty when no write left anything behind.
 */
export async function tempFilesIn(tmp: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(tmp)) {
    if (/^p\d+-/.test(name)) out.push(...(await readdir(join(tmp, name)).catch(() => [] as string[])).map((n) => `${name}/${n}`));
    else out.push(name);
  }
  return out;
}

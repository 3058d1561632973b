/**
 * A restore from history by path and revision (`gitdav restore`, lib/cli-restore.ts): the COPY from
 * `/.history/…` a client would send, made through the repository as served (./repository.ts), so it is
 * the live tree's `copyFrom` (objects by id, properties too, one commit on the live write path) and
 * junk names are honoured. Safe beside a running server: two processes share a repository.
 */
import { isWithin } from '../backend.js';
import { isBackendError } from '../errors.js';
import { HISTORY_AT, openGitRepository, type GitRepository } from './repository.js';
import type { GitBackendOptions } from './options.js';

export interface RestoreRequest {
  root: string;
  /** The live path to restore (`/docs/plan.md`). */
  path: string;
  /** A branch, a tag or a commit id (prefix); default: the path's last version in history. */
  rev?: string;
  /** Where to put it (default: `path`). */
  to?: string;
}

export type RestoreResult = { ok: true; message: string; commit: string } | { ok: false; code: number; message: string };

export async function restore(request: RestoreRequest, options: Partial<GitBackendOptions> = {}): Promise<RestoreResult> {
  const repo = await openGitRepository({ ...options, root: request.root });
  try {
    return await restoreIn(repo, request);
  } finally {
    await repo.close();
  }
}

async function restoreIn(repo: GitRepository, { path, rev, to = path }: RestoreRequest): Promise<RestoreResult> {
  if (path === '/') return { ok: false, code: 2, message: 'the whole tree cannot be restored at once; restore its folders' };
  if (isWithin(to, HISTORY_AT)) return { ok: false, code: 2, message: `${to} is in history, which is read-only: restore to a live path (--to /docs/plan.md)` };
  if (isWithin(path, HISTORY_AT)) return { ok: false, code: 2, message: `give the live path (/docs/plan.md), not one in ${HISTORY_AT}; a revision goes after it` };
  const at = rev === undefined ? lastVersionOf(repo, path) : await revisionRoot(repo, rev);
  if (!at.ok) return at;
  const source = `${at.root}${path}`;
  // Not found is an answer; any other error (I/O, a corrupt object) is reported as itself by the caller.
  const found = await repo.history.treeOf(source, 'infinity').catch((err: unknown) => (isBackendError(err, 'NotFound') ? null : Promise.reject(err)));
  if (!found) return { ok: false, code: 1, message: `${path} did not exist at ${at.name}` };
  const meta = repo.live.index.all().find((c) => c.oid === found.commit);
  try {
    const { created } = await repo.copy(HISTORY_AT + source, to, { depth: 'infinity', overwrite: true, actor: { userAgent: 'gitdav restore' } });
    const when = meta ? ` (${new Date(meta.time * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}, ${meta.author})` : '';
    const kind = found.slot.kind === 'dir' ? 'folder ' : '';
    const where = to === path ? '' : ` to ${to}`;
    return { ok: true, commit: found.commit, message: `restored ${kind}${path} from ${found.commit}${when}${where}${created ? '' : ', replacing what was there'}` };
  } catch (err) {
    if (isBackendError(err, 'ParentMissing')) {
      const parent = to.slice(0, to.lastIndexOf('/')) || '/';
      return { ok: false, code: 1, message: `the folder ${parent} does not exist now: restore it first (or give --to DEST)` };
    }
    if (isBackendError(err, 'NotACollection')) return { ok: false, code: 1, message: `${to} lies under a file, not a folder` };
    if (isBackendError(err)) return { ok: false, code: 1, message: `cannot restore ${path} to ${to}: ${err.message}` };
    throw err;
  }
}

type Root = { ok: true; root: string; name: string } | { ok: false; code: number; message: string };

/** The newest commit in which `path` existed (deleted paths too: the version before the delete). */
function lastVersionOf(repo: GitRepository, path: string): Root {
  const changes = repo.live.index.changesOf(path);
  for (let i = changes.length - 1; i >= 0; i--) {
    const c = changes[i]!;
    if (c.oid !== null) return { ok: true, root: `/commits/${c.commit.oid}`, name: c.commit.oid };
  }
  return { ok: false, code: 1, message: `${path} has no version in history` };
}

/** Where a branch, a tag or a commit is in history (`/branches/x`, `/tags/v1`, `/commits/1a2b3c4`). */
async function revisionRoot(repo: GitRepository, rev: string): Promise<Root> {
  const candidates = [`/branches/${rev.replace(/\//g, '~')}`, `/tags/${rev.replace(/\//g, '~')}`];
  if (/^[0-9a-fA-F]{4,40}$/.test(rev)) candidates.push(`/commits/${rev.toLowerCase()}`);
  for (const root of candidates) {
    const entry = await repo.history.stat(root).catch((err: unknown) => (isBackendError(err, 'NotFound') ? null : Promise.reject(err)));
    if (entry) return { ok: true, root, name: rev };
  }
  return { ok: false, code: 1, message: `unknown revision "${rev}" (not a branch, a tag or a commit id of this repository)` };
}

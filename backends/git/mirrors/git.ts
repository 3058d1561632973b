/**
 * The `git` binary, for a mirror's transport and its lag. Pushing is left to git itself rather than
 * written here: it is the well-kept implementation of every transport (a path, file://, ssh, http(s)
 * with its credential helpers), and it uses the credentials as the operator configured them (~/.ssh,
 * ~/.gitconfig, GIT_SSH_COMMAND, …); the pack it sends is what any git server accepts. It never asks
 * (GIT_TERMINAL_PROMPT=0, stdin closed): a push that needs a password fails and says so.
 *
 * Only fast-forwards: no `--force`, no `+` refspec. A push the mirror refuses as non-fast-forward
 * means the mirror holds commits this repository does not: `diverged`, which the caller reports and
 * never overwrites.
 */
import { execFile } from 'node:child_process';

/** A push taking longer than this is killed and counted as failed (a hung ssh). */
const PUSH_TIMEOUT_MS = 10 * 60_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function git(gitdir: string, args: string[], timeout = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      'git',
      ['--git-dir', gitdir, ...args],
      { timeout, maxBuffer: 16 << 20, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code === -1 ? err.message : '') });
      },
    );
    child.stdin?.end();
  });
}

export type PushOutcome = { kind: 'pushed'; tagWarning?: string } | { kind: 'diverged'; message: string } | { kind: 'failed'; message: string };

/**
 * Pushes `commit` to `ref` of `url`, and the tags. Tags are pushed in a second step: a tag the mirror
 * holds with another value must not keep the branch from being pushed.
 */
export async function pushTo(gitdir: string, url: string, commit: string, ref: string): Promise<PushOutcome> {
  const r = await git(gitdir, ['push', '--porcelain', '--quiet', url, `${commit}:${ref}`], PUSH_TIMEOUT_MS);
  if (r.code !== 0) {
    const text = `${r.stdout}\n${r.stderr}`;
    const message = lastLines(text);
    if (/\[rejected\]|non-fast-forward|fetch first/.test(text)) return { kind: 'diverged', message };
    return { kind: 'failed', message };
  }
  const tags = await git(gitdir, ['push', '--porcelain', '--quiet', url, 'refs/tags/*:refs/tags/*'], PUSH_TIMEOUT_MS);
  // The branch is on the mirror: a tag the mirror holds with another value is a warning, never a failed push.
  if (tags.code !== 0) return { kind: 'pushed', tagWarning: lastLines(`${tags.stdout}\n${tags.stderr}`) };
  return { kind: 'pushed' };
}

/** The commit `ref` names, or null if there is none. */
export async function revParse(gitdir: string, ref: string): Promise<string | null> {
  const r = await git(gitdir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  return r.code === 0 ? r.stdout.trim() : null;
}

/** Commits on `tip` not on `pushed` (all of them when nothing was pushed), and the oldest one's commit time (s). */
export async function lagOf(gitdir: string, pushed: string | null, tip: string | null): Promise<{ commits: number; oldest: number | null } | null> {
  if (!tip || tip === pushed) return { commits: 0, oldest: null };
  const range = pushed ? [`${pushed}..${tip}`] : [tip];
  const count = await git(gitdir, ['rev-list', '--count', ...range]);
  // The oldest of at most LAG_WALK unpushed commits (a bounded output; past it, an older one's time is not needed to alert).
  const times = await git(gitdir, ['rev-list', `--max-count=${LAG_WALK}`, '--format=%ct', ...range]);
  if (count.code !== 0 || times.code !== 0) return null; // unknown: never reported as no lag
  const all = times.stdout.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
  return { commits: Number(count.stdout.trim()) || 0, oldest: all.length ? all[all.length - 1]! : null };
}

/** Commits a lag measurement reads at most (their times: about 11 bytes each). */
const LAG_WALK = 100_000;

function lastLines(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && l !== 'Done' && !l.startsWith('hint:'));
  return lines.slice(-3).join(' / ').slice(0, 500) || 'git push failed';
}

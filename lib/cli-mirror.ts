/**
 * `gitdav mirror add|remove|list|status`: the mirrors a git repository pushes to after each commit
 * (backends/git/mirrors/). The list lives in the repository's state dir (`<gitdir>/gitdav/mirrors.json`;
 * with users, each user's repository ROOT/users/NAME has its own), so a running server picks up an
 * edit at its next commit, with no restart. `status` reads each mirror's state file and counts its lag
 * with git (`rev-list pushed..tip`).
 */
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultBranch, findOrInitRepository, isGitDir } from '../backends/git/gitdir.js';
import { Refs } from '../backends/git/refs.js';
import { editMirrors, NAME_PATTERN, nameFor, readMirrors, readState, stateFileOf, type MirrorStateName } from '../backends/git/mirrors/files.js';
import { lagOf, revParse } from '../backends/git/mirrors/git.js';

export const MIRROR_USAGE = `usage: gitdav mirror add|remove|list|status --root DIR [--user NAME] [URL] [--name N]
                                    the git remotes a repository pushes to after each commit`;

const MIRROR_HELP = `add URL [--name N]   push to URL (a path to a bare repository, or any URL git pushes to:
                     ssh://, user@host:path, https://) after every commit; N defaults to URL's last part
remove N|URL         stop pushing there (the mirror keeps what it has)
list                 the mirrors, one a line: name and URL
status               each mirror's state (ok, lagging, failing, diverged), its lag in commits and
                     seconds (since the oldest commit it lacks), last push and last error
--user NAME          the repository of user NAME (ROOT/users/NAME) instead of ROOT's own
The list is <gitdir>/gitdav/mirrors.json; a running server reads it at each commit.`;

type Out = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

const SUBCOMMANDS = new Set(['add', 'remove', 'list', 'status']);

export async function runMirror(args: string[], io: Out = process): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(`${MIRROR_USAGE}\n\n${MIRROR_HELP}\n`);
    return 0;
  }
  const [sub, ...rest] = args;
  if (!sub || !SUBCOMMANDS.has(sub)) return usageError(io, sub ? `unknown subcommand "${sub}"` : 'which: add, remove, list or status?');
  const opts: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!['root', 'user', 'name'].includes(name)) return usageError(io, `unknown option ${arg}`);
    const value = eq > 0 ? arg.slice(eq + 1) : rest[++i];
    if (!value) return usageError(io, `--${name} needs a value`);
    opts[name] = value;
  }
  if (!opts.root) return usageError(io, '--root DIR is required');
  if (opts.user !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._@-]*$/.test(opts.user)) return usageError(io, `not a user name: ${opts.user}`);
  const root = opts.user ? join(resolve(opts.root), 'users', opts.user) : resolve(opts.root);
  try {
    if (sub === 'add') {
      if (positional.length !== 1) return usageError(io, 'add takes one URL');
      const gitdir = await findOrInitRepository(root); // a user's repository not served yet is made as the server would
      return await add(io, join(gitdir, 'gitdav'), positional[0]!, opts.name);
    }
    if (positional.length > (sub === 'remove' ? 1 : 0)) return usageError(io, `unexpected argument "${positional.at(-1)}"`);
    const gitdir = await existingGitDir(root);
    if (!gitdir) {
      io.stderr.write(`gitdav mirror: ${root} is not a git repository\n`);
      return 1;
    }
    const stateDir = join(gitdir, 'gitdav');
    if (sub === 'remove') {
      const which = positional[0] ?? opts.name;
      if (!which) return usageError(io, 'remove takes a mirror name or URL');
      return await remove(io, stateDir, which);
    }
    if (sub === 'list') {
      for (const m of await readMirrors(stateDir)) io.stdout.write(`${m.name}\t${masked(m.url)}\n`);
      return 0;
    }
    return await status(io, gitdir, stateDir);
  } catch (err) {
    io.stderr.write(`gitdav mirror: ${(err as Error).message}\n`);
    return 1;
  }
}

async function add(io: Out, stateDir: string, rawUrl: string, wanted: string | undefined): Promise<number> {
  // A local path is kept absolute: the server's working directory is not the operator's.
  // Git would read a URL starting with '-' as an option (the list's reader refuses one: so must add).
  if (rawUrl.startsWith('-')) return usageError(io, `a mirror URL must not start with "-": ${rawUrl}`);
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(rawUrl) || /^[^/]+:/.test(rawUrl) ? rawUrl : resolve(rawUrl);
  if (wanted !== undefined && !NAME_PATTERN.test(wanted)) return usageError(io, `--name: letters, digits, . _ - (at most 64): ${wanted}`);
  let problem: string | null = null;
  let name = '';
  await editMirrors(stateDir, (list) => {
    if (list.some((m) => m.url === url)) problem = `${masked(url)} is a mirror already`;
    else if (wanted !== undefined && list.some((m) => m.name === wanted)) problem = `a mirror is named ${wanted} already`;
    if (problem) return list;
    name = wanted ?? nameFor(url, list.map((m) => m.name));
    return [...list, { name, url }];
  });
  if (problem) {
    io.stderr.write(`gitdav mirror: ${problem}\n`);
    return 1;
  }
  io.stdout.write(`mirror ${name} added: ${masked(url)} (pushed to after the next commit)\n`);
  return 0;
}

async function remove(io: Out, stateDir: string, which: string): Promise<number> {
  let removed: string | null = null;
  await editMirrors(stateDir, (list) => {
    const hit = list.find((m) => m.name === which || m.url === which || m.url === resolve(which));
    if (!hit) return list;
    removed = hit.name;
    return list.filter((m) => m !== hit);
  });
  if (!removed) {
    io.stderr.write(`gitdav mirror: no mirror ${which}\n`);
    return 1;
  }
  await fsp.rm(stateFileOf(stateDir, removed), { force: true });
  io.stdout.write(`mirror ${removed} removed (it keeps what it has)\n`);
  return 0;
}

async function status(io: Out, gitdir: string, stateDir: string): Promise<number> {
  const mirrors = await readMirrors(stateDir);
  if (!mirrors.length) {
    io.stdout.write('no mirrors (gitdav mirror add --root DIR URL)\n');
    return 0;
  }
  const ref = `refs/heads/${await defaultBranch(new Refs(gitdir))}`;
  const tip = await revParse(gitdir, ref);
  let bad = false;
  for (const m of mirrors) {
    const s = await readState(stateDir, m.name);
    const pushed = s && s.url === m.url ? s.pushed : null;
    const lag = await lagOf(gitdir, pushed, s?.ref && s.url === m.url ? await revParse(gitdir, s.ref) : tip);
    let state: MirrorStateName = s && s.url === m.url ? s.state : 'lagging';
    if (state === 'ok' && (lag?.commits ?? 0) > 0) state = 'lagging';
    if (state === 'failing' || state === 'diverged') bad = true;
    const seconds = !lag || lag.oldest === null ? 0 : Math.max(0, Math.round(Date.now() / 1000 - lag.oldest));
    io.stdout.write(`${m.name}\t${masked(m.url)}\n  state: ${state}\n  lag: ${lag ? `${lag.commits} commits, ${seconds} s` : 'unknown (git could not tell)'}\n`);
    io.stdout.write(`  pushed: ${pushed ? `${pushed.slice(0, 12)} at ${s!.pushedAt}` : 'never'}\n`);
    if (s && s.url === m.url && s.failures > 0) io.stdout.write(`  failures: ${s.failures} in a row\n`);
    if (s && s.url === m.url && s.lastError) io.stdout.write(`  last error: ${s.lastError} (at ${s.lastErrorAt})\n`);
  }
  return bad ? 3 : 0;
}

async function existingGitDir(root: string): Promise<string | null> {
  if (await isGitDir(root)) return root;
  if (await isGitDir(join(root, '.git'))) return join(root, '.git');
  return null;
}

/** A URL as printed: a password in it (https://user:secret@host/…) replaced by ***. */
function masked(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@]*):[^/@]*@/i, '$1:***@');
}

function usageError(io: Out, message: string): number {
  io.stderr.write(`gitdav mirror: ${message}\n${MIRROR_USAGE}\n`);
  return 2;
}

/**
 * `gitdav restore --root DIR PATH [REV] [--to DEST]`: puts a file or folder back as it was in a commit
 * of the git repository DIR, the way a COPY from `/.history/…` does (a restore by object id, with its
 * properties, in one commit through the live tree's write path, so it is safe while a server runs on
 * the repository: that server sees the restored file at once).
 *
 * REV is a branch, a tag or a commit id (4 to 40 hex digits); without it, the last version the path
 * had in history (for a deleted path, its last version before the delete).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { usersFileOf } from './auth/users-file.js';
import { ConfigError, loadConfig } from './config.js';

export const RESTORE_USAGE = `usage: gitdav restore [--config FILE] [--root DIR] [--user NAME] PATH [REV] [--to DEST]
                                    put PATH (a file or folder) back as it was at REV (a branch, tag or
                                    commit id; default: its last version, also for a deleted path), at
                                    DEST if given; DIR is the git repository (default: the config's root,
                                    else ./data), or a multi-user root with --user NAME; FILE (or
                                    GITDAV_CONFIG) is the server's config, whose ignore list it uses`;

type Out = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

interface Args {
  root: string;
  /** The server's junk patterns (the config's `ignore`), if a config was given. */
  ignore?: string[];
  user?: string;
  path: string;
  rev?: string;
  to?: string;
}

export async function runRestore(argv: string[], io: Out = process): Promise<number> {
  const parsed = parseArgs(argv, io);
  if (typeof parsed === 'number') return parsed;
  const dir = parsed.user !== undefined ? join(parsed.root, 'users', parsed.user) : parsed.root;
  if (parsed.user === undefined && existsSync(usersFileOf(parsed.root))) {
    io.stderr.write(`gitdav restore: ${parsed.root} has users; say whose repository with --user NAME\n`);
    return 2;
  }
  const gitdir = existsSync(join(dir, '.git')) ? join(dir, '.git') : dir;
  if (!existsSync(join(gitdir, 'objects')) || !existsSync(join(gitdir, 'HEAD'))) {
    io.stderr.write(`gitdav restore: ${dir} is not a git repository\n`);
    return 2;
  }
  const { restore } = await import('../backends/git/restore.js');
  let result: Awaited<ReturnType<typeof restore>>;
  try {
    result = await restore({ root: dir, path: parsed.path, rev: parsed.rev, to: parsed.to }, parsed.ignore ? { ignore: parsed.ignore } : {});
  } catch (err) {
    // An I/O error (or a corrupt object) is said as what it is, without a stack: nothing was restored.
    const code = (err as NodeJS.ErrnoException).code;
    io.stderr.write(`gitdav restore: nothing restored: ${code && !(err as Error).message.includes(code) ? `${code}: ` : ''}${(err as Error).message}\n`);
    return 1;
  }
  if (!result.ok) {
    io.stderr.write(`gitdav restore: ${result.message}\n`);
    return result.code;
  }
  io.stdout.write(`${result.message}\n`);
  return 0;
}

function parseArgs(argv: string[], io: Out): Args | number {
  let root: string | undefined;
  let config = process.env.GITDAV_CONFIG || undefined;
  let user: string | undefined;
  let to: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      io.stdout.write(`${RESTORE_USAGE}\n`);
      return 0;
    }
    const value = (name: string): string | undefined => (a === name ? argv[++i] : a.startsWith(`${name}=`) ? a.slice(name.length + 1) : undefined);
    if (a === '--root' || a.startsWith('--root=')) {
      const v = value('--root');
      if (v === undefined) return usageError(io, '--root needs a value');
      root = v;
    } else if (a === '--config' || a.startsWith('--config=')) {
      config = value('--config');
      if (config === undefined) return usageError(io, '--config needs a value');
    } else if (a === '--to' || a.startsWith('--to=')) {
      to = value('--to');
      if (to === undefined) return usageError(io, '--to needs a value');
    } else if (a === '--user' || a.startsWith('--user=')) {
      user = value('--user');
      if (user === undefined) return usageError(io, '--user needs a value');
    } else if (a.startsWith('-') && a !== '-') return usageError(io, `unknown option ${a}`);
    else positional.push(a);
  }
  if (positional.length === 0) return usageError(io, 'which path? (PATH, as the server shows it: /docs/plan.md)');
  if (positional.length > 2) return usageError(io, `unexpected argument "${positional[2]}"`);
  const path = normal(positional[0]!);
  const dest = to === undefined ? undefined : normal(to);
  if (path === null || (to !== undefined && dest === null)) return usageError(io, 'a path is /-separated, without . or .. segments');
  let ignore: string[] | undefined;
  if (config !== undefined) {
    // The server's own loading (lib/config.ts), so the same file means the same ignore list and root.
    try {
      const loaded = loadConfig(['--config', config], process.env);
      ignore = loaded.ignore;
      root ??= loaded.root; // the file's root, or GITDAV_ROOT over it, as for serve
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      io.stderr.write(`gitdav restore: ${err.message}\n`);
      return 2;
    }
  }
  return { root: resolve(root ?? process.env.GITDAV_ROOT ?? './data'), user, path, rev: positional[1], to: dest ?? undefined, ignore };
}

/** `/docs/plan.md` from `docs/plan.md/` and the like; null for `.`/`..` segments. */
function normal(path: string): string | null {
  const segs = path.split('/').filter(Boolean);
  if (segs.some((s) => s === '.' || s === '..' || s.includes('\0'))) return null;
  return '/' + segs.join('/');
}

function usageError(io: Out, message: string): number {
  io.stderr.write(`gitdav restore: ${message}\n${RESTORE_USAGE}\n`);
  return 2;
}

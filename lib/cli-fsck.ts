/**
 * `gitdav fsck [--root DIR]`: checks every object of the git repository DIR, or, on a multi-user
 * root (DIR/.htpasswd), of each user's repository DIR/users/NAME, one report per user.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readUsers, usersFileOf } from './auth/users-file.js';

export const FSCK_USAGE = `usage: gitdav fsck [--root DIR]      check every object of the git repository DIR (default ./data),
                                    or of each user's (DIR/users/NAME) once DIR has users`;

type Out = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

export async function runFsck(args: string[], io: Out = process): Promise<number> {
  let root = process.env.GITDAV_ROOT ?? './data';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--help' || a === '-h') {
      io.stdout.write(`${FSCK_USAGE}\n`);
      return 0;
    }
    if (a === '--root') {
      const v = args[++i];
      if (v === undefined) return usageError(io, '--root needs a value');
      root = v;
    } else if (a.startsWith('--root=')) root = a.slice(7);
    else return usageError(io, a.startsWith('-') ? `unknown option ${a}` : `unexpected argument "${a}" (the repository is --root DIR)`);
  }
  root = resolve(root);
  if (!existsSync(usersFileOf(root))) {
    const gitdir = gitdirOf(root);
    if (!gitdir) {
      io.stderr.write(`gitdav: ${root} is not a git repository\n`);
      return 2;
    }
    return (await check(gitdir, '', io)) ? 0 : 1;
  }
  // Every user in the users file, and any repository left under users/ by a removed one.
  const names = new Set((await readUsers(root)).keys());
  for (const e of await readdir(join(root, 'users'), { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) names.add(e.name);
  let broken = 0;
  let checked = 0;
  for (const name of [...names].sort()) {
    const gitdir = gitdirOf(join(root, 'users', name));
    if (!gitdir) {
      io.stdout.write(`${name}: no git repository at ${join(root, 'users', name)} (not used yet, or a folder backend); skipped\n`);
      continue;
    }
    checked++;
    if (!(await check(gitdir, `${name}: `, io))) broken++;
  }
  io.stdout.write(`${checked} user repositories checked, ${broken} with broken objects\n`);
  return broken ? 1 : 0;
}

async function check(gitdir: string, prefix: string, io: Out): Promise<boolean> {
  const { fsck } = await import('../backends/git/fsck.js');
  const report = await fsck(gitdir);
  for (const p of report.problems) io.stdout.write(`${prefix}broken ${p.oid} (${p.where}): ${p.message}\n`);
  io.stdout.write(`${prefix}${report.objects} objects checked, ${report.problems.length} broken\n`);
  return report.problems.length === 0;
}

/** The repository at DIR (bare, as gitdav makes it) or DIR/.git; undefined when there is none. */
function gitdirOf(dir: string): string | undefined {
  const gitdir = existsSync(join(dir, '.git')) ? join(dir, '.git') : dir;
  return existsSync(join(gitdir, 'objects')) ? gitdir : undefined;
}

function usageError(io: Out, message: string): number {
  io.stderr.write(`gitdav fsck: ${message}\n${FSCK_USAGE}\n`);
  return 2;
}

/**
 * `gitdav reindex [--root DIR] [--user NAME] [--config FILE] [--backend git|fs]`: deletes every
 * DERIVED file of a tree's state dir (./reindex/derived.ts: path index, CalDAV object index, saved
 * member lists, UID journals, checksums, blob cache) and rebuilds them from the repository or folder
 * (./reindex/rebuild.ts): the path index and the CalDAV object index now, the rest lazily on first
 * use. The write journal, the sync-token key, sync snapshots, locks, volatile properties, junk and
 * the users and shares files are never touched. On a root with users: every user's tree, or NAME's.
 *
 * Refused while a gitdav process uses the tree (./reindex/in-use.ts): a server keeps these files in
 * memory and would write its copies back. A folder tree is also held (its server.pid) for the whole
 * run, so a server started meanwhile is refused; a git repository has no such lock, so a server
 * started during a reindex is not kept out — it then rebuilds or rewrites what it finds missing.
 */
import { isValidUserName } from './auth/htpasswd.js';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readUsers, usersFileOf } from './auth/users-file.js';
import { ConfigError, loadConfig, type ServerConfig } from './config.js';
import type { BackendKind } from './tenants.js';

export const REINDEX_USAGE = `usage: gitdav reindex [--root DIR] [--user NAME] [--config FILE] [--backend git|fs]
                                    delete and rebuild every derived file of DIR's state dir (path index,
                                    CalDAV indexes, caches; never the journal, locks or tokens' key),
                                    of each user's tree (or NAME's) once DIR has users; refused while a
                                    server uses DIR`;

type Out = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

interface Target {
  /** `NAME: ` on a root with users, else ''. */
  label: string;
  dir: string;
  kind: BackendKind;
  stateDir: string;
}

export async function runReindex(argv: string[], io: Out = process): Promise<number> {
  let root: string | undefined;
  let user: string | undefined;
  let backend: BackendKind | undefined;
  let configFile = process.env.GITDAV_CONFIG || undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      io.stdout.write(`${REINDEX_USAGE}\n`);
      return 0;
    }
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    if (!['--root', '--user', '--config', '--backend'].includes(name)) return usageError(io, a.startsWith('-') ? `unknown option ${a}` : `unexpected argument "${a}"`);
    const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
    if (v === undefined) return usageError(io, `${name} needs a value`);
    if (name === '--root') root = v;
    else if (name === '--user') {
      // A user name as logins take it: never `..` or a path, which would reach another tree.
      if (!isValidUserName(v)) return usageError(io, `--user: not a user name (letters, digits, . _ -): ${v}`);
      user = v;
    }
    else if (name === '--config') configFile = v;
    else if (v === 'git' || v === 'fs') backend = v;
    else return usageError(io, `unknown backend "${v}" (available: git, fs)`);
  }
  let config: ServerConfig | undefined;
  if (configFile !== undefined) {
    try {
      config = loadConfig(['--config', configFile], process.env); // the server's own loading: same root, ignore list, mounts
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      io.stderr.write(`gitdav reindex: ${err.message}\n`);
      return 2;
    }
  }
  const dir = resolve(root ?? config?.root ?? process.env.GITDAV_ROOT ?? './data');
  if (!existsSync(dir)) {
    io.stderr.write(`gitdav reindex: ${dir} does not exist\n`);
    return 2;
  }
  const multi = existsSync(usersFileOf(dir)) || !!config?.proxyUserHeader || user !== undefined;
  const kindHint = backend ?? (configFile !== undefined ? config?.backend : undefined);
  const targets: Target[] = [];
  const names = user !== undefined ? [user] : multi ? await userNames(dir, config) : [''];
  for (const name of names) {
    const tree = name === '' ? dir : resolve(config?.mounts?.[name] ?? join(dir, 'users', name));
    const label = name === '' ? '' : `${name}: `;
    const t = await detect(tree, kindHint);
    if (typeof t === 'string') {
      if (user !== undefined || !multi) {
        io.stderr.write(`gitdav reindex: ${t}\n`);
        return 2;
      }
      io.stdout.write(`${label}${t}; skipped\n`);
      continue;
    }
    targets.push({ label, dir: tree, ...t });
  }

  // Nothing is removed anywhere if any tree (or the root of users) is in use.
  const { usersOf } = await import('./reindex/in-use.js');
  const busy: string[] = [];
  for (const s of [...(multi ? [join(dir, '.gitdav')] : []), ...targets.map((t) => t.stateDir)]) {
    for (const who of await usersOf(s)) busy.push(`${s}: ${who}`);
  }
  if (busy.length) {
    io.stderr.write(`gitdav reindex: ${dir} is in use; stop its server first (nothing was removed):\n${busy.map((b) => `  ${b}\n`).join('')}`);
    return 1;
  }
  // A folder root with users: its server.pid, as the server holds it, so no server starts meanwhile.
  let releaseRoot: (() => Promise<void>) | undefined;
  const { holdFolder, FolderInUseError } = await import('../backends/fs/folder-lock.js');
  try {
    if (multi && targets.some((t) => t.kind === 'fs')) releaseRoot = (await holdFolder(join(dir, '.gitdav'), dir)).release;
    let failed = 0;
    for (const t of targets) if (!(await reindexOne(t, config, io))) failed++;
    if (multi) io.stdout.write(`${targets.length} trees reindexed${failed ? `, ${failed} failed` : ''}\n`);
    return failed ? 1 : 0;
  } catch (err) {
    if (!(err instanceof FolderInUseError)) throw err;
    io.stderr.write(`gitdav reindex: ${err.message} (nothing was removed)\n`);
    return 1;
  } finally {
    await releaseRoot?.();
  }
}

async function reindexOne(t: Target, config: ServerConfig | undefined, io: Out): Promise<boolean> {
  const { DERIVED, removeDerived, sizeOf } = await import('./reindex/derived.js');
  const { rebuildTree } = await import('./reindex/rebuild.js');
  const { FolderInUseError } = await import('../backends/fs/folder-lock.js');
  const started = Date.now();
  let removed: Awaited<ReturnType<typeof removeDerived>> = [];
  try {
    // Git: removed before the open, which builds the path index. Folder: after it, under its server.pid.
    const { readMark } = await import('../backends/git/journal/committed-mark.js');
    const markBefore = t.kind === 'git' ? readMark(join(t.stateDir, 'journal')) : null;
    if (t.kind === 'git') removed = await removeDerived(t.stateDir);
    const options = { symlinks: config?.symlinks, git: config ? { ignore: config.ignore } : undefined };
    const r = await rebuildTree(t.kind, t.dir, options, t.kind === 'fs' ? async () => void (removed = await removeDerived(t.stateDir)) : undefined);
    const w = (s: string) => io.stdout.write(`${t.label}${s}\n`);
    w(`${t.dir} (${t.kind}), state dir ${t.stateDir}`);
    for (const x of removed) w(`  removed ${x.path} (${x.files} file${x.files === 1 ? '' : 's'}, ${bytes(x.bytes)})`);
    if (!removed.length) w('  removed nothing (no derived file was there)');
    const pathIndex = (await sizeOf(join(t.stateDir, 'path-index.json'))).bytes;
    if (t.kind === 'git') w(`  rebuilt path-index.json from history (${pathIndex ? bytes(pathIndex) : 'no commits yet: nothing to save'})`);
    if (t.kind === 'git') {
      const after = readMark(join(t.stateDir, 'journal'));
      const n = !after ? 0 : markBefore && markBefore.id !== after.id ? -1 : after.seq - (markBefore?.seq ?? 0);
      if (n !== 0) w(`  committed ${n > 0 ? `${n} ` : ''}write journal records a crash had left (the open does, as a server start does; the journal is never deleted)`);
    }
    if (r.calendars === 0) w('  no calendars: no CalDAV object index');
    else w(`  rebuilt caldav-index.json: ${r.objects} calendar objects in ${r.calendars} calendars${r.skipped ? `, ${r.skipped} files that are no calendar object left out` : ''} (${bytes((await sizeOf(join(t.stateDir, 'caldav-index.json'))).bytes)})`);
    for (const d of DERIVED.filter((d) => d.rebuilt.startsWith('lazily') && removed.some((x) => x.path === join(t.stateDir, d.name)))) w(`  ${d.name}: rebuilt ${d.rebuilt}`);
    w(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return true;
  } catch (err) {
    if (err instanceof FolderInUseError) io.stderr.write(`gitdav reindex: ${t.label}${err.message} (nothing was removed)\n`);
    else io.stderr.write(`gitdav reindex: ${t.label}${t.dir}: ${(err as Error).message}${removed.length ? ' (derived files were removed; the server rebuilds them as it starts and serves)' : ''}\n`);
    return false;
  }
}

/** The tree's backend and state dir, or why there is nothing to reindex. */
async function detect(tree: string, hint: BackendKind | undefined): Promise<{ kind: BackendKind; stateDir: string } | string> {
  const { isGitDir } = await import('../backends/git/gitdir.js');
  const gitdir = (await isGitDir(tree)) ? tree : (await isGitDir(join(tree, '.git'))) ? join(tree, '.git') : undefined;
  const folderState = join(tree, '.gitdav');
  // A folder served by the folder backend may hold a checkout (.git): its state dir says which served it.
  const served = { git: !!gitdir && existsSync(join(gitdir, 'gitdav')), fs: existsSync(folderState) };
  if (hint === undefined && served.git && served.fs) return `${tree} has the state of both backends (${join(gitdir!, 'gitdav')}, ${folderState}): say which with --backend git|fs`;
  if (hint === 'git' || (hint === undefined && served.git)) {
    return gitdir ? { kind: 'git', stateDir: join(gitdir, 'gitdav') } : `no git repository at ${tree}`;
  }
  if (served.fs) return { kind: 'fs', stateDir: folderState };
  if (gitdir && hint === undefined) return `${tree} is a git repository gitdav never served (no ${join(gitdir, 'gitdav')}): nothing derived to rebuild`;
  return existsSync(tree) ? `${tree} has no state dir (never served as a folder)` : `no repository or folder at ${tree} (not used yet)`;
}

/** Every user of the users file, any tree left under users/, and the config's mounted users. */
async function userNames(root: string, config: ServerConfig | undefined): Promise<string[]> {
  const names = new Set((await readUsers(root)).keys());
  for (const e of await readdir(join(root, 'users'), { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) names.add(e.name);
  for (const n of Object.keys(config?.mounts ?? {})) names.add(n);
  return [...names].sort();
}

function bytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;
}

function usageError(io: Out, message: string): number {
  io.stderr.write(`gitdav reindex: ${message}\n${REINDEX_USAGE}\n`);
  return 2;
}

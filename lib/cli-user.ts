/**
 * `gitdav user add|passwd|remove|list NAME [--root DIR] [--password-stdin] [--backend git|fs]`:
 * the users file of a server root (ROOT/.htpasswd, bcrypt). Once it exists, `gitdav serve` on that
 * `gitdav share add|remove|list`: read-only or read-write shares between those users (ROOT/shares.json).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hashPassword, isValidUserName } from './auth/htpasswd.js';
import { readUsers, USERS_FILE, usersFileOf, writeUsers } from './auth/users-file.js';
import { lstat, readdir } from 'node:fs/promises';
import { isGitDir } from '../backends/git/gitdir.js';
import { mountPointOf, normaliseSharePath, readShares, writeShares, type Share } from './auth/shares-file.js';
import { openBackend, type BackendKind } from './tenants.js';

export const USER_USAGE = `usage: gitdav user add NAME [--root DIR] [--password-stdin] [--backend git|fs]
       gitdav user passwd NAME [--root DIR] [--password-stdin]
       gitdav user remove NAME [--root DIR]
       gitdav user list [--root DIR]`;

/** The shortest password `gitdav user` accepts, in characters (the README says so too). */
export const MIN_PASSWORD = 8;

const USER_HELP = `The users of a server root live in DIR/.htpasswd (bcrypt; default DIR ./data). Once it exists,
"gitdav serve" asks every request for a login and gives each user their own repository,
DIR/users/NAME. A password has at least ${MIN_PASSWORD} characters; it is asked for twice on the terminal,
or read whole from standard input with --password-stdin.`;

export async function runUser(args: string[], io: { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream } = process): Promise<number> {
  const fail = (message: string, code = 2) => {
    io.stderr.write(`gitdav user: ${message}\n`);
    return code;
  };
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(`${USER_USAGE}\n\n${USER_HELP}\n`);
    return 0;
  }
  const [action, ...rest] = args;
  let root = process.env.GITDAV_ROOT ?? './data';
  let backend: BackendKind = (process.env.GITDAV_BACKEND as BackendKind | undefined) ?? 'git';
  let fromStdin = false;
  const names: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--password-stdin') fromStdin = true;
    else if (a === '--root' || a === '--backend') {
      const v = rest[++i];
      if (v === undefined) return fail(`${a} needs a value`);
      if (a === '--root') root = v;
      else backend = v as BackendKind;
    } else if (a.startsWith('--root=')) root = a.slice(7);
    else if (a.startsWith('--backend=')) backend = a.slice(10) as BackendKind;
    else if (a.startsWith('-')) return fail(`unknown option ${a}\n${USER_USAGE}`);
    else names.push(a);
  }
  if (backend !== 'git' && backend !== 'fs') return fail(`unknown backend "${backend}" (available: git, fs)`);
  root = resolve(root);
  const users = await readUsers(root);

  if (action === 'list') {
    if (names.length) return fail(USER_USAGE);
    for (const name of users.keys()) io.stdout.write(`${name}\n`);
    return 0;
  }
  if (!['add', 'passwd', 'remove'].includes(action ?? '')) return fail(`${action ? `unknown action "${action}"` : 'add, passwd, remove or list?'}\n${USER_USAGE}`);
  if (names.length !== 1) return fail(`${action} takes one user name\n${USER_USAGE}`);
  const name = names[0]!;
  if (!isValidUserName(name)) return fail(`"${name}" is not a valid user name: 1–64 letters, digits, . _ - (it names a folder)`);
  if (action === 'remove') {
    if (!users.delete(name)) return fail(`no user "${name}" in ${usersFileOf(root)}`, 1);
    await writeUsers(root, users);
    // Their shares go too, both ways: a later user of the same name must not inherit them.
    const shares = await readShares(root);
    const kept = shares.filter((s) => s.owner !== name && s.grantee !== name);
    if (kept.length !== shares.length) await writeShares(root, kept);
    io.stdout.write(`removed ${name}${kept.length !== shares.length ? ` and their ${shares.length - kept.length} share(s)` : ''}; their data stays in ${resolve(root, 'users', name)}\n`);
    return 0;
  }
  if (action === 'add' && users.has(name)) return fail(`user "${name}" exists (gitdav user passwd ${name} changes the password)`, 1);
  if (action === 'passwd' && !users.has(name)) return fail(`no user "${name}" in ${usersFileOf(root)}`, 1);
  let password: string;
  try {
    password = fromStdin ? await readStdinPassword(io.stdin) : await promptPassword(io);
  } catch (err) {
    return fail((err as Error).message);
  }
  if ([...password].length < MIN_PASSWORD) return fail(`the password needs at least ${MIN_PASSWORD} characters`);
  users.set(name, await hashPassword(password));
  if (action === 'add') {
    // The user's repository now, so the first login does not pay for it (and errors show here).
    const b = await openBackend(backend, resolve(root, 'users', name));
    await b.close?.();
  }
  const first = action === 'add' && users.size === 1;
  await writeUsers(root, users);
  io.stdout.write(action === 'add' ? `added ${name} (data in ${resolve(root, 'users', name)})\n` : `changed the password of ${name}\n`);
  if (first && (await hasSingleUserData(root))) {
    io.stdout.write(`note: with users, ${root} itself is no longer served (each user gets their own tree); its data stays where it is\n`);
  }
  return 0;
}

/** The whole of stdin, less one trailing newline (what `echo pw | …` and `printf pw | …` send). */
async function readStdinPassword(stdin: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Asks twice on the terminal without echo. */
async function promptPassword(io: { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream }): Promise<string> {
  if (!io.stdin.isTTY) throw new Error('no terminal to ask for a password on: use --password-stdin');
  const first = await askHidden(io, 'Password: ');
  const second = await askHidden(io, 'Again: ');
  if (first !== second) throw new Error('the passwords differ');
  return first;
}

function askHidden(io: { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream }, prompt: string): Promise<string> {
  return new Promise((resolvePw, reject) => {
    io.stdout.write(prompt);
    io.stdin.setRawMode(true);
    io.stdin.resume();
    let text = '';
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
        else text += ch;
      }
    };
    const finish = (err?: Error) => {
      io.stdin.off('data', onData);
      io.stdin.setRawMode(false);
      io.stdin.pause();
      io.stdout.write('\n');
      if (err) reject(err);
      else resolvePw(text);
    };
    io.stdin.on('data', onData);
  });
}

/** Whether the root already held a single-user server's data (a repository, or files). */
async function hasSingleUserData(root: string): Promise<boolean> {
  const names = await readdir(root).catch(() => [] as string[]);
  return names.some((n) => n !== 'users' && n !== USERS_FILE && !n.startsWith(`${USERS_FILE}.`));
}

export const SHARE_USAGE = `usage: gitdav share add OWNER PATH GRANTEE [--write] [--root DIR]   (read-only unless --write)
       gitdav share remove OWNER PATH GRANTEE [--root DIR]
       gitdav share list [--root DIR]`;

const SHARE_HELP = `PATH is a folder, a calendar or an address book in OWNER's tree. GRANTEE finds a folder at
/shared/OWNER/PATH (its / as ~), a calendar /calendars/OWNER/NAME at /calendars/GRANTEE/OWNER~NAME/
and an address book /addressbooks/OWNER/NAME at /addressbooks/GRANTEE/OWNER~NAME/, beside their own
(clients list them with GRANTEE's). A running server reads the change within a second.`;

/** `gitdav share add|remove|list`: ROOT/shares.json, read by a running server within a second. */
export async function runShare(args: string[], io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream } = process): Promise<number> {
  const fail = (message: string, code = 2) => {
    io.stderr.write(`gitdav share: ${message}\n`);
    return code;
  };
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(`${SHARE_USAGE}\n\n${SHARE_HELP}\n`);
    return 0;
  }
  const [action, ...rest] = args;
  let root = process.env.GITDAV_ROOT ?? './data';
  const words: string[] = [];
  let access: Share['access'] = 'read';
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--write' && action === 'add') access = 'write';
    else if (a === '--root') {
      const v = rest[++i];
      if (v === undefined) return fail('--root needs a value');
      root = v;
    } else if (a.startsWith('--root=')) root = a.slice(7);
    else if (a.startsWith('-')) return fail(`unknown option ${a}\n${SHARE_USAGE}`);
    else words.push(a);
  }
  root = resolve(root);
  const shares = await readShares(root);
  if (action === 'list' && words.length === 0) {
    for (const s of shares) io.stdout.write(`${s.owner} ${s.path} → ${s.grantee} (${s.access}) at ${mountPointOf(s)}\n`);
    return 0;
  }
  if (action !== 'add' && action !== 'remove' && action !== 'list') return fail(`${action ? `unknown action "${action}"` : 'add, remove or list?'}\n${SHARE_USAGE}`);
  if (action === 'list' || words.length !== 3) return fail(`${action} takes ${action === 'list' ? 'no names' : 'OWNER PATH GRANTEE'}\n${SHARE_USAGE}`);
  const [owner, rawPath, grantee] = words as [string, string, string];
  const path = normaliseSharePath(rawPath);
  if (!path) return fail(`"${rawPath}" cannot be shared (a folder, calendar or address book path, no ., .., ~ or .history)`);
  const users = await readUsers(root);
  for (const u of [owner, grantee]) if (!users.has(u)) return fail(`no user "${u}" in ${usersFileOf(root)}`, 1);
  if (owner === grantee) return fail('a user cannot share with themselves');
  const same = (s: Share) => s.owner === owner && s.path === path && s.grantee === grantee;
  if (action === 'remove') {
    if (!shares.some(same)) return fail(`no such share`, 1);
    await writeShares(root, shares.filter((s) => !same(s)));
    io.stdout.write(`removed: ${owner} ${path} is no longer shared with ${grantee}\n`);
    return 0;
  }
  const share: Share = { owner, path, grantee, access };
  const how = access === 'write' ? 'read-write' : 'read-only';
  const old = shares.find(same);
  if (old?.access === access) return fail(`already shared, ${how}`, 1);
  // Adding an existing share again with the other access changes its access in place.
  if (!old && shares.some((s) => s.grantee === grantee && mountPointOf(s) === mountPointOf(share))) return fail(`${grantee} already has a share at ${mountPointOf(share)}`, 1);
  // A share mounted over something of the grantee's own would hide it (their client would see the
  // owner's members at its URL): the server refuses such names now, but one made before may be there.
  const taken = old ? null : await ownAt(resolve(root, 'users', grantee), mountPointOf(share));
  if (taken) return fail(`${grantee} already has a ${taken} of their own at ${mountPointOf(share)}: rename or remove it first (it would be hidden by the share)`, 1);
  await writeShares(root, old ? shares.map((s) => (same(s) ? share : s)) : [...shares, share]);
  io.stdout.write(`${old ? 'now ' : ''}shared ${owner} ${path} with ${grantee}, ${how}, at ${mountPointOf(share)}\n`);
  return 0;
}

/** What a user's own tree (a repository or a folder) holds at `path`, looked at without opening it for writing. */
async function ownAt(dir: string, path: string): Promise<'file' | 'collection' | null> {
  const gitdir = existsSync(join(dir, '.git')) ? join(dir, '.git') : dir;
  if (await isGitDir(gitdir)) return (await import('../backends/git/peek.js')).committedKind(gitdir, path);
  const st = await lstat(join(dir, ...path.split('/').filter(Boolean))).catch(() => null);
  return st === null ? null : st.isDirectory() ? 'collection' : 'file';
}

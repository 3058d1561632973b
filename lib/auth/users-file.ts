/**
 * The users file of a server root (`ROOT/.htpasswd`) as the `gitdav user` commands change it:
 * read, change, write to a temp file (mode 0600) and rename, so a server reading it never sees half
 * a file.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { parseHtpasswd, serializeHtpasswd } from './htpasswd.js';

export const USERS_FILE = '.htpasswd';

export const usersFileOf = (root: string) => join(root, USERS_FILE);

export async function readUsers(root: string): Promise<Map<string, string>> {
  try {
    return parseHtpasswd(await fsp.readFile(usersFileOf(root), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
}

export async function writeUsers(root: string, users: ReadonlyMap<string, string>): Promise<void> {
  await fsp.mkdir(root, { recursive: true });
  const file = usersFileOf(root);
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await fsp.writeFile(tmp, serializeHtpasswd(users), { mode: 0o600, flush: true });
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

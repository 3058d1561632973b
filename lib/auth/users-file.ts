/**
 * The users file of a server root (`ROOT/.htpasswd`) as the `gitdav user` commands change it:
 * read, change, write to a temp file (mode 0600), fsync and rename (../../backends/util/durable-file.ts),
 * so a server reading it never sees half a file, and a user added survives a power cut.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readTextIfExists, writeFileDurably } from '../../backends/util/durable-file.js';
import { parseHtpasswd, serializeHtpasswd } from './htpasswd.js';

export const USERS_FILE = '.htpasswd';

export const usersFileOf = (root: string) => join(root, USERS_FILE);

/** A root with a users file serves a repository per user and asks every request for a login. */
export function isMultiUser(root: string): boolean {
  return existsSync(usersFileOf(root));
}

export async function readUsers(root: string): Promise<Map<string, string>> {
  const text = await readTextIfExists(usersFileOf(root));
  return text === null ? new Map() : parseHtpasswd(text);
}

/** fsync: the file is the only copy of the users' password hashes. The root is made if missing. */
export async function writeUsers(root: string, users: ReadonlyMap<string, string>): Promise<void> {
  await writeFileDurably(usersFileOf(root), serializeHtpasswd(users), { durability: 'fsync', mode: 0o600 });
}

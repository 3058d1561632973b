/**
 * htpasswd files as Apache writes them: `user:hash` lines. New hashes are bcrypt (`$2y$`, cost 10,
 * what `htpasswd -B` writes); Apache's SHA variants are read too: `{SHA}` (`htpasswd -s`) and
 * SHA-crypt `$5$`/`$6$` (`htpasswd -2`/`-5`). MD5 (`$apr1$`) and crypt(3) DES are refused: too
 * weak to accept, and a user can be given a new password with `gitdav user passwd`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { shaCrypt } from './sha-crypt.js';

export const BCRYPT_COST = 10;

/** User names: what a URL segment, a git author and a folder name can all hold safely. */
export const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isValidUserName(name: string): boolean {
  return USER_NAME.test(name) && !name.endsWith('.') && !/\.\./.test(name) && !/\.(git|lock)$/i.test(name);
}

/** The users of an htpasswd text, in file order (comments and blank lines dropped). */
export function parseHtpasswd(text: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim() || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    users.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return users;
}

export function serializeHtpasswd(users: ReadonlyMap<string, string>): string {
  return [...users].map(([u, h]) => `${u}:${h}\n`).join('');
}

/** bcryptjs on first use: a server without users, or whose users log in by proxy, never loads it. */
const bcryptjs = async () => (await import('bcryptjs')).default;

export async function hashPassword(password: string): Promise<string> {
  // $2y$ and $2b$ are the same algorithm; Apache's tools write and know $2y$.
  return (await (await bcryptjs()).hash(password, BCRYPT_COST)).replace(/^\$2b\$/, '$2y$');
}

/** The scheme of a stored hash, or null if gitdav does not accept it. */
export function schemeOf(hash: string): 'bcrypt' | 'sha1' | 'sha-crypt' | null {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return 'bcrypt';
  if (/^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(hash)) return 'sha1';
  if (/^\$[56]\$/.test(hash)) return 'sha-crypt';
  return null;
}

/** Whether the password matches the stored hash; comparisons of derived values are constant-time. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  switch (schemeOf(hash)) {
    case 'bcrypt':
      return (await bcryptjs()).compare(password, hash.replace(/^\$2y\$/, '$2b$'));
    case 'sha1':
      return sameText(`{SHA}${createHash('sha1').update(password, 'utf8').digest('base64')}`, hash);
    case 'sha-crypt': {
      const computed = shaCrypt(password, hash);
      return computed !== null && sameText(computed, hash);
    }
    default:
      return false;
  }
}

export function sameText(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y) && a === b;
}

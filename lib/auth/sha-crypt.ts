/**
 * SHA-crypt (`$5$` SHA-256, `$6$` SHA-512), Ulrich Drepper's specification as glibc implements it:
 * what `htpasswd -2`/`-5` and `mkpasswd -m sha-512` write. Pure; only read here, never written.
 */
import { createHash } from 'node:crypto';

const B64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;
/** More rounds than this cost a request seconds: a file that asks for them is refused, not obeyed. */
const ROUNDS_ACCEPTED = 1_000_000;

/** The full `$5$…`/`$6$…` string for `password` with the salt and rounds of `setting`, or null if malformed. */
export function shaCrypt(password: string, setting: string): string | null {
  const m = /^\$([56])\$(?:rounds=(\d{1,9})\$)?([^$]*)(?:\$.*)?$/.exec(setting);
  if (!m) return null;
  const algo = m[1] === '5' ? 'sha256' : 'sha512';
  const explicitRounds = m[2] !== undefined;
  const rounds = explicitRounds ? Math.min(ROUNDS_MAX, Math.max(ROUNDS_MIN, Number(m[2]))) : ROUNDS_DEFAULT;
  if (rounds > ROUNDS_ACCEPTED) return null;
  const saltText = m[3]!.slice(0, 16);
  const salt = Buffer.from(saltText, 'utf8');
  const key = Buffer.from(password, 'utf8');
  const size = algo === 'sha256' ? 32 : 64;
  const h = () => createHash(algo);

  const b = h().update(key).update(salt).update(key).digest();
  const a = h().update(key).update(salt);
  let n = key.length;
  for (; n > size; n -= size) a.update(b);
  a.update(b.subarray(0, n));
  for (let i = key.length; i > 0; i >>= 1) a.update(i & 1 ? b : key);
  let digest = a.digest();

  const dp = h();
  for (let i = 0; i < key.length; i++) dp.update(key);
  const p = repeatTo(dp.digest(), key.length, size);
  const ds = h();
  for (let i = 0; i < 16 + digest[0]!; i++) ds.update(salt);
  const s = repeatTo(ds.digest(), salt.length, size);

  for (let r = 0; r < rounds; r++) {
    const c = h();
    c.update(r & 1 ? p : digest);
    if (r % 3) c.update(s);
    if (r % 7) c.update(p);
    c.update(r & 1 ? digest : p);
    digest = c.digest();
  }
  const order = algo === 'sha256' ? SHA256_ORDER : SHA512_ORDER;
  let out = '';
  for (const [x, y, z, len] of order) out += b64From24(x < 0 ? 0 : digest[x]!, y < 0 ? 0 : digest[y]!, digest[z]!, len);
  return `$${m[1]}$${explicitRounds ? `rounds=${rounds}$` : ''}${saltText}$${out}`;
}

function repeatTo(digest: Buffer, length: number, size: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += size) digest.copy(out, i, 0, Math.min(size, length - i));
  return out;
}

function b64From24(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += B64[w & 0x3f];
    w >>= 6;
  }
  return out;
}

const SHA256_ORDER: [number, number, number, number][] = [
  [0, 10, 20, 4], [21, 1, 11, 4], [12, 22, 2, 4], [3, 13, 23, 4], [24, 4, 14, 4],
  [15, 25, 5, 4], [6, 16, 26, 4], [27, 7, 17, 4], [18, 28, 8, 4], [9, 19, 29, 4], [-1, 31, 30, 3],
];

const SHA512_ORDER: [number, number, number, number][] = [
  [0, 21, 42, 4], [22, 43, 1, 4], [44, 2, 23, 4], [3, 24, 45, 4], [25, 46, 4, 4], [47, 5, 26, 4],
  [6, 27, 48, 4], [28, 49, 7, 4], [50, 8, 29, 4], [9, 30, 51, 4], [31, 52, 10, 4], [53, 11, 32, 4],
  [12, 33, 54, 4], [34, 55, 13, 4], [56, 14, 35, 4], [15, 36, 57, 4], [37, 58, 16, 4], [59, 17, 38, 4],
  [18, 39, 60, 4], [40, 61, 19, 4], [62, 20, 41, 4], [-1, -1, 63, 2],
];

/**
 * Names git will not check out, after git's own rules (read-cache.c `verify_path`, path.c
 * `is_ntfs_dotgit`/`is_ntfs_dot_generic`, utf8.c `is_hfs_dotgit`; `git fsck` flags them as
 * `hasDotgit`). A tree with such an entry stops `git clone` ("invalid path") and, checked out on
 * Windows or macOS, would write into the clone's own `.git`. So the git backend refuses to create them
 * (issue 10 #6), and `gitdav fsck` reports them. Written here rather than taken from a library: no npm
 * package carries git's exact rules, and they must match git's byte for byte. Pure.
 */

/** Code points HFS+ drops when it compares names (utf8.c `next_hfs_char`), so `.g\u200cit` is `.git`. */
const HFS_IGNORED = new Set([
  0x200c, 0x200d, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x206a, 0x206b, 0x206c, 0x206d, 0x206e, 0x206f, 0xfeff,
]);

/** `.` + needle (ASCII, any case) and nothing else, once HFS+'s ignored code points are dropped. */
function isHfsDotGeneric(name: string, needle: string): boolean {
  const chars: number[] = [];
  for (const ch of name) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0x2f) break; // a directory separator ends the name
    if (!HFS_IGNORED.has(cp)) chars.push(cp);
  }
  if (chars.length !== needle.length + 1 || chars[0] !== 0x2e) return false;
  for (let i = 0; i < needle.length; i++) {
    const c = chars[i + 1]!;
    if (c > 127 || String.fromCharCode(c).toLowerCase() !== needle[i]) return false;
  }
  return true;
}

export const isHfsDotgit = (name: string) => isHfsDotGeneric(name, 'git');

/**
 * What NTFS takes for `.git`: `.git` or its 8.3 short name `git~1` (any case), followed only by dots
 * and spaces (which Windows strips), up to the end, a separator, or `:` (an alternate data stream,
 * e.g. `.git::$INDEX_ALLOCATION`).
 */
export function isNtfsDotgit(name: string): boolean {
  const lower = name.slice(0, 5).toLowerCase();
  let i: number;
  if (lower.startsWith('.git')) i = 4;
  else if (lower === 'git~1') i = 5;
  else return false;
  for (; ; i++) {
    const c = name[i];
    if (c === undefined || c === '\\' || c === '/' || c === ':') return true;
    if (c !== '.' && c !== ' ') return false;
  }
}

/** path.c `is_ntfs_dot_generic`: `.gitmodules` and friends as NTFS sees them (long or 8.3 names). */
function isNtfsDotGeneric(name: string, dotgitName: string, shortPrefix: string): boolean {
  const restOnlySpacesAndPeriods = (from: number): boolean => {
    for (let i = from; ; i++) {
      const c = name[i];
      if (c === undefined || c === ':') return true;
      if (c !== ' ' && c !== '.') return false;
    }
  };
  if (name[0] === '.' && name.slice(1, 1 + dotgitName.length).toLowerCase() === dotgitName) return restOnlySpacesAndPeriods(dotgitName.length + 1);
  if (name.slice(0, 6).toLowerCase() === dotgitName.slice(0, 6) && name[6] === '~' && name[7]! >= '1' && name[7]! <= '4') return restOnlySpacesAndPeriods(8);
  // The fall-back short name: up to 6 characters of a hash prefix, `~`, digits.
  let sawTilde = false;
  for (let i = 0; i < 8; i++) {
    const c = name[i];
    if (c === undefined) return false;
    if (sawTilde) {
      if (c < '0' || c > '9') return false;
    } else if (c === '~') {
      const d = name[++i];
      if (d === undefined || d < '1' || d > '9') return false;
      sawTilde = true;
    } else if (i >= 6 || c.charCodeAt(0) > 127 || c.toLowerCase() !== shortPrefix[i]) {
      return false;
    }
  }
  return restOnlySpacesAndPeriods(8);
}

/** Files git refuses as symbolic links (`gitmodulesSymlink` etc. in fsck). */
export const SYMLINK_REFUSED: ReadonlyArray<{ file: string; test: (name: string) => boolean }> = [
  { file: '.gitmodules', test: (n) => isHfsDotGeneric(n, 'gitmodules') || isNtfsDotGeneric(n, 'gitmodules', 'gi7eba') },
  { file: '.gitattributes', test: (n) => isHfsDotGeneric(n, 'gitattributes') || isNtfsDotGeneric(n, 'gitattributes', 'gi7d29') },
  { file: '.gitignore', test: (n) => isHfsDotGeneric(n, 'gitignore') || isNtfsDotGeneric(n, 'gitignore', 'gi250a') },
  { file: '.mailmap', test: (n) => isHfsDotGeneric(n, 'mailmap') || isNtfsDotGeneric(n, 'mailmap', 'maba30') },
];

/**
 * Does git take this tree entry name for `.git`? As `git fsck` checks it: the name, HFS+ and NTFS
 * equivalents, and every part after a backslash (a separator on Windows).
 */
export function isDotgitName(name: string): boolean {
  if (isHfsDotgit(name) || isNtfsDotgit(name)) return true;
  for (let i = name.indexOf('\\'); i >= 0; i = name.indexOf('\\', i + 1)) {
    if (isNtfsDotgit(name.slice(i + 1))) return true;
  }
  return false;
}

/** Why git would refuse a path segment as a tree entry name, or null when it is fine. */
export function gitRefusesName(name: string): string | null {
  if (name === '' || name === '.' || name === '..') return `"${name}" is not a valid name`;
  if (isDotgitName(name)) return `"${printable(name)}" is reserved by git: it is, or on Windows or macOS is taken for, .git`;
  return null;
}

/** A name with invisible code points shown as \u escapes, for messages. */
export function printable(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

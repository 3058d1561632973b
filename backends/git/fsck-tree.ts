/**
 * The tree-entry checks of `git fsck --strict` (fsck.c `fsck_tree`), for `gitdav fsck`: names git
 * refuses (`hasDotgit` and the rest), modes it does not know or writes differently (`zeroPaddedFilemode`,
 * `badFilemode`), entries twice or out of order, and the files git refuses as symbolic links. Each
 * problem carries fsck's own message id, so it can be looked up in git's documentation. Pure.
 */
import { isDotgitName, SYMLINK_REFUSED } from './reserved-names.js';

export interface TreeProblem {
  /** fsck's message id, e.g. `hasDotgit`. */
  id: string;
  message: string;
}

/** git's own modes; `100664` is one only without --strict. */
const GOOD_MODES = new Set(['100644', '100755', '120000', '40000', '160000']);
/** fsck.c: `fsck.largePathname`'s default bound on one entry's name. */
const MAX_NAME_BYTES = 4096;

interface RawEntry {
  mode: string;
  name: Buffer;
  oid: Buffer;
}

/** Problems of a tree object's content (its raw bytes); a tree that cannot be parsed is one problem. */
export function treeProblems(content: Buffer): TreeProblem[] {
  const entries: RawEntry[] = [];
  for (let i = 0; i < content.length; ) {
    const space = content.indexOf(0x20, i);
    const nul = space < 0 ? -1 : content.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 21 > content.length) return [{ id: 'badTree', message: 'cannot be parsed as a tree' }];
    entries.push({ mode: content.toString('latin1', i, space), name: content.subarray(space + 1, nul), oid: content.subarray(nul + 1, nul + 21) });
    i = nul + 21;
  }
  const found = new Map<string, string>();
  const flag = (id: string, message: string) => {
    if (!found.has(id)) found.set(id, message);
  };
  const seen = new Set<string>();
  let previous: RawEntry | null = null;
  for (const e of entries) {
    const name = e.name.toString('utf8');
    if (e.oid.every((b) => b === 0)) flag('nullSha1', 'contains entries pointing to null sha1');
    if (name.includes('/')) flag('fullPathname', 'contains full pathnames');
    if (e.name.length === 0) flag('emptyName', 'contains empty pathname');
    if (name === '.') flag('hasDot', "contains '.'");
    if (name === '..') flag('hasDotdot', "contains '..'");
    if (isDotgitName(name)) flag('hasDotgit', "contains '.git'");
    if (e.name.length > MAX_NAME_BYTES) flag('largePathname', 'contains excessively large pathname');
    if (e.mode.startsWith('0')) flag('zeroPaddedFilemode', 'contains zero-padded file modes');
    else if (!GOOD_MODES.has(e.mode)) flag('badFilemode', 'contains bad file modes');
    if (e.mode === '120000') {
      for (const { file, test } of SYMLINK_REFUSED) {
        if (test(name)) flag(`${file.slice(1)}Symlink`, `${file} is a symbolic link`);
      }
    }
    const key = e.name.toString('latin1');
    if (seen.has(key)) flag('duplicateEntries', 'contains duplicate file entries');
    else if (previous && compareKeys(previous, e) > 0) flag('treeNotSorted', 'not properly sorted');
    seen.add(key);
    previous = e;
  }
  return [...found].map(([id, message]) => ({ id, message }));
}

/** git's tree order: names as bytes, a subtree's as if it ended in `/`. */
function compareKeys(a: RawEntry, b: RawEntry): number {
  const key = (e: RawEntry) => (isDirMode(e.mode) ? Buffer.concat([e.name, Buffer.from('/')]) : e.name);
  return Buffer.compare(key(a), key(b));
}

function isDirMode(mode: string): boolean {
  return mode === '40000' || mode === '040000';
}

/**
 * Which files are junk: the ones operating systems and editors drop beside a user's files (Finder's
 * `.DS_Store` and AppleDouble `._*`, Windows' `Thumbs.db` and `desktop.ini`, Office's `~$*` owner files,
 * LibreOffice's `.~lock.*#`, vim's swap files, Emacs' lock links). They are stored so the client works,
 * but never committed (./store.ts, ./view.ts).
 *
 * The patterns are gitignore lines, matched by npm `ignore` (git's own rules: a pattern without a slash
 * matches a name at any depth, `!` re-includes, a trailing `/` only folders, and, as in git, a file
 * inside a folder whose name matches is matched too). The config file's `ignore` list REPLACES the
 * default: to keep the default and add to it, list the default lines too; `ignore: []` keeps nothing out.
 */
import type { Ignore } from 'ignore';
import { requireCjs } from '../../util/require-cjs.js';

// `ignore` is CommonJS: loaded with require, not import (../../util/require-cjs.ts says why).
const ignore = requireCjs('ignore') as typeof import('ignore');

/** The default list (README "Junk files"), exactly. */
export const DEFAULT_JUNK: readonly string[] = [
  '.DS_Store',
  '._*',
  'Thumbs.db',
  'desktop.ini',
  '~$*',
  '.~lock.*#',
  '*.swp',
  '*.swx',
  '.#*',
];

export class JunkRules {
  private readonly matcher: Ignore;
  /** No pattern at all: nothing is junk (callers may skip the junk layer). */
  readonly empty: boolean;

  constructor(readonly patterns: readonly string[] = DEFAULT_JUNK) {
    this.matcher = ignore({ allowRelativePaths: false }).add([...patterns]);
    this.empty = !patterns.some((p) => p.trim() !== '' && !p.trim().startsWith('#'));
  }

  /** Whether a file at this backend path (`/a/b/.DS_Store`) is junk. The root is never junk. */
  isJunk(path: string): boolean {
    if (this.empty || path === '/' || path === '') return false;
    try {
      return this.matcher.ignores(path.slice(1));
    } catch {
      return false; // a name `ignore` refuses to judge is kept as an ordinary file
    }
  }
}

/**
 * `<stateDir>/journal/committed`: the last seq of a journal (by its id) the committer knows committed,
 * `{"id":"<32 hex>","seq":N}`. Written by the committer under commit.lock right after each commit
 * lands (and for a burst that changed nothing), temp + fsync + rename; only ever raised. The live
 * state takes max(this mark, its own trailers on the branch) as committed, so a rewind, a force-push,
 * a merge or many native commits on top never bring committed records back. Parsed strictly: a
 * corrupt or foreign file (another id) counts as no mark.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../../util/durable-file.js';
import { isJournalId } from './format.js';

export const MARK_FILE = 'committed';

export interface CommittedMark {
  id: string;
  seq: number;
}

/** The mark in `journalDir`, or null (missing, unreadable, not exactly the shape). Sync: a few µs. */
export function readMark(journalDir: string): CommittedMark | null {
  let text: string;
  try {
    text = readFileSync(join(journalDir, MARK_FILE), 'utf8');
  } catch {
    return null;
  }
  return parseMark(text);
}

export function parseMark(text: string): CommittedMark | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  if (Object.keys(o).length !== 2 || !isJournalId(o.id) || !Number.isSafeInteger(o.seq) || (o.seq as number) < 0) return null;
  return { id: o.id, seq: o.seq as number };
}

/** The mark's seq for journal `id` (0: none, or another journal's). */
export function markedSeq(journalDir: string, id: string): number {
  const m = readMark(journalDir);
  return m && m.id === id ? m.seq : 0;
}

/**
 * The mark as one process sees it, read again only when a stat of the file says it changed: the live
 * state looks at it on every refresh (a stat, like the journal's), so that a mark another process
 * raised without moving the tip (a commit then a rewind to the old tip; a burst that changed nothing)
 * still drops the records it covers. A write is temp + rename, so the inode (with size, mtime and
 * ctime) tells a new file from the one read; stat before read, so a file replaced in between is only
 * read once more, never missed.
 */
export class MarkWatch {
  private seen: Stats | undefined;
  private mark: CommittedMark | null = null;
  /** Stats and reads of the file so far (tests count them: an unchanged stat reads nothing). */
  readonly work = { stats: 0, reads: 0 };

  constructor(private readonly journalDir: string) {}

  /**
   * The mark's seq for journal `id` (0: none, or another journal's). `fresh`: read whatever the stat
   * says (file timestamps are coarse, and an inode can be reused: a stat tells versions apart
   * practically always; a decision that must never miss a raise, such as whether to commit, reads).
   */
  seqFor(id: string, fresh = false): number {
    const st = statOrUndefined(join(this.journalDir, MARK_FILE));
    this.work.stats++;
    if (fresh || !sameFile(st, this.seen)) {
      if (st) this.work.reads++;
      this.mark = st ? readMark(this.journalDir) : null;
      this.seen = st;
    }
    return this.mark && this.mark.id === id ? this.mark.seq : 0;
  }
}

/** Sync: a few µs, where a trip through the thread pool costs ~40. A missing file (no commit yet) is not thrown: a stack trace costs more than the stat. */
function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined; // unreadable: as missing (no mark)
  }
}

/** Whether two stats are of one version of a file (both missing counts as the same). */
function sameFile(a: Stats | undefined, b: Stats | undefined): boolean {
  if (!a || !b) return a === b;
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** Raises the mark to `seq` for `id` (the caller holds the commit lock): never lowers it for the same id. */
export async function raiseMark(journalDir: string, id: string, seq: number): Promise<void> {
  if (!isJournalId(id)) return;
  if (markedSeq(journalDir, id) >= seq) return;
  await writeFileDurably(join(journalDir, MARK_FILE), JSON.stringify({ id, seq }), { durability: 'fsync' });
}

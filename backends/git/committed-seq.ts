/**
 * The committed seq of this process's journal (docs/git-backend.md, "Writing"): the last record seq
 * known to be in the branch's history, so the live state never replays a record at or below it.
 *
 * It is max(the persisted mark `journal/committed` for this journal's id, the highest
 * `Gitdav-Journal: <id> <seq>` trailer carrying this journal's id found walking the tip's history
 * over all parents, up to TRAILER_WALK commits). Trailers of another id (another server, a clone, a
 * merged history, or the old id-less format) are ignored: they never make our records look committed.
 * The mark is what makes a rewind, a force-push, a merge or many native commits on top harmless:
 * records at or below it stay committed whatever the branch does. The walk is cached by commit id.
 */
import type { Journal } from './journal/journal.js';
import { MarkWatch } from './journal/committed-mark.js';
import { JOURNAL_TRAILER } from './journal/record.js';
import type { ObjectStore } from './objects.js';

/** How many commits the trailer walk reads at most (the mark covers what lies further). */
export const TRAILER_WALK = 1000;
const TRAILER_RE = new RegExp(`^${JOURNAL_TRAILER}: ([0-9a-f]{32}) (\\d+)[ \\t]*$`, 'gm');

/** The trailer line for journal `id`'s record `seq`. */
export function journalTrailer(id: string, seq: number): string {
  return `${JOURNAL_TRAILER}: ${id} ${seq}`;
}

/** The highest seq `message`'s trailers give journal `id` (0: none of ours). */
export function trailerSeq(message: string, id: string): number {
  let best = 0;
  for (const m of message.matchAll(TRAILER_RE)) if (m[1] === id) best = Math.max(best, Number(m[2]));
  return best;
}

export class CommittedSeqs {
  private readonly cache = new Map<string, number>();
  private cacheId = '';
  private readonly marks: MarkWatch;

  constructor(
    private readonly store: ObjectStore,
    private readonly journal: Journal,
  ) {
    this.marks = new MarkWatch(journal.dir);
  }

  /**
   * The persisted mark alone: it rises without the tip moving. A stat when it did not change (every
   * refresh holding records asks); `fresh`: the file read (./journal/committed-mark.ts MarkWatch).
   */
  marked(fresh = false): number {
    const id = this.journal.id;
    return id ? this.marks.seqFor(id, fresh) : 0;
  }

  /** Stats and reads of the mark file (tests count them). */
  get markWork(): { stats: number; reads: number } {
    return this.marks.work;
  }

  /**
   * The committed seq of this journal as of `commit` (the branch tip; null: an empty branch).
   * `mark`: the mark as read BEFORE `commit` was read as the tip (a rebuild: a commit moves the branch,
   * then raises the mark, so a mark read after the tip can cover another process's newer commit the
   * tip lacks, and drop its records); without it the file is read now (the committer's check, under
   * the commit lock: nothing commits in between).
   */
  async of(commit: string | null, mark?: number): Promise<number> {
    const id = this.journal.id;
    if (!id) return 0; // not read yet: no records to judge either
    return Math.max(mark ?? this.marks.seqFor(id, true), commit ? await this.walk(commit, id) : 0);
  }

  /** Own-id trailers over all parents, breadth first, not past a commit that has one (older ones are lower). */
  private async walk(commit: string, id: string): Promise<number> {
    if (id !== this.cacheId) {
      this.cache.clear();
      this.cacheId = id;
    }
    const cached = this.cache.get(commit);
    if (cached !== undefined) return cached;
    let found = 0;
    const seen = new Set<string>([commit]);
    const queue = [commit];
    for (let i = 0; i < queue.length && i < TRAILER_WALK; i++) {
      const at = queue[i]!;
      const known = at === commit ? undefined : this.cache.get(at);
      if (known !== undefined) {
        found = Math.max(found, known);
        continue;
      }
      const c = await this.store.readCommit(at);
      const seq = trailerSeq(c.message, id);
      if (seq) {
        found = Math.max(found, seq);
        continue;
      }
      for (const p of c.parents) if (!seen.has(p)) seen.add(p), queue.push(p);
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(commit, found);
    return found;
  }
}

/**
 * The live state (docs/git-backend.md, "Writing"): the branch tip with every journal record not yet
 * committed applied on top. Every request refreshes it (a stat of the journal, while records are held a
 * stat of the committed mark, then a ref read: all cheap when nothing changed); new records are
 * applied copy-on-write, a new tip (a commit, a native push), a rotated journal or a raised mark
 * rebuilds it from the tip. A view is immutable once published: a reader's snapshot never changes under it.
 */
import type { Journal, JournalRead } from './journal/journal.js';
import type { JournalRecord } from './journal/record.js';
import { CommittedSeqs } from './committed-seq.js';
import type { ObjectStore } from './objects.js';
import { replayEffects } from './replay.js';
import { TimesLog } from './live-times.js';
import { appendRecords, noRecords } from './live-records.js';
import { TreeEditor, dirSlot, type DirSlot } from './tree.js';
import { Mutex } from '../util/mutex.js';

export interface Tip {
  commit: string | null;
  tree: string;
  time: Date;
}

export interface LiveView {
  tip: Tip;
  /** This journal's committed seq (./committed-seq.ts: its mark, its own trailers in the tip's history), 0 for none. */
  committedSeq: number;
  /** The tip's tree with `records` applied (sealed: edits copy). */
  root: DirSlot;
  /** Uncommitted records applied, in seq order (read-only, shared with its lineage: ./live-records.ts). */
  records: readonly JournalRecord[];
  appliedSeq: number;
  /** Paths (and their folders) an uncommitted record changed → that record's time (epoch ms). */
  times: ReadonlyMap<string, number>;
  /** The paths uncommitted records' effects name (exactly: no folders above them). */
  paths: ReadonlySet<string>;
  /** Records seen in the journal file as it is now, committed ones too (0: nothing to rotate away). */
  fileRecords: number;
  /** Bumped by every publish of a new view in this process: two different views never share it (listingVersion). */
  generation: number;
}

export interface LiveStateDeps {
  store: ObjectStore;
  journal: Journal;
  placeholder: { name: string; oid: string };
  /** The branch tip (the backend's tip(): it catches the path index up). `fresh`: by name, nothing remembered. */
  tip(fresh?: boolean): Promise<Tip>;
  /** Called with each new view published (the committer arms for records a crashed writer left: Committer.noticed). */
  published?(view: LiveView): void;
}

export class LiveState {
  private view: LiveView | null = null;
  private readonly mutex = new Mutex();
  /** A refresh waiting for the mutex: later callers join it (it has not looked at anything yet). */
  private queued: Promise<LiveView> | null = null;
  private readonly seqs: CommittedSeqs;
  private generation = 0;
  private log = new TimesLog();
  /**
   * Records journal.read() (or a writer) handed over that no published view holds yet: kept before
   * anything that can throw, so a refresh that fails part-way loses none of them (the next one applies them).
   */
  private carry: { records: JournalRecord[]; reset: boolean } | null = null;
  /** Refreshes that found nothing new (no copying, no sorting): tests count them. */
  idleRefreshes = 0;

  constructor(private readonly d: LiveStateDeps) {
    this.seqs = new CommittedSeqs(d.store, d.journal);
  }

  /** The view as of now: everything acknowledged by any process before this call is in it. */
  current(fresh = false): Promise<LiveView> {
    if (!fresh && this.queued) return this.queued;
    const run = this.mutex.run(async () => {
      if (this.queued === run) this.queued = null;
      return this.update(await this.d.journal.read(), [], fresh);
    });
    if (!fresh) this.queued = run;
    return run;
  }

  /** Applies what a journal transaction caught up with (or appended): the writer's view of the state. */
  absorb(read: JournalRead, appended: readonly JournalRecord[] = []): Promise<LiveView> {
    return this.mutex.run(() => this.update(read, appended, false));
  }

  /** Applies records this process just appended, on the tip last read (no ref read: the next refresh looks). */
  appended(records: readonly JournalRecord[]): Promise<LiveView> {
    return this.mutex.run(() => this.update({ records: [], reset: false, nextSeq: 0 }, records, false, false));
  }

  /** The view last published (no refresh): null before the first. */
  peek(): LiveView | null {
    return this.view;
  }

  private async update(fresh0: JournalRead, appended: readonly JournalRecord[], fresh: boolean, readTip = true): Promise<LiveView> {
    const kept = this.carry;
    const read: JournalRead = kept
      ? { ...fresh0, reset: fresh0.reset || kept.reset, records: fresh0.reset ? fresh0.records : [...kept.records, ...fresh0.records] }
      : fresh0;
    if (read.records.length || appended.length || read.reset) this.carry = { records: [...read.records, ...appended], reset: read.reset };
    const view = await this.refresh(read, appended, fresh, readTip);
    this.carry = null;
    return view;
  }

  private async refresh(read: JournalRead, appended: readonly JournalRecord[], fresh: boolean, readTip: boolean): Promise<LiveView> {
    const old = this.view;
    // The committed mark is looked at BEFORE the tip: a commit moves the branch, then raises the mark, so
    // a mark read first covers no record the tip read after it lacks (but those a rewind took out again:
    // committed all the same). Read after the tip, it could cover another process's commit that landed
    // in between and drop that acknowledged record from a view on the older tip. A view with no records,
    // given none, has nothing the mark could drop: no stat then.
    const holds = (old?.records.length ?? 0) > 0 || read.records.length > 0 || appended.length > 0;
    const markBefore = holds ? this.seqs.marked() : undefined;
    // Risen past the view's committed seq: another process committed records this view holds (and the
    // branch may have been rewound since, or their burst changed nothing). Rebuild, on the tip read now.
    const marked = !!old && markBefore !== undefined && markBefore > old.committedSeq;
    const tipRead = readTip || !old || marked;
    let tip = tipRead ? await this.d.tip(fresh || marked) : old.tip;
    if (old && !marked && !read.reset && read.records.length === 0 && appended.length === 0 && tip.commit === old.tip.commit) {
      this.idleRefreshes++;
      return old;
    }
    const fresher = unseen(old && !read.reset ? old.records : [], [...read.records, ...appended]);
    const fileRecords = (read.reset ? 0 : (old?.fileRecords ?? 0)) + fresher.length;
    const inOrder = !!old && fresher.every((r) => r.seq > old.appliedSeq);
    if (old && !marked && !read.reset && tip.commit === old.tip.commit && inOrder) {
      if (fresher.length === 0) return old;
      return this.publish(await this.apply({ ...old, fileRecords }, fresher, this.log));
    }
    const known = [...(read.reset ? [] : (old?.records ?? [])), ...fresher].sort((a, b) => a.seq - b.seq);
    // Holding no records, the mark read after the tip (in `of`) drops nothing: a record it covers that
    // this view lacks was appended after this refresh read the journal, so it owes that record nothing.
    let mark: number | undefined;
    if (holds) {
      // The rebuild's mark is the file itself (a stat can in theory miss a version). If it is not the one
      // the tip was read after (it rose meanwhile, or the tip is an earlier refresh's), read the tip again.
      mark = this.seqs.marked(true);
      if (mark !== markBefore || !tipRead) tip = await this.d.tip(true);
    }
    const committedSeq = await this.seqs.of(tip.commit, mark);
    // A wiped state dir or a clone starts a fresh journal: never number a record the branch has committed.
    this.d.journal.raiseFloor(committedSeq);
    const log = new TimesLog(); // the published view's lineage only once it is published
    const base: LiveView = { tip, committedSeq, root: dirSlot(tip.tree), records: noRecords(), appliedSeq: committedSeq, times: new Map(), paths: log.paths, fileRecords, generation: 0 };
    const view = await this.apply(base, known.filter((r) => r.seq > committedSeq), log);
    this.log = log;
    return this.publish(view);
  }

  private publish(view: LiveView): LiveView {
    if (view !== this.view) view = { ...view, generation: ++this.generation };
    this.view = view;
    this.d.published?.(view);
    return view;
  }

  /** Applies records (in seq order, all above the view's) on the view's lineage: their own paths only. */
  private async apply(view: LiveView, records: readonly JournalRecord[], log: TimesLog): Promise<LiveView> {
    if (records.length === 0) return view;
    const editor = TreeEditor.fromSlot(this.d.store, view.root, this.d.placeholder);
    for (const r of records) {
      await replayEffects(editor, r.effects);
      log.add(r);
    }
    const appliedSeq = records[records.length - 1]!.seq;
    // Records, times and paths: the lineage's append-only logs, this view bounded by its own length or seq.
    return { ...view, root: editor.seal(), records: appendRecords(view.records, records), appliedSeq, times: log.at(appliedSeq), paths: log.paths };
  }

  /** This journal's committed seq as of `commit`: ./committed-seq.ts. */
  committedSeq(commit: string | null): Promise<number> {
    return this.seqs.of(commit);
  }
}

/** The records of `incoming` (deduplicated, in seq order) that `known` (in seq order) does not hold. */
function unseen(known: readonly JournalRecord[], incoming: readonly JournalRecord[]): JournalRecord[] {
  const has = (seq: number) => {
    let lo = 0;
    let hi = known.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const at = known[mid]!.seq;
      if (at === seq) return true;
      if (at < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  };
  const out = new Map<number, JournalRecord>();
  for (const r of incoming) if (!has(r.seq)) out.set(r.seq, r);
  return [...out.values()].sort((a, b) => a.seq - b.seq);
}

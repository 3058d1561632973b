/**
 * Bursts → commits (docs/git-backend.md, "Writing"). Writes are acknowledged once in the journal
 * (./journal-writer.ts); a process that appended arms a timer for when its burst closes
 * (./journal/burst.ts), and so does one that sees uncommitted records with no timer armed (noticed).
 * On it, under the journal's commit lock (one committer at a time across every process), the
 * committer reads the tip afresh, takes the uncommitted records, and turns each closed burst into one
 * commit: its effects replayed on the tip (./replay.ts: cannot fail), the changed trees written, the
 * commit (message ./journal/messages.ts, or the fallback message if describing throws; trailer
 * `Gitdav-Journal: <journal id> <last seq>`), one fsync of them all (and of the burst's small blobs,
 * written without one: ./journal/inline.ts), and the branch moved by
 * compare-and-swap; a lost swap (a native push) replays the burst on the new tip. Right after a swap
 * (and for a burst that changes nothing, which makes no commit) the persisted committed mark is raised
 * (./journal/committed-mark.ts), so no crash, rewind or push makes a record commit twice or replay.
 * After the commits the journal is rotated (the committed prefix dropped when it pays).
 */
import { RefLockedError, type Refs } from './refs.js';
import type { ObjectStore } from './objects.js';
import { EMPTY_TREE } from './objects.js';
import type { Journal } from './journal/journal.js';
import { burstUser, mayCloseEarlier, splitBursts, type BurstRules } from './journal/burst.js';
import { raiseMark } from './journal/committed-mark.js';
import { settleInline } from './journal/inline.js';
import { commitMessage, fallbackMessage } from './journal/messages.js';
import { netChanges } from './journal/net-changes.js';
import type { JournalRecord } from './journal/record.js';
import { journalTrailer } from './committed-seq.js';
import type { LiveState, LiveView } from './live-state.js';
import { replayEffects } from './replay.js';
import { TreeEditor } from './tree.js';
import { commitLanded } from '../util/stats.js';

export interface CommitterDeps {
  store: ObjectStore;
  refs: Refs;
  ref: string; // refs/heads/<branch>
  journal: Journal;
  live: LiveState;
  placeholder: { name: string; oid: string };
  identity: { name: string; email: string };
  defaultAuthor: { name: string; email: string };
  rules: BurstRules;
  /** The commit after which `path` last held blob `oid` (a restore by PUT), if it ever did. */
  versionOf?(path: string, oid: string): Promise<string | undefined>;
  /** Called after each commit lands. */
  onCommit?(commit: string): Promise<void> | void;
}

const MAX_REPLAYS = 50;
/** When the commit lock is busy (another process commits), or a commit failed: try again after this. */
const RETRY_MS = 50;
const FAILED_RETRY_MS = 1000;
const MAX_FAILURES = 5;

export class Committer {
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private running: Promise<void> | null = null;
  private closed = false;
  private failures = 0;

  constructor(private readonly d: CommitterDeps) {}

  /**
   * Records this process appended: commit their burst when it closes. With a window of 0 the burst
   * closes at once and the commit is made now: the promise resolves once it landed (the writes are
   * answered after their commit, as a commit per write batch; a failure is logged, the records stay).
   */
  appended(records: readonly JournalRecord[]): Promise<void> | void {
    if (!records.length || this.closed) return;
    this.failures = 0;
    if (this.d.rules.windowMs === 0) {
      return this.d.journal.withCommitLock(() => this.commitClosed(false)).then(
        (next) => void (next !== null && this.arm(next)),
        (err: unknown) => {
          console.error(`git: committing the journal failed (retrying): ${(err as Error).message}`);
          this.arm(Date.now() + FAILED_RETRY_MS);
        },
      );
    }
    const all = this.d.live.peek()?.records ?? records;
    if (this.timer && !mayCloseEarlier(all, records)) return; // the armed deadline stands (arm() only moves it earlier)
    const split = splitBursts(all, Date.now(), this.d.rules);
    this.arm(split.closed.length ? Date.now() : (split.nextCloseAt ?? Date.now()));
  }

  /**
   * A new view was published (any process's records, a reader's too): with uncommitted records and no
   * timer armed, arm one for when their burst closes at the latest (a crashed writer's burst is then
   * committed by whoever is still serving). A comparison when a timer is armed; fire() looks properly.
   */
  noticed(view: LiveView): void {
    if (this.timer || this.running || this.closed || view.records.length === 0) return;
    const { windowMs, maxAgeMs } = this.d.rules;
    this.arm(Math.min(view.records[0]!.time + maxAgeMs, view.records[view.records.length - 1]!.time + windowMs));
  }

  private arm(at: number): void {
    if (this.closed || at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    // Unref'd: what is not committed when the process ends is in the journal, committed at the next open.
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - Date.now())).unref();
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    if (this.running) {
      void this.running.then(() => this.arm(Date.now()));
      return;
    }
    this.running = (async () => {
      try {
        const got = await this.d.journal.tryCommitLock(() => this.commitClosed(false));
        this.failures = 0;
        if (!got) this.arm(Date.now() + RETRY_MS);
        else if (got.value !== null) this.arm(got.value);
      } catch (err) {
        // Given up after a few: the records stay in the journal (the next write, or the next open, retries).
        const again = ++this.failures < MAX_FAILURES;
        console.error(`git: committing the journal failed${again ? ' (retrying)' : ''}: ${(err as Error).message}`);
        if (again) this.arm(Date.now() + FAILED_RETRY_MS * this.failures);
      } finally {
        this.running = null;
      }
    })();
  }

  /**
   * At open: commits the bursts that are closed by now (a journal a crash left is older than the window,
   * so all of it) and arms the timer for one still open (its writer may be a live process, which
   * commits it as well: the commit lock and the trailer make that once). Closing every burst here
   * would cut a live process's burst whenever another worker opens the repository.
   */
  async recover(): Promise<void> {
    const view = await this.d.live.current(true);
    if (view.records.length === 0 && view.fileRecords === 0) return;
    const next = await this.d.journal.withCommitLock(() => this.commitClosed(false));
    if (next !== null) this.arm(next);
  }

  /** Commits every burst, open ones too (shutdown), and waits for it. */
  async commitAll(): Promise<void> {
    await this.running;
    const view = await this.d.live.current(true);
    if (view.records.length === 0 && view.fileRecords === 0) return; // nothing to commit or rotate: no lock, no write
    await this.d.journal.withCommitLock(() => this.commitClosed(true));
  }

  /** Stops the timer; what is left stays in the journal (committed at the next open, or by another process). */
  stop(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Under the commit lock: commits the closed bursts; returns when the first open one closes (null: none). */
  private async commitClosed(final: boolean): Promise<number | null> {
    const view = await this.d.live.current(true);
    const split = splitBursts(view.records, Date.now(), this.d.rules, final);
    let last = view.committedSeq;
    for (const burst of split.closed) last = await this.commitBurst(burst);
    // This process's view moves to the new tip now (so its committed records leave the overlay at once).
    if (split.closed.length) await this.d.live.current(true);
    // Drops the committed prefix when it pays (jfile's rotate decides; all of it when nothing is left),
    // so the file stays bounded under steady writes, open bursts or not.
    if (split.closed.length || (view.records.length === 0 && view.fileRecords > 0)) await this.d.journal.rotate(last);
    return split.nextCloseAt;
  }

  /** Under the commit lock: the persisted committed mark (./journal/committed-mark.ts) raised to `seq`. */
  private async markCommitted(seq: number): Promise<void> {
    await raiseMark(this.d.journal.dir, this.d.journal.id, seq);
  }

  /** One burst → one commit (none when it changes nothing). Returns the burst's last seq. */
  private async commitBurst(burst: readonly JournalRecord[]): Promise<number> {
    const { store, refs, ref, live } = this.d;
    const lastSeq = burst[burst.length - 1]!.seq;
    // Small blobs were written without fsync (their records carry them): durable before any commit names them.
    const rewritten = await settleInline(store, this.d.journal.file, burst[0]!.seq, lastSeq);
    if (rewritten) console.warn(`git: ${rewritten} small blob(s) lost by a crash were written again from the journal`);
    for (let attempt = 0; attempt < MAX_REPLAYS; attempt++) {
      const head = await refs.read(ref, 0, true);
      if ((await live.committedSeq(head)) >= lastSeq) return lastSeq; // committed already (a crash after the swap)
      const baseTree = head ? (await store.readCommit(head)).tree : EMPTY_TREE;
      const editor = new TreeEditor(store, baseTree, this.d.placeholder);
      for (const r of burst) await replayEffects(editor, r.effects);
      const tree = await editor.flush();
      if (tree === baseTree) {
        await this.markCommitted(lastSeq); // a burst that changes nothing is done too: never replayed
        return lastSeq;
      }
      const trailers = [journalTrailer(this.d.journal.id, lastSeq)];
      let message: string;
      try {
        const changes = await netChanges(new TreeEditor(store, baseTree, this.d.placeholder), editor, burst, {
          store,
          placeholder: this.d.placeholder,
          versionOf: this.d.versionOf,
        });
        message = commitMessage({ records: burst, changes, trailers });
      } catch (err) {
        // A message can never block commits.
        console.error(`git: describing a commit failed (a plain message instead): ${(err as Error).message}`);
        message = fallbackMessage(burst, trailers);
      }
      const when = burst[burst.length - 1]!.time;
      const user = burstUser(burst);
      const commit = await store.writeCommit(
        {
          tree,
          parents: head ? [head] : [],
          author: signature(user ? { name: user, email: `${user}@gitdav` } : this.d.defaultAuthor, when),
          committer: signature(this.d.identity, Date.now()),
          message,
        },
        { sync: false },
      );
      // Trees and commit were written without fsync: durable together, before the ref points at them.
      await store.sync([...editor.written, commit]);
      try {
        if (await refs.compareAndSwap(ref, head, commit)) {
          await this.markCommitted(lastSeq);
          commitLanded.emit({ operations: burst.length });
          await this.d.onCommit?.(commit);
          return lastSeq;
        }
      } catch (err) {
        if (!(err instanceof RefLockedError)) throw err;
      }
      // Another writer moved the branch (a native push): replay the burst on its tip.
    }
    throw new Error(`could not update ${ref} after ${MAX_REPLAYS} attempts (heavy contention)`);
  }
}

function signature(who: { name: string; email: string }, when: number): string {
  const clean = (s: string) => s.replace(/[<>\n\r\0]/g, '');
  return `${clean(who.name)} <${clean(who.email)}> ${Math.floor(when / 1000)} +0000`;
}

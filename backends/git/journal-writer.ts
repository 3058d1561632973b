/**
 * Acknowledged writes (docs/git-backend.md, "Writing"): requests write their blobs first, in
 * parallel, then queue an operation with its guard. The writer takes everything queued and, in one
 * journal transaction (under the journal lock, the serialisation point of every process), catches
 * the live state up, runs each guard and apply against it (a failing one rejects only its own
 * request), writes and fsyncs the trees the effects name, and appends one record per operation with
 * one fdatasync. The overlay then includes the records, and the requests are answered: durable, and
 * seen at once by every reader in every process. Commits come later, per burst (./committer.ts).
 */
import type { Actor, Entry, Guard, GuardView } from '../backend.js';
import { BackendError } from '../errors.js';
import type { Journal } from './journal/journal.js';
import type { InlineObject, JournalEntry, JournalRecord, RecordMeta } from './journal/record.js';
import type { LiveState, LiveView } from './live-state.js';
import type { ObjectStore } from './objects.js';
import { TreeEditor } from './tree.js';

/** Applies one operation to the editor; returns what the request should be answered with. */
export type Apply<R> = (editor: TreeEditor) => Promise<R>;

export interface Operation<R> {
  meta: RecordMeta;
  actor?: Actor;
  guard?: Guard;
  apply: Apply<R>;
  /** Append a record even when the operation changed nothing (a marker: UNLOCK). */
  marker?: boolean;
  /** Small blobs the operation wrote without fsync: carried in its record (./journal/record.ts InlineObject). */
  inline?: InlineObject[];
}

interface Pending {
  op: Operation<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export interface JournalWriterDeps {
  store: ObjectStore;
  journal: Journal;
  live: LiveState;
  placeholder: { name: string; oid: string };
  /** Stat inside the state being built, for guards. */
  statIn(editor: TreeEditor, path: string, time: Date): Promise<Entry | null>;
  /** The editor a transaction builds on `view` (an edited folder's ETag in a guard names that view). */
  opened?(editor: TreeEditor, view: LiveView): void;
  /** Most operations in one journal transaction (default 1000). */
  maxBatch?: number;
  /** Called after records are appended (the committer arms its timer, or commits at once: then awaited). */
  onAppended?(records: readonly JournalRecord[]): Promise<void> | void;
}

const MAX_BATCH = 1000;

export class JournalWriter {
  private readonly queue: Pending[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly d: JournalWriterDeps) {}

  submit<R>(op: Operation<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.running) return;
    this.running = (async () => {
      try {
        while (this.queue.length) await this.append(this.queue.splice(0, this.d.maxBatch ?? MAX_BATCH));
      } finally {
        // Same tick as the empty-queue check: a later submit finds `running` null and kicks again.
        this.running = null;
      }
    })();
  }

  /** Resolves once everything queued so far is appended (or failed). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async append(batch: Pending[]): Promise<void> {
    const { store, journal, live } = this.d;
    let outcomes: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }>;
    let records: JournalRecord[];
    try {
      ({ records, result: outcomes } = await journal.transact(async (caughtUp) => {
        const view = await live.absorb(caughtUp);
        const editor = TreeEditor.fromSlot(store, view.root, this.d.placeholder);
        this.d.opened?.(editor, view);
        editor.record();
        const now = new Date();
        const entries: JournalEntry[] = [];
        const results: typeof outcomes = [];
        for (const p of batch) {
          editor.begin();
          try {
            const guardView: GuardView = { stat: (path) => this.d.statIn(editor, path, now) };
            await p.op.guard?.(guardView);
            const value = await p.op.apply(editor);
            const effects = editor.effectsOfOperation();
            if (effects.length || p.op.marker) entries.push(entryOf(p.op, effects, now.getTime()));
            results.push({ ok: true, value });
          } catch (err) {
            editor.rollback(); // an operation applies whole or not at all
            results.push({ ok: false, err });
          }
        }
        // The folders the effects name were written without fsync: durable before the record is.
        await store.sync(editor.written);
        return { entries, result: results };
      }));
    } catch (err) {
      const reason = isNoSpace(err) ? new BackendError('InsufficientStorage', '/', NO_SPACE, { cause: err }) : err;
      for (const p of batch) p.reject(reason);
      return;
    }
    // Readers hold records without their inline bodies (as a decode gives them: ./journal/format.ts).
    for (const r of records) delete r.inline;
    // The records are durable: the requests are answered whatever follows. If this process's overlay
    // fails to take them, its next refresh catches up (the read side keeps records a refresh could not apply).
    await live.appended(records).catch((err: unknown) => console.error(`git: applying appended records to the view failed: ${(err as Error).message}`));
    try {
      if (records.length) await this.d.onAppended?.(records);
    } catch (err) {
      console.error(`git: arming the committer failed: ${(err as Error).message}`);
    } finally {
      batch.forEach((p, i) => {
        const o = outcomes[i]!;
        if (o.ok) p.resolve(o.value);
        else p.reject(o.err);
      });
    }
  }
}

function entryOf(op: Operation<unknown>, effects: JournalEntry['effects'], time: number): JournalEntry {
  const entry: JournalEntry = { time, meta: op.meta, effects };
  if (op.actor?.user) entry.user = op.actor.user;
  if (op.actor?.userAgent) entry.userAgent = op.actor.userAgent;
  if (op.inline?.length) entry.inline = op.inline;
  return entry;
}

/** Why a write failed on a full disk, and what helps: on git even a DELETE needs a little space and frees none. */
export const NO_SPACE =
  'no space left on the device. In a git repository deleting frees no space (history keeps every version): ' +
  "the server's operator frees it (files outside the repository, git gc; see docs/git-backend.md)";

export function isNoSpace(err: unknown): boolean {
  if (err instanceof BackendError) return err.code === 'InsufficientStorage';
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * Group commit (docs/git-backend.md, "Writing"): one committer per branch. Requests write their blobs first, in
 * parallel, then queue an operation with its guard. The committer takes everything queued, applies it
 * in order to the branch tip's tree (each guard evaluated against the state it is applied to; a
 * failing one rejects only its own request), writes the changed trees and one commit, and moves the
 * branch with a compare-and-swap. If another writer moved the branch meanwhile, it reloads and replays.
 * A batch that changes nothing makes no commit.
 */
import type { Actor, Entry, Guard, GuardView } from '../backend.js';
import type { ObjectStore } from './objects.js';
import { RefLockedError, type Refs } from './refs.js';
import { BackendError } from '../errors.js';
import { EMPTY_TREE } from './objects.js';
import { TreeEditor } from './tree.js';
import { commitLanded } from '../util/stats.js';

/** Applies one operation to the editor; returns what the request should be answered with. */
export type Apply<R> = (editor: TreeEditor) => Promise<R>;

export interface Operation<R> {
  /** One line for the commit message, e.g. `PUT /a.txt`. */
  summary: string;
  actor?: Actor;
  guard?: Guard;
  apply: Apply<R>;
}

interface Pending {
  op: Operation<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export interface CommitterDeps {
  store: ObjectStore;
  refs: Refs;
  ref: string; // refs/heads/<branch>
  placeholder: { name: string; oid: string };
  identity: { name: string; email: string };
  defaultAuthor: { name: string; email: string };
  /** Stat inside the state being built, for guards. */
  statIn(editor: TreeEditor, path: string, time: Date): Promise<Entry | null>;
  /** Most operations in one commit (1 = a commit per request, the baseline group commit beats). */
  maxBatch?: number;
  /** Called after each commit lands, with the commit and the paths it touched. */
  onCommit?(commit: string, parent: string | null, editorBefore: string, editorAfter: string): Promise<void>;
}

const MAX_BATCH = 1000;
const MAX_REPLAYS = 50;

export class Committer {
  private readonly queue: Pending[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly deps: CommitterDeps) {}

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
        while (this.queue.length) await this.commitBatch(this.queue.splice(0, this.deps.maxBatch ?? MAX_BATCH));
      } finally {
        // Same tick as the empty-queue check: a later submit finds `running` null and kicks again.
        this.running = null;
      }
    })();
  }

  /** Resolves once everything queued so far is committed (or failed). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }


  private async commitBatch(batch: Pending[]): Promise<void> {
    const { store, refs, ref } = this.deps;
    try {
      // After a failed compare-and-swap the head is read afresh, by name: should a remembered one
      // ever go stale (refs.ts: only a ref written in place, by hand, within one timestamp tick of
      // our read could), every replay would otherwise fail.
      let fresh = false;
      for (let attempt = 0; attempt < MAX_REPLAYS; attempt++) {
        const head = await refs.read(ref, 0, fresh);
        const baseTree = head ? (await store.readCommit(head)).tree : EMPTY_TREE;
        const editor = new TreeEditor(store, baseTree, this.deps.placeholder);
        const now = new Date();
        const outcomes: Array<{ ok: true; value: unknown } | { ok: false; err: unknown }> = [];
        for (const p of batch) {
          editor.begin();
          try {
            const view: GuardView = { stat: (path) => this.deps.statIn(editor, path, now) };
            await p.op.guard?.(view);
            outcomes.push({ ok: true, value: await p.op.apply(editor) });
          } catch (err) {
            editor.rollback(); // an operation applies whole or not at all
            outcomes.push({ ok: false, err });
          }
        }
        const tree = await editor.flush();
        const done = batch.map((p, i) => ({ p, o: outcomes[i]! }));
        if (tree === baseTree) {
          for (const { p, o } of done) o.ok ? p.resolve(o.value) : p.reject(o.err);
          return;
        }
        const applied = done.filter((d) => d.o.ok);
        const commit = await store.writeCommit(
          {
            tree,
            parents: head ? [head] : [],
            author: signature(this.authorOf(applied.map((d) => d.p.op.actor)), now),
            committer: signature(this.deps.identity, now),
            message: message(applied.map((d) => d.p.op)),
          },
          { sync: false },
        );
        // Trees and commit were written without fsync; make them durable together, before the ref
        // points at them (crash order: objects → ref → response).
        await store.sync([...editor.written, commit]);
        if (await refs.compareAndSwap(ref, head, commit)) {
          commitLanded.emit({ operations: applied.length });
          await this.deps.onCommit?.(commit, head, baseTree, tree);
          for (const { p, o } of done) o.ok ? p.resolve(o.value) : p.reject(o.err);
          return;
        }
        // Another writer moved the branch: the blobs are written, so replaying is cheap.
        fresh = true;
      }
      throw new Error(`could not update ${ref} after ${MAX_REPLAYS} attempts (heavy contention)`);
    } catch (err) {
      const reason =
        err instanceof RefLockedError
          ? new BackendError('Busy', this.deps.ref, err.message, { cause: err })
          : isNoSpace(err)
            ? new BackendError('InsufficientStorage', '/', NO_SPACE, { cause: err })
            : err;
      for (const p of batch) p.reject(reason);
    }
  }

  private authorOf(actors: Array<Actor | undefined>): { name: string; email: string } {
    const users = [...new Set(actors.map((a) => a?.user).filter((u): u is string => !!u))];
    if (users.length === 1) return { name: users[0]!, email: `${users[0]}@gitdav` };
    return this.deps.defaultAuthor;
  }
}

function signature(who: { name: string; email: string }, when: Date): string {
  const clean = (s: string) => s.replace(/[<>\n\r\0]/g, '');
  return `${clean(who.name)} <${clean(who.email)}> ${Math.floor(when.getTime() / 1000)} +0000`;
}

/** `PUT /a.txt` or `12 changes` + one line each, then trailers naming users and agents. */
function message(ops: Array<Operation<unknown>>): string {
  const clean = (s: string) => s.replace(/[\r\n]+/g, ' ').slice(0, 200);
  const subject = ops.length === 1 ? clean(ops[0]!.summary) : `${ops.length} changes`;
  const body = ops.length > 1 ? ops.slice(0, 100).map((o) => `- ${clean(o.summary)}`).join('\n') + (ops.length > 100 ? `\n- … and ${ops.length - 100} more` : '') : '';
  const users = [...new Set(ops.map((o) => o.actor?.user).filter(Boolean))] as string[];
  const agents = [...new Set(ops.map((o) => o.actor?.userAgent).filter(Boolean))] as string[];
  const trailers = [...users.map((u) => `Remote-User: ${clean(u)}`), ...agents.slice(0, 5).map((a) => `User-Agent: ${clean(a)}`)];
  return [subject, body, trailers.join('\n')].filter(Boolean).join('\n\n') + '\n';
}

/** Why a commit failed on a full disk, and what helps: on git even a DELETE needs a little space and frees none. */
const NO_SPACE =
  'no space left on the device. In a git repository deleting frees no space (history keeps every version): ' +
  'the server\'s operator frees it (files outside the repository, git gc; see docs/git-backend.md)';

function isNoSpace(err: unknown): boolean {
  if (err instanceof BackendError) return err.code === 'InsufficientStorage';
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

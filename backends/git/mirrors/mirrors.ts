/**
 * Pushes a repository's served branch (and its tags) to each of its mirrors (./files.ts) after every
 * commit, behind the writes: a commit's writer never waits for a mirror, and a mirror's failure never
 * fails a write (errors go to the log and the mirror's state file).
 *
 * Per mirror:
 * - batched: one push round in flight; commits made meanwhile ride the next round (which pushes the
 *   tip, so every commit up to it at once);
 * - one process at a time: the round runs holding `mirrors/<name>.lock` (tryRun: a worker that finds it
 *   held skips). The holder re-reads the tip after each push and pushes again until the mirror has
 *   it; the skipper looks again a little later anyway (the holder may have read the tip just before the
 *   skipper's commit landed), when the state file usually says the mirror has it already;
 * - retried with exponential back-off while it fails (1 s, 2 s, … at most 5 min), the delay counted
 *   from the state file's failures and last error, so all workers back off together;
 * - fast-forward only (./git.ts): a mirror that diverged is reported (state `diverged`, a warning),
 *   never overwritten, and tried again only rarely (every 30 min, or at the next start) in case the
 *   operator mended it.
 */
import { basename, dirname } from 'node:path';
import { LockFile } from '../../util/lock-file.js';
import { lockFileOf, readMirrors, readState, writeState, type MirrorConfig, type MirrorState } from './files.js';
import { lagOf, pushTo, revParse, type PushOutcome } from './git.js';

export interface MirrorTimings {
  /** First retry after a failure (ms); doubled per failure in a row. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** How often a diverged mirror is tried again. */
  divergedRetryMs: number;
  /** How soon a worker that found another pushing looks again. */
  busyRetryMs: number;
}

export const DEFAULT_TIMINGS: MirrorTimings = { baseDelayMs: 1_000, maxDelayMs: 5 * 60_000, divergedRetryMs: 30 * 60_000, busyRetryMs: 2_000 };

/** The delay before the next try after `failures` failures in a row (0: none). */
export function retryDelay(state: Pick<MirrorState, 'failures' | 'state'>, t: MirrorTimings): number {
  if (state.state === 'diverged') return t.divergedRetryMs;
  if (state.failures <= 0) return 0;
  return Math.min(t.maxDelayMs, t.baseDelayMs * 2 ** Math.min(state.failures - 1, 30));
}

/** One mirror's replication lag, for the metrics (lib/metrics/metrics.ts). */
export interface MirrorLag {
  /** The repository's folder name (a user's name with users). */
  repository: string;
  mirror: string;
  commits: number;
  /** Since the oldest commit the mirror lacks was made (0 when it lacks none). */
  seconds: number;
}

/** The repositories open in this process, whose mirrors' lag a metrics scrape reports. */
const open = new Set<Mirrors>();

/** The lag of every mirror of every repository open in this process (git rev-list per mirror). */
export async function mirrorLags(): Promise<MirrorLag[]> {
  // One repository at a time: a scrape spawns a few git processes, not one per mirror of every user at once.
  const all: MirrorLag[] = [];
  for (const m of [...open]) all.push(...(await m.lags().catch(() => [] as MirrorLag[])));
  return all;
}

export class Mirrors {
  private readonly slots = new Map<string, MirrorSlot>();
  private closed = false;
  private listError: string | null = null;

  constructor(
    private readonly gitdir: string,
    private readonly stateDir: string,
    private readonly ref: string,
    private readonly timings: MirrorTimings = DEFAULT_TIMINGS,
  ) {
    open.add(this);
  }

  /** Each mirror's lag now (the mirrors of the list as last read). */
  async lags(): Promise<MirrorLag[]> {
    if (!this.slots.size) return [];
    const tip = await revParse(this.gitdir, this.ref);
    const repository = basename(this.gitdir) === '.git' ? basename(dirname(this.gitdir)) : basename(this.gitdir);
    const lags: MirrorLag[] = [];
    for (const [mirror, slot] of this.slots) {
      const s = await readState(this.stateDir, mirror);
      const lag = await lagOf(this.gitdir, s && s.url === slot.url ? s.pushed : null, tip);
      if (!lag) continue; // git failed: no series this scrape, rather than a lag of 0
      const seconds = lag.oldest === null ? 0 : Math.max(0, Math.round(Date.now() / 1000 - lag.oldest));
      lags.push({ repository, mirror, commits: lag.commits, seconds });
    }
    return lags;
  }

  /** After a commit (and once at open): a push round for each mirror. Returns at once and never throws. */
  afterCommit(): void {
    if (this.closed) return;
    readMirrors(this.stateDir).then(
      (list) => {
        this.listError = null;
        if (!this.closed) this.kickAll(list);
      },
      (err: unknown) => {
        const message = (err as Error).message;
        if (message !== this.listError) console.error(`git mirrors: ${message}`);
        this.listError = message;
      },
    );
  }

  private kickAll(list: MirrorConfig[]): void {
    const names = new Set(list.map((m) => m.name));
    for (const [name, slot] of this.slots) {
      if (!names.has(name)) {
        slot.stop(); // removed from the list
        this.slots.delete(name);
      }
    }
    for (const m of list) {
      let slot = this.slots.get(m.name);
      if (slot && slot.url !== m.url) {
        slot.stop();
        slot = undefined;
      }
      if (!slot) this.slots.set(m.name, (slot = new MirrorSlot(this.gitdir, this.stateDir, this.ref, m, this.timings)));
      slot.kick();
    }
  }

  /**
   * Stops the timers; a push in flight is not waited for (a shutdown, or a CLI tool that opened the
   * repository, must not wait on a slow remote): it finishes or dies on its own, and the next start
   * pushes whatever the mirror lacks (its lock file, if left, is taken over as stale).
   */
  async close(): Promise<void> {
    this.closed = true;
    open.delete(this);
    for (const s of this.slots.values()) void s.stop();
  }
}

/** One mirror's push rounds in this process. */
class MirrorSlot {
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private firstRound = true;
  /** Rounds in a row that failed other than by their push (their state could not be written, …). */
  private errors = 0;
  private readonly lock: LockFile;
  readonly url: string;

  constructor(
    private readonly gitdir: string,
    private readonly stateDir: string,
    private readonly ref: string,
    private readonly mirror: MirrorConfig,
    private readonly timings: MirrorTimings,
  ) {
    this.url = mirror.url;
    this.lock = new LockFile(lockFileOf(stateDir, mirror.name));
  }

  /** A commit landed: a round now, or after the one in flight; none while backing off (the retry pushes the tip). */
  kick(): void {
    if (this.stopped || this.timer) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.round()
      .then(() => void (this.errors = 0))
      .catch((err: unknown) => {
        // Not the push (that is in the state file) but around it: the state dir unwritable, say.
        this.errors++;
        if ((this.errors & (this.errors - 1)) === 0) console.error(`git mirror ${this.mirror.name}: ${(err as Error).message} (${this.errors} in a row)`);
        this.later(retryDelay({ failures: this.errors, state: 'failing' }, this.timings));
      })
      .finally(() => {
        this.running = null;
        if (this.again && !this.timer) {
          this.again = false;
          this.kick();
        }
      });
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return this.running ?? Promise.resolve();
  }

  private later(ms: number): void {
    if (this.stopped || this.timer) return;
    this.again = false; // the retry pushes the tip of then
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, ms);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    // Another worker's failure counts here too: wait out the back-off the state file says.
    // A diverged mirror is tried once at start regardless (the operator may have mended it meanwhile).
    const before = await readState(this.stateDir, this.mirror.name);
    const mended = this.firstRound && before?.state === 'diverged';
    this.firstRound = false;
    if (before && before.url === this.url && before.state !== 'ok' && !mended) {
      const due = Date.parse(before.lastErrorAt ?? '') + retryDelay(before, this.timings);
      if (due > Date.now()) return this.later(due - Date.now());
    }
    const done = await this.lock.tryRun(() => this.pushUntilCurrent(), { makeDir: true });
    if (!done) return this.later(this.timings.busyRetryMs); // another process pushes; look again soon
    const state = done.value;
    if (state.state === 'failing' || state.state === 'diverged') this.later(retryDelay(state, this.timings));
  }

  /** Holding the lock: pushes the tip until the mirror has the tip of after the push. */
  private async pushUntilCurrent(): Promise<MirrorState> {
    const name = this.mirror.name;
    const prev = await readState(this.stateDir, name);
    let state: MirrorState =
      prev && prev.url === this.url
        ? prev
        : { url: this.url, ref: this.ref, pushed: null, pushedAt: null, lastError: null, lastErrorAt: null, failures: 0, state: 'lagging' };
    for (;;) {
      if (this.stopped) return state;
      const tip = await revParse(this.gitdir, this.ref);
      if (!tip || (tip === state.pushed && state.state === 'ok')) return state;
      const outcome: PushOutcome = await pushTo(this.gitdir, this.url, tip, this.ref);
      const now = new Date().toISOString();
      if (outcome.kind === 'pushed') {
        if (state.failures > 0 || state.state === 'diverged') console.error(`git mirror ${name}: pushed again after ${state.failures} failed attempts`);
        if (outcome.tagWarning && outcome.tagWarning !== state.lastError) console.warn(`git mirror ${name}: the branch is pushed, but some tags were not (the mirror holds them with other values): ${outcome.tagWarning}`);
        state = { ...state, ref: this.ref, pushed: tip, pushedAt: now, failures: 0, state: 'ok', lastError: outcome.tagWarning ?? state.lastError };
        await writeState(this.stateDir, name, state);
        continue; // commits made during the push: pushed now, not at the next commit
      }
      const failures = state.failures + 1;
      if (outcome.kind === 'diverged') {
        if (state.state !== 'diverged') console.warn(`git mirror ${name}: DIVERGED (it holds commits this repository does not); not overwritten, see docs/operations.md "Mirrors": ${outcome.message}`);
      } else if ((failures & (failures - 1)) === 0) {
        console.error(`git mirror ${name}: push failed (${failures} in a row, retrying): ${outcome.message}`);
      }
      state = { ...state, ref: this.ref, lastError: outcome.message, lastErrorAt: now, failures, state: outcome.kind === 'diverged' ? 'diverged' : 'failing' };
      await writeState(this.stateDir, name, state);
      return state;
    }
  }
}

/**
 * What one tree's UID index holds (the logic that fills and checks it: ../uid-index.ts). Calendars
 * are named by their path in the tree that stores them, and members by their path below the calendar
 * (`/event.ics`), so the owner of a calendar and a user it is shared with (who see it at different
 * paths) check UIDs against one index and one set of reservations.
 *
 * Across processes (a supervisor's workers), a UID is decided under its lock file
 * (`<stateDir>/caldav-uids/<hash of calendar>-<hash of UID>.lock`, backends/util/lock-file.ts), held
 * from the check to the end of the write; PUTs of other UIDs do not wait for it. Which of a calendar's
 * UIDs are being written now, by any process, is the list of its lock files (`writesInFlight`).
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Lru } from '../../../backends/util/lru.js';
import { heldByLive, LockFile } from '../../../backends/util/lock-file.js';
import { journalFile, type JournalPos } from './uid-journal.js';
import type { SyncState } from '../../../backends/capabilities.js';

/** One calendar's UIDs. */
export interface CalendarUids {
  /** The calendar's ETag (or, in delta mode, its sync token) the index is exact for. */
  at: string;
  /** UID → member, as stored. */
  byUid: Map<string, string>;
  /** Delta mode, where the backend has `changesSinceState`: the opaque state the index is exact for (then `at` is ''). */
  state?: SyncState;
  /** Member → UID (for deltas, which name members). */
  byPath: Map<string, string>;
  /** Folder backend: how far the calendar's UID journal (./uid-journal.ts) has been read into this index. */
  journal?: JournalPos;
  /**
   * Trusted while the calendar's ETag was not the one after the last line, because other UIDs' writes
   * were in flight: only a rebuild clears it (a later line's ETag does not prove that nothing else,
   * a DELETE say, changed the calendar meanwhile).
   */
  unverified?: boolean;
}

/** PUTs in flight into one calendar, kept apart from the index so that a rebuild cannot forget them. */
export interface InFlight {
  /** UID → the member being written with it. */
  pending: Map<string, string>;
  count: number;
}

export class UidTable {
  /** PUTs in flight per calendar (a reservation lasts one request: never evicted, always released). */
  readonly inFlight = new Map<string, InFlight>();
  /**
   * Per calendar, the tail of this process's catch-ups of its index, one at a time: kept here, not on
   * the index, which a rebuild replaces (waiters on the old and the new object would run at once).
   */
  private readonly chains = new Map<string, Promise<unknown>>();
  /** The UID lock files this process holds or waits for, shared so its own PUTs queue in memory. */
  private readonly locks = new Map<string, { file: LockFile; users: number }>();

  /**
   * @param shared the calendars' indexes of every tree, bounded in number together (states.ts)
   * @param scope this tree's part of it (its state dir)
   */
  constructor(
    private readonly shared: Lru<CalendarUids>,
    private readonly scope: string,
  ) {}

  get(calendar: string): CalendarUids | undefined {
    return this.shared.get(`${this.scope}\0${calendar}`);
  }

  /** Keeps `index` as the calendar's (PUTs in flight against an older one see it replaced and leave this one alone). */
  remember(calendar: string, index: CalendarUids): CalendarUids {
    this.shared.set(`${this.scope}\0${calendar}`, index);
    return index;
  }

  /** Runs `fn` after every earlier one of this calendar has ended (whether or not it failed). */
  serial<T>(calendar: string, fn: () => Promise<T>): Promise<T> {
    const before = this.chains.get(calendar) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(calendar, tail);
    void tail.then(() => {
      if (this.chains.get(calendar) === tail) this.chains.delete(calendar);
    });
    return run;
  }

  /** Holds the lock of `uid` in `calendar` across processes; resolves to its release. */
  async holdUid(calendar: string, uid: string): Promise<() => void> {
    const name = uidLockName(calendar, uid);
    let slot = this.locks.get(name);
    // A killed process's file taken over: its write may have landed without its journal line, so
    // every process (the journal gone) and this one (the index forgotten) rebuild from the calendar.
    const onTakeOver = () => {
      rmSync(journalFile(this.scope, calendar), { force: true });
      this.shared.delete(`${this.scope}\0${calendar}`);
    };
    if (!slot) this.locks.set(name, (slot = { file: new LockFile(join(this.scope, 'caldav-uids', `${name}.lock`), { onTakeOver }), users: 0 }));
    slot.users++;
    const done = () => {
      if (--slot.users === 0 && this.locks.get(name) === slot) this.locks.delete(name);
    };
    let release!: () => void;
    const held = new Promise<void>((resolve, reject) => {
      slot.file
        .run(() => {
          resolve();
          return new Promise<void>((r) => (release = r));
        }, { makeDir: true })
        .catch(reject)
        .finally(done);
    });
    await held;
    return () => release();
  }
}

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

/** A UID's lock file name (without `.lock`): the calendar's hash first, so a calendar's are listed together. */
function uidLockName(calendar: string, uid: string): string {
  return `${sha1(calendar)}-${sha1(uid)}`;
}

/**
 * Whether a process (this one included) is writing an object with another UID than `uid` into the
 * calendar now: its UID's lock file is there, held by a process that may still run (a killed
 * process's leftover is no write in flight: what it stored may have no journal line).
 */
export async function writesInFlight(stateDir: string, calendar: string, uid: string): Promise<boolean> {
  const prefix = `${sha1(calendar)}-`;
  const own = `${uidLockName(calendar, uid)}.lock`;
  const dir = join(stateDir, 'caldav-uids');
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const n of names) {
    if (n.startsWith(prefix) && n.endsWith('.lock') && n !== own && (await heldByLive(join(dir, n)))) return true;
  }
  return false;
}

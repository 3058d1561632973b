/**
 * Where a lock table lives on disk: one small JSON file per lock in `STATE/locks/`, named by a hash
 * of its token. A change writes (temp file, fsync, rename, directory fsync) or removes (unlink,
 * directory fsync) that one lock's file (backends/util/durable-file.ts), so its cost does not grow with
 * the table (a whole-table snapshot per change made 200 large locks cost 2.4 s each). Each file is
 * complete or absent after a crash.
 *
 * Several processes share one table: every change is made under `locks/table.lock` (created
 * exclusively; a dead holder's is taken over: backends/util/lock-file.ts) and announced in
 * `locks/journal` (./lock-journal.ts), which each process reads before it answers from its copy.
 */
import { createHash } from 'node:crypto';
import { promises as fsp, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isTempName, readTextIfExists, removeFileDurably, writeFileDurably } from '../../../backends/util/durable-file.js';
import { LockFile } from '../../../backends/util/lock-file.js';
import type { Lock } from './lock.js';
import { LockJournal } from './lock-journal.js';

const DIR = 'locks';
/** The table as earlier versions kept it: read once, split into files, then removed. */
const LEGACY_FILE = 'locks.json';
/** A temp file older than this is a crash's leftover, not a write in progress. */
const STALE_TEMP_MS = 10 * 60_000;

/** What other processes changed: the whole table anew, or some locks (null: removed). */
export type LockNews = { all: Lock[] } | { changed: Array<{ token: string; lock: Lock | null }> };

export class LockStore {
  /** What this store has written, for tests and diagnostics. */
  readonly stats = { filesWritten: 0, bytesWritten: 0 };
  private readonly journal: LockJournal;
  private readonly table: LockFile;
  /** File name → token, of the locks this store knows: how a removal in the journal names its lock. */
  private readonly tokens = new Map<string, string>();
  /** Set when a dead process's table lock was taken over: reload everything, and tell the others to. */
  private orphaned = false;
  private announceAll = false;
  /** A catch-up failed after the journal was read past it: read every lock file at the next one. */
  private unread = false;

  private constructor(readonly dir: string) {
    this.journal = new LockJournal(join(dir, 'journal'));
    this.table = new LockFile(join(dir, 'table.lock'), { onTakeOver: () => (this.orphaned = true) });
  }

  /** Opens the folder and returns its locks; a legacy locks.json is taken over first. */
  static async open(stateDir: string): Promise<{ store: LockStore; locks: Lock[] }> {
    const store = new LockStore(join(stateDir, DIR));
    store.journal.news(true); // from here on, every change is in the journal or in what is read below
    await store.adoptLegacy(join(stateDir, LEGACY_FILE));
    const locks: Lock[] = [];
    // Nothing is written at start (a full disk must not keep the server from starting): the folder
    // is made by the first lock.
    let names: string[];
    try {
      names = await fsp.readdir(store.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      names = [];
    }
    for (const name of names) {
      const file = join(store.dir, name);
      if (isTempName(name)) {
        await removeIfStale(file);
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const text = await readTextIfExists(file);
      if (text !== null) locks.push(store.known(parseLock(text, file)));
    }
    return { store, locks };
  }

  /**
   * What other processes changed since the last call (null: nothing), read synchronously so that the
   * table's readers stay synchronous: one fstat when nothing changed, the named files when some did.
   */
  news(force = false): LockNews | null {
    let news = this.journal.news(force);
    if (this.orphaned || this.unread) news = { kind: 'all' };
    if (news.kind === 'none') return null;
    try {
      if (news.kind === 'all') {
        const all = this.readAll();
        if (this.orphaned) this.announceAll = true;
        this.orphaned = this.unread = false;
        return { all };
      }
      return { changed: this.readNamed(news.names) };
    } catch (err) {
      // The journal is read past these lines already: a failed read (EMFILE, EIO, a bad file) must
      // not leave this process on a stale table for good, so the next call reads every file again.
      this.unread = true;
      throw err;
    }
  }

  private readNamed(names: Iterable<string>): Array<{ token: string; lock: Lock | null }> {
    const changed: Array<{ token: string; lock: Lock | null }> = [];
    for (const name of names) {
      const file = join(this.dir, `${name}.json`);
      let text: string | null = null;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (text !== null) {
        const lock = this.known(parseLock(text, file));
        changed.push({ token: lock.token, lock });
      } else {
        const token = this.tokens.get(name);
        this.tokens.delete(name);
        if (token !== undefined) changed.push({ token, lock: null });
      }
    }
    return changed;
  }

  /**
   * Runs `fn` holding the table lock, with the journal read first by the caller (news(true)).
   * `makeDir`: make the locks folder if missing (a lock is about to be written).
   */
  exclusive<T>(fn: () => Promise<T>, makeDir = false): Promise<T> {
    return this.table.run(async () => {
      try {
        return await fn();
      } finally {
        // The dead holder may have changed a file without its line: everyone reloads (this process did).
        if (this.announceAll) this.journal.append('all');
        this.announceAll = false;
      }
    }, { makeDir });
  }

  /** Writes one lock's file whole (create or refresh), durably, then announces it. Under exclusive(). */
  async put(lock: Lock): Promise<void> {
    const text = JSON.stringify(lock);
    const name = this.nameOf(lock.token);
    await writeFileDurably(join(this.dir, `${name}.json`), text, { durability: 'fsync' }); // a client holds its token
    this.tokens.set(name, lock.token);
    this.stats.filesWritten++;
    this.stats.bytesWritten += Buffer.byteLength(text);
    this.journal.append([name]);
  }

  /** Removes one lock's file durably, then announces it; a file already gone is fine, any other failure is thrown (the file stays). */
  async delete(token: string): Promise<void> {
    const name = this.nameOf(token);
    await removeFileDurably(join(this.dir, `${name}.json`));
    this.tokens.delete(name);
    this.journal.append([name]);
  }

  close(): void {
    this.journal.close();
  }

  private nameOf(token: string): string {
    return createHash('sha256').update(token).digest('hex').slice(0, 32);
  }

  private known(lock: Lock): Lock {
    this.tokens.set(this.nameOf(lock.token), lock.token);
    return lock;
  }

  /** Every lock file, read synchronously (rare: a new journal, or a dead holder's table lock taken over). */
  private readAll(): Lock[] {
    this.tokens.clear();
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      names = [];
    }
    const locks: Lock[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const file = join(this.dir, name);
      try {
        locks.push(this.known(parseLock(readFileSync(file, 'utf8'), file)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return locks;
  }

  private async adoptLegacy(file: string): Promise<void> {
    const text = await readTextIfExists(file);
    if (text === null) return;
    let saved: unknown;
    try {
      saved = JSON.parse(text);
    } catch (err) {
      throw new Error(`the lock table ${file} is corrupt (${(err as Error).message}): repair or remove it`);
    }
    if (!Array.isArray(saved)) throw new Error(`the lock table ${file} is not a list of locks: repair or remove it`);
    await this.exclusive(async () => {
      this.journal.news(true);
      for (const l of saved as Lock[]) await this.put(l);
      await removeFileDurably(file); // only once every lock is in its own file (each put is durable)
    }, true);
  }
}

function parseLock(text: string, file: string): Lock {
  try {
    const lock = JSON.parse(text) as Lock;
    if (typeof lock?.token !== 'string' || typeof lock.root !== 'string') throw new Error('not a lock');
    if (lock.created !== undefined && (typeof lock.created !== 'number' || !Number.isFinite(lock.created))) throw new Error('its creation time is not a number');
    return lock;
  } catch (err) {
    // Never silently forget a lock a client holds: the operator decides (the file names one lock).
    throw new Error(`the lock file ${file} is corrupt (${(err as Error).message}): repair or remove it`);
  }
}

async function removeIfStale(file: string): Promise<void> {
  try {
    const st = await fsp.stat(file);
    if (Date.now() - st.mtimeMs > STALE_TEMP_MS) await fsp.rm(file, { force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

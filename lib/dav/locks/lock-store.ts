/**
 * Where a lock table lives on disk: one small JSON file per lock in `STATE/locks/`, named by a hash
 * of its token. A change writes (temp file, fsync, rename, directory fsync) or removes (unlink,
 * directory fsync) that one lock's file (backends/util/durable-file.ts), so its cost does not grow with
 * the table (a whole-table snapshot per change made 200 large locks cost 2.4 s each). Each file is
 * complete or absent after a crash, and a file per lock is a layout that several processes could
 * later share (each lock its own file, created under a fresh name) without a table-wide rewrite to
 * coordinate.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { isTempName, readTextIfExists, removeFileDurably, writeFileDurably } from '../../../backends/util/durable-file.js';
import type { Lock } from './lock.js';

const DIR = 'locks';
/** The table as earlier versions kept it: read once, split into files, then removed. */
const LEGACY_FILE = 'locks.json';
/** A temp file older than this is a crash's leftover, not a write in progress. */
const STALE_TEMP_MS = 10 * 60_000;

export class LockStore {
  /** What this store has written, for tests and diagnostics. */
  readonly stats = { filesWritten: 0, bytesWritten: 0 };
  /** Per token, the last write or removal: a later one never lands before an earlier one. */
  private readonly pending = new Map<string, Promise<void>>();

  private constructor(readonly dir: string) {}

  /** Opens (creating) the folder and returns its locks; a legacy locks.json is taken over first. */
  static async open(stateDir: string): Promise<{ store: LockStore; locks: Lock[] }> {
    const store = new LockStore(join(stateDir, DIR));
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
      if (text !== null) locks.push(parseLock(text, file));
    }
    return { store, locks };
  }

  /** Writes one lock's file whole (create or refresh), durably: when this resolves the lock survives a crash. */
  put(lock: Lock): Promise<void> {
    const text = JSON.stringify(lock);
    return this.chain(lock.token, async () => {
      await writeFileDurably(this.fileOf(lock.token), text, { durability: 'fsync' }); // a client holds its token
      this.stats.filesWritten++;
      this.stats.bytesWritten += Buffer.byteLength(text);
    });
  }

  /** Removes one lock's file durably; a file already gone is fine, any other failure is thrown (the file stays). */
  delete(token: string): Promise<void> {
    return this.chain(token, async () => {
      await removeFileDurably(this.fileOf(token));
    });
  }

  private fileOf(token: string): string {
    return join(this.dir, `${createHash('sha256').update(token).digest('hex').slice(0, 32)}.json`);
  }

  private chain(token: string, step: () => Promise<void>): Promise<void> {
    const next = (this.pending.get(token) ?? Promise.resolve()).catch(() => undefined).then(step);
    this.pending.set(token, next);
    const forget = () => {
      if (this.pending.get(token) === next) this.pending.delete(token);
    };
    next.then(forget, forget);
    return next;
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
    for (const l of saved as Lock[]) await this.put(l);
    await removeFileDurably(file); // only once every lock is in its own file (each put is durable)
  }
}

function parseLock(text: string, file: string): Lock {
  try {
    const lock = JSON.parse(text) as Lock;
    if (typeof lock?.token !== 'string' || typeof lock.root !== 'string') throw new Error('not a lock');
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

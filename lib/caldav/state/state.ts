/**
 * One tree's CalDAV state: its calendar objects parsed (by ETag), the persisted object index, and the
 * UID index with the reservations of PUTs in flight. Made by the server's registry (states.ts) on
 * first use and closed by it; closing saves the object index.
 */
import { join } from 'node:path';
import type { Lru } from '../../../backends/util/lru.js';
import type { CalendarObject } from '../ical/index.js';
import { ObjectCache, type CachedObject } from './object-cache.js';
import { INDEX_FILE, ObjectIndex } from './object-index.js';
import { UidTable, type CalendarUids } from './uid-table.js';

/** null: the stored bytes are not a calendar object (put there over plain WebDAV): skipped by queries. */
export type StoredObject = CalendarObject | null;

/** The bounds shared by every tree of a server (states.ts). */
export interface SharedMemory {
  objects: Lru<CachedObject<StoredObject>>;
  calendars: Lru<CalendarUids>;
}

export class CalDavState {
  readonly objects: ObjectCache<StoredObject>;
  readonly index: ObjectIndex;
  readonly uids: UidTable;

  constructor(
    /** The tree's state dir: where the object index is kept, and the tree's name among the others. */
    readonly stateDir: string,
    shared: SharedMemory,
  ) {
    this.objects = new ObjectCache(shared.objects, stateDir);
    this.index = new ObjectIndex(join(stateDir, INDEX_FILE));
    this.uids = new UidTable(shared.calendars, stateDir);
  }

  /**
   * Saves the object index. A save that fails is not an error of the shutdown: the index only saves
   * parsing, and what it lacks the next queries rebuild (as when a timed save fails).
   */
  async close(): Promise<void> {
    await this.index.close().catch(() => undefined);
  }
}

/**
 * What one tree's UID index holds (the logic that fills and checks it: ../uid-index.ts). Calendars
 * are named by their path in the tree that stores them, and members by their path below the calendar
 * (`/event.ics`), so the owner of a calendar and a user it is shared with (who see it at different
 * paths) check UIDs against one index and one set of reservations.
 */
import type { Lru } from '../../../backends/util/lru.js';

/** One calendar's UIDs. */
export interface CalendarUids {
  /** The calendar's ETag (or, in delta mode, its sync token) the index is exact for. */
  at: string;
  /** UID → member, as stored. */
  byUid: Map<string, string>;
  /** Member → UID (for deltas, which name members). */
  byPath: Map<string, string>;
  /** Delta mode: the catch-up in progress, which concurrent PUTs share. */
  refreshing?: Promise<void>;
}

/** PUTs in flight into one calendar, kept apart from the index so that a rebuild cannot forget them. */
export interface InFlight {
  /** UID → the member being written with it. */
  pending: Map<string, string>;
  count: number;
}

/** Members this server stored into a calendar while an index of it was being built: replayed into it. */
export type BuildLog = Array<[member: string, uid: string]>;

export class UidTable {
  /** PUTs in flight per calendar (a reservation lasts one request: never evicted, always released). */
  readonly inFlight = new Map<string, InFlight>();
  /** Build logs per calendar, while a build runs. */
  readonly building = new Map<string, Set<BuildLog>>();

  /**
   * @param shared the calendars' indexes of every tree, bounded in number together (states.ts)
   * @param scope this tree's part of it
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
}

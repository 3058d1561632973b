/**
 * CalDAV's state, one per stored tree (state.ts), in a registry the server makes and closes: one for
 * the single-user server (lib/server.ts), one per Tenants for many users (lib/tenants.ts), handed to
 * each mount's installCalDav, which makes a private one only for a Dav made on its own (tests).
 *
 * State belongs to the tree where the calendars are stored, not to a request or a user's view of
 * them: the owner's mount, an anonymous reader's mount of the same tree, and a grantee writing into
 * the owner's shared calendar all reach the same state through `stateOf` (home.ts says where a path
 * is stored). Memory is bounded for the whole server, as one cache would be: the trees' parsed
 * objects share one byte bound and their calendars' UID indexes one count.
 */
import { Lru } from '../../../backends/util/lru.js';
import type { Backend } from '../../../backends/backend.js';
import { DEFAULT_OBJECT_CACHE_BYTES, objectMemory } from './object-cache.js';
import { homeOf } from './home.js';
import { CalDavState, type SharedMemory, type StoredObject } from './state.js';
import type { CalendarUids } from './uid-table.js';
import { DEFAULT_MATCH_CACHE_BYTES, MatchCache } from './match-cache.js';
import { CalendarMembers, DEFAULT_MEMBER_CACHE_BYTES } from './calendar-members.js';
import { DEFAULT_RESPONSE_CACHE_BYTES, ResponseCache } from './response-cache.js';

export interface CalDavStateLimits {
  /** Parsed calendar objects kept, by an estimate of their bytes, for all trees together. */
  objectCacheBytes: number;
  /** Calendar-query verdicts kept (match-cache.ts), by bytes, for all trees together. */
  matchCacheBytes: number;
  /** Calendars' members kept current through sync (calendar-members.ts), by bytes, for all trees together. */
  memberCacheBytes: number;
  /** Calendars whose UID index is kept, for all trees together. */
  uidCalendars: number;
  /** Query and multiget responses kept as bytes (response-cache.ts), by bytes, for all trees together. */
  responseCacheBytes: number;
}

export const DEFAULT_STATE_LIMITS: CalDavStateLimits = { objectCacheBytes: DEFAULT_OBJECT_CACHE_BYTES, matchCacheBytes: DEFAULT_MATCH_CACHE_BYTES, memberCacheBytes: DEFAULT_MEMBER_CACHE_BYTES, uidCalendars: 1000, responseCacheBytes: DEFAULT_RESPONSE_CACHE_BYTES };

export class CalDavStates {
  private readonly trees = new Map<string, CalDavState>();
  private readonly shared: SharedMemory;
  /** calendar-query verdicts by (tree, ETag, query), for all trees (keys hold the tree's state dir). */
  readonly matches: MatchCache;
  /** Calendars' members and their interval indexes, by (tree, user, path). */
  readonly members: CalendarMembers;
  /** Whole responses of plain query and multiget answers, by (tree, ETag, href, properties). */
  readonly responses: ResponseCache;

  constructor(limits: Partial<CalDavStateLimits> = {}) {
    const l = { ...DEFAULT_STATE_LIMITS, ...limits };
    this.shared = { objects: objectMemory<StoredObject>(l.objectCacheBytes), calendars: new Lru<CalendarUids>(l.uidCalendars) };
    this.matches = new MatchCache(l.matchCacheBytes);
    this.members = new CalendarMembers(l.memberCacheBytes);
    this.responses = new ResponseCache(l.responseCacheBytes);
  }

  /** The state of the tree with this state dir, opened on first use. */
  stateFor(stateDir: string): CalDavState {
    let state = this.trees.get(stateDir);
    if (!state) this.trees.set(stateDir, (state = new CalDavState(stateDir, this.shared)));
    return state;
  }

  /** The state of the tree that stores `path` (as `backend` sees it), and the path in that tree. */
  stateOf(backend: Backend, path: string): { state: CalDavState; path: string } {
    const home = homeOf(backend, path);
    return { state: this.stateFor(home.stateDir), path: home.path };
  }

  /** Closes every tree's state (saving its object index). A tree used after this opens afresh. */
  async close(): Promise<void> {
    const open = [...this.trees.values()];
    this.trees.clear();
    await Promise.all([...open.map((s) => s.close()), this.members.close().catch(() => undefined)]);
  }
}

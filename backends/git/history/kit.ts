/**
 * What history's areas (./history.ts, ./by-date.ts, ./versions.ts, ./deleted.ts) share: the shapes
 * of located paths and folder members, and the names, dates and sort keys every area builds.
 */
import type { Entry } from '../../backend.js';
import type { PathIndex, CommitMeta } from '../path-index.js';
import type { TreeEditor } from '../tree.js';

/**
 * How many members a history folder lists at most (as the DAV layer's maxInfinityResources, which
 * backends/ may not import): what a WebDAV client, which cannot page, sees of a long folder.
 */
export const LIST_CAP = 10_000;
/** Rows per page when a history folder is listed as HTML. */
export const HISTORY_PAGE_ROWS = 250;

/** A member of a virtual folder; `entry` when the folder already knows it (saves a lookup per child). */
export interface Child {
  name: string;
  kind: 'file' | 'collection';
  entry?: () => Promise<Entry>;
  /** A virtual folder's date (its own commit's, or its newest commit's); else the parent's. */
  time?: Date;
  /** Orders HTML rows (Entry.sortKey); the order of the list is the PROPFIND order. */
  sortKey?: string;
  /** A path the live tree no longer holds: when it was deleted. */
  deleted?: Date;
  /** Its ETag's version (what its own stat answers); default: the branch tip's id. */
  version?: string;
  /** Default: the listing folder's. */
  immutable?: boolean;
}

/**
 * What a COPY out of a virtual folder places (history.ts restoredFolder): `paths` (relative to
 * `root`) of commit `from`'s tree gathered in a folder, or with `paths` null the folder at `root`
 * whole; or, where no folder can stand for it, the history path whose COPY restores (a 409 names it).
 */
export type Restore = { from: CommitMeta; root: string; paths: string[] | null } | { instead: string };

/** What a history path names. */
export type Located =
  | { kind: 'folder'; path: string; time: Date; version: string; children: () => Promise<Child[]>; immutable: boolean; deleted?: Date; restore?: Restore }
  | { kind: 'snapshot'; path: string; commit: CommitMeta; editor: TreeEditor; inner: string; immutable: boolean }
  | { kind: 'version'; path: string; commit: CommitMeta; oid: string; livePath: string };

export interface FolderOptions {
  immutable?: boolean;
  /** Default: the branch tip's time. */
  time?: Date;
  /**
   * What its ETag is made of: an id that changes whenever its listing does (never a time: a burst
   * makes several commits a second). Default: the branch tip's commit id.
   */
  version?: string;
  deleted?: Date;
  restore?: Restore;
}

/** What an area needs to answer for one path. */
export interface AreaKit {
  path: string;
  index: PathIndex;
  cap: number;
  folder(children: () => Promise<Child[]>, options?: FolderOptions): Located;
  snapshot(commit: CommitMeta, inner: string[], immutable: boolean): Located;
}

/** A commit's time as a Date. */
export function dateOf(c: CommitMeta): Date {
  return new Date(c.time * 1000);
}

/** `YYYYMMDDTHHMMSSZ` in UTC: sortable, and free of `:`. */
export function stamp(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** `YYYY-MM-DDTHHMMSSZ-<short sha>`: a commit named by when and which (versions/, deleted/). */
export function datedName(c: CommitMeta): string {
  return `${stamp(c.time).replace(/^(\d{4})(\d{2})(\d{2})T/, '$1-$2-$3T')}-${c.oid.slice(0, 7)}`;
}

/**
 * A sort key that lists the commit at `index` (in the index's order) before every older one: keys
 * never change as commits are added, so an HTML page's cursor stays where it was.
 */
export function newestFirst(index: number): string {
  return String(1e12 - index).padStart(13, '0');
}

/** A sort key listing larger numbers (years, months, days, hours, times) first. */
export function largestFirst(digits: string): string {
  return String(10 ** digits.length - 1 - Number(digits)).padStart(digits.length, '0');
}

/** The ETag of a folder whose listing a commit fixes (it and its first-parent ancestors). */
export function commitTag(oid: string): string {
  return `"h${oid}"`;
}

/** The ETag of a commit's root folder: its tree's id, as a snapshot's folders have. */
export function treeTag(oid: string): string {
  return `"${oid}"`;
}

/** A commit's root folder as a member of a listing, as its own stat answers it (a snapshot: immutable). */
export function commitRoot(c: CommitMeta, name: string, sortKey: string): Child {
  return { name, kind: 'collection', time: dateOf(c), sortKey, version: treeTag(c.tree), immutable: true };
}

/** A folder history makes up; `version` (a commit or tree id) is its ETag's, `"` included. */
export function virtualFolder(path: string, time: Date, immutable: boolean, version: string): Entry {
  return { path, kind: 'collection', size: 0, etag: version, modified: time, immutable, finiteDepth: true, pageRows: HISTORY_PAGE_ROWS };
}

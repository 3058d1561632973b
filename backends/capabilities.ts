/**
 * What some backends can do beyond the contract of `./backend.ts`, each a small interface with a type
 * guard, the way sabre/dav asks a node `instanceof IMoveTarget` / `ISyncCollection`: a backend says in
 * its `implements` clause which of these it has, and a caller asks the guard before it uses one. The
 * contract itself (`Backend`) keeps only what every backend does.
 *
 * - `SyncCapable`: RFC 6578 sync (a change set since a token, the current token). fs and git.
 * - `Versioned`: files have versions in history (RFC 3253 properties). A git repository as served
 *   (backends/git/repository.ts: the live tree with its history mounted), and the mount view.
 * - `QuotaAware`: knows the space used and free (RFC 4331). fs.
 * - `CopyTarget`: takes a COPY from another backend better than resource by resource. git's live tree.
 * - `ReadOpener`: opens a GET's or HEAD's target once, for its entry and its body. fs, and the mount view.
 * - `HistoryLog`: a path's commits, one commit's changes, blobs by id, for the history pages. A git
 *   repository as served, and the mount view (for the user's own tree).
 * - `ShareAware`: a view of several users' trees (backends/mount/): says per path which tree a
 *   resource is really stored in, whose it is and what its user was granted. Only the view has it; a
 *   plain backend is all the user's own.
 *
 * Guards test for the methods, not for a class, so a view (which forwards all of them) and a test's
 * stand-in pass as well as the real backends.
 */
import type { Readable } from 'node:stream';
import type { Backend, ByteRange, ChangeSet, CopyOptions, Entry, Quota, VersionInfo, WriteResult } from './backend.js';

export interface SyncCapable {
  /**
   * Changes among a collection's members since a token (undefined: every member, as added); at most
   * `limit` of them. Throws InvalidSyncToken for a token it does not know.
   */
  changes(path: string, since: string | undefined, limit?: number): Promise<ChangeSet>;
  /** The current sync token of a collection (DAV:sync-token). */
  syncToken(path: string): Promise<string>;
  /**
   * `changes()` costs O(change) and stores nothing (git: a token is a tree id), so callers may ask it
   * on every request; otherwise it may list the collection and save a snapshot per call.
   */
  readonly cheapChanges: boolean;
  /**
   * `changes()` for a process's own catch-up (the UID index): since a state this method returned
   * (undefined: every member, as added), with the state the changes reach, an opaque object kept in
   * memory. Nothing is signed or stored for it (git: no delta blob per call). Exact as a token is;
   * throws InvalidSyncToken when the state is gone. Optional: git has it, fs does not.
   */
  changesSinceState?(path: string, since: SyncState | undefined): Promise<StateChanges>;
}

/** A collection's state as `changesSinceState` names it: opaque, in this process's memory only. */
export type SyncState = object;

export interface StateChanges {
  changed: Entry[];
  removed: string[];
  state: SyncState;
}

/**
 * `changesSinceState` where the backend has it, else `changes()` with the token kept as the state
 * (a view whose collection is on a backend without it).
 */
export async function changesSinceStateOf(backend: SyncCapable, path: string, since: SyncState | undefined): Promise<StateChanges> {
  if (backend.changesSinceState) return backend.changesSinceState(path, since);
  const set = await backend.changes(path, (since as { token?: string } | undefined)?.token);
  return { changed: set.changed, removed: set.removed, state: { token: set.token } };
}

export function isSyncCapable(backend: Backend): backend is Backend & SyncCapable {
  const b = backend as Partial<SyncCapable>;
  return typeof b.changes === 'function' && typeof b.syncToken === 'function';
}

export interface Versioned {
  /** The current version of a file in history (null: none, e.g. a path outside the live tree). */
  versionOf(path: string): Promise<VersionInfo | null>;
}

export function isVersioned(backend: Backend): backend is Backend & Versioned {
  return typeof (backend as Partial<Versioned>).versionOf === 'function';
}

export interface QuotaAware {
  /** Space used and available under a path; null where it is not known there. */
  quota(path: string): Promise<Quota | null>;
}

export function isQuotaAware(backend: Backend): backend is Backend & QuotaAware {
  return typeof (backend as Partial<QuotaAware>).quota === 'function';
}

/** Where a resource is really stored: the owning tree's state dir and its path there. */
export interface Location {
  stateDir: string;
  path: string;
}

export interface ShareAware {
  /**
   * Where a resource is really stored, for identities that must not depend on who asks (one
   * calendar's UIDs, whether its owner or a grantee writes into it).
   */
  locate(path: string): Location;
  /**
   * For another user's resource shared with this one: what was granted (`read`: writes there get
   * 403); null for this user's own.
   */
  shareAccess(path: string): 'read' | 'write' | null;
  /** The user another user's resource (a share) belongs to; undefined where it is this user's own. */
  ownerOf(path: string): string | undefined;
}

export function isShareAware(backend: Backend): backend is Backend & ShareAware {
  const b = backend as Partial<ShareAware>;
  return typeof b.locate === 'function' && typeof b.shareAccess === 'function' && typeof b.ownerOf === 'function';
}

/** Where a resource is stored: the view's answer, or, for a plain backend, here at `path`. */
export function locate(backend: Backend, path: string): Location {
  return isShareAware(backend) ? backend.locate(path) : { stateDir: backend.stateDir, path };
}

/**
 * A backend that can take a COPY from another backend better than resource by resource (git: a restore
 * from its own history reuses objects by id, with their properties, in one commit), as sabre/dav's
 * ICopyTarget. A view asks it first for a COPY between two of its backends; null means not from that
 * source (the view then copies across, ./cross-copy.ts).
 */
export interface CopyTarget {
  copyFrom(source: Backend, from: string, to: string, options: CopyOptions): Promise<WriteResult | null>;
}

export function isCopyTarget(backend: Backend): backend is Backend & CopyTarget {
  return typeof (backend as Partial<CopyTarget>).copyFrom === 'function';
}

/**
 * A backend that can say, cheaply, when what it reports about a collection's members may have
 * changed (lib/dav/listing-cache.ts replays a Depth-1 PROPFIND's member responses by it).
 */
export interface ListingVersioned {
  /**
   * A string that changes whenever anything this backend would report about the members of the
   * collection at `path` changes: which members there are, their sizes, ETags, dates (including dates
   * taken from history), dead and volatile properties. Never the same string for two different
   * answers. null: no such key here (don't cache). `maxMembers`: a backend for which a version costs
   * a pass over the members (folders) may answer null for a collection with more.
   */
  listingVersion(path: string, options?: { maxMembers?: number }): Promise<string | null>;
  /**
   * Where a version costs a pass over the members (folders): the members and the version of that
   * one pass, so that a caller keeping the members by version reads them once. null: as above.
   */
  listVersioned?(path: string, options?: { maxMembers?: number }): Promise<{ entries: Entry[]; version: string } | null>;
}

export function isListingVersioned(backend: Backend): backend is Backend & ListingVersioned {
  return typeof (backend as Partial<ListingVersioned>).listingVersion === 'function';
}

/**
 * A GET's or HEAD's target opened once: the entry the method answers with (conditions, headers) and
 * the bytes of that very file, so the path is resolved and checked once and a plain or single-range
 * body (`body()`) cannot come from another file than the ETag and Content-Length describe. The
 * parts of a multipart/byteranges body and a Repr-Digest are read with `backend.read(path, range,
 * entry)`: git reads the blob the entry's ETag names, so they are that version's bytes too; the
 * folder backend ignores the entry and reads by name, so a file replaced meanwhile can show there.
 * A backend without `openRead` gets `readByName`, which is `backend.read` with the entry as well
 * (by id for git, by name for the folder). Whoever opened it calls `close()` exactly once it is
 * done (HEAD, 304, 412, an error: at once), unless `body()` took the handle over.
 */
export interface OpenedRead {
  readonly entry: Entry;
  /**
   * The file's bytes, or one range of them (within `entry.size`), from the handle `entry` came
   * from. At most once; the body then owns the handle (closed at its end, error or destroy) and
   * `close()` does nothing. A collection's body is an IsACollection error.
   */
  body(range?: ByteRange): Promise<Readable>;
  /** Lets the handle go unless `body()` took it; more calls do nothing. */
  close(): void;
}

/** A backend that can open a GET's target once (the folder backend: one verified handle). */
export interface ReadOpener {
  /** null: nothing there (as `stat`). */
  openRead(path: string): Promise<OpenedRead | null>;
}

export function isReadOpener(backend: Backend): backend is Backend & ReadOpener {
  return typeof (backend as Partial<ReadOpener>).openRead === 'function';
}

/** The target opened once where the backend can; else stat now and read by name on `body()` (nothing held). */
export async function openForRead(backend: Backend, path: string): Promise<OpenedRead | null> {
  if (isReadOpener(backend)) return backend.openRead(path);
  const entry = await backend.stat(path);
  return entry && readByName(backend, entry);
}

/** An OpenedRead that holds nothing: `body()` is `backend.read` of the entry's path. */
export function readByName(backend: Backend, entry: Entry): OpenedRead {
  return { entry, body: (range) => backend.read(entry.path, range, entry), close: () => undefined };
}

/**
 * Hears of an UNLOCK (git: a lock held over a whole burst, an editor's session, closes that burst).
 * `lockedAt` is when the released lock was taken (epoch ms). Optional: a backend without it ignores UNLOCKs.
 */
export interface UnlockAware {
  unlocked(path: string, lockedAt: number, actor?: import('./backend.js').Actor): Promise<void>;
}

export function isUnlockAware(backend: Backend): backend is Backend & UnlockAware {
  return typeof (backend as Partial<UnlockAware>).unlocked === 'function';
}

/** A commit as the history pages show it (HistoryLog). */
export interface LogCommit {
  id: string;
  short: string;
  /** The author's date. */
  time: Date;
  author: string;
  email: string;
  /** The message's first line, and the rest (trimmed; trailers included). */
  subject: string;
  body: string;
  parents: string[];
}

/** A file a commit changed: A(dded), M(odified), D(eleted); ids and modes null on the side where it is absent. */
export interface ChangedFile {
  path: string;
  change: 'A' | 'M' | 'D';
  oldId: string | null;
  newId: string | null;
  oldMode: string | null;
  newMode: string | null;
}

/** One commit of a path's log: what it changed under that path (at most `limit`, `more` left out). */
export interface LogEntry extends LogCommit {
  changed: ChangedFile[];
  /** Files left out, counted up to a cap (git: 1,000); `moreCapped` when the count stopped there. */
  more: number;
  moreCapped: boolean;
  /** The path after this commit: a history path of that version (a file's in versions/, a folder's snapshot); null where the commit removed it. */
  version: { path: string; kind: 'file' | 'collection' } | null;
}

export interface CommitDetail extends LogCommit {
  message: string;
  /** Its changes against its first parent (a root commit: against nothing), at most `limit`; `more` left out, counted up to a cap (git: 100,000), `moreCapped` when it stopped there. */
  files: ChangedFile[];
  more: number;
  moreCapped: boolean;
}

/** A member of a folder that is gone: where a restore (COPY) takes it from. */
export interface DeletedMember {
  path: string;
  kind: 'file' | 'collection';
  /** When and by which commit it was removed. */
  removed: LogCommit;
  /** The history path whose COPY to `path` restores it as it last stood. */
  restoreFrom: string;
}

/**
 * A repository's history, read for the history pages (lib/web/history/): paths are the view's own
 * (history paths under the mount, e.g. `/.history/versions/…`). Every list is bounded by its caller's
 * limit and the reader's caps (below), so no call walks a whole history.
 */
export interface HistoryReader {
  /** Where history is mounted in these paths (`/.history`). */
  readonly root: string;
  /** The commits that changed `path` (a file or folder, live or gone), newest first, from `offset`, at most `limit` (≤ 100); `total` all of them. */
  log(path: string, offset: number, limit: number, changedLimit?: number): Promise<{ total: number; commits: LogEntry[] }>;
  /** The last commit that changed `path`, or null. */
  last(path: string): Promise<LogCommit | null>;
  /** A commit by full or unique short id (4–40 hex digits); null for none (or not a commit). */
  commit(id: string, limit?: number): Promise<CommitDetail | null>;
  /** The blob id and mode of `path` in commit `id` (resolved as `commit`); null when either is not there. */
  fileAt(path: string, id: string): Promise<{ commit: LogCommit; blob: string; size: number } | null>;
  /** A blob's size, and its bytes when it is at most `maxBytes`; null when there is no such blob. */
  blob(id: string, maxBytes: number): Promise<{ size: number; bytes: Buffer | null } | null>;
  /** The members of folder `dir` that are gone (newest removal first), at most `limit`. */
  deletedIn(dir: string, limit: number): Promise<DeletedMember[]>;
  /** Branches and tags (each at most 100), and the branch served; their folders are `<root>/branches/<name>/`, `<root>/tags/<name>/` (a `/` in a name as `~`). */
  refs(): Promise<{ current: string; branches: string[]; tags: string[] }>;
}

/** A backend whose paths have a history to read (git). fs has none: the pages say so. */
export interface HistoryLog {
  /** The history that `path` is in; null where there is none the user may read (fs, another user's share). */
  historyOf(path: string): HistoryReader | null;
}

export function isHistoryLog(backend: Backend): backend is Backend & HistoryLog {
  return typeof (backend as Partial<HistoryLog>).historyOf === 'function';
}

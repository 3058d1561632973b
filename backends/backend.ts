/**
 * The storage contract that the DAV layer compiles against. A backend knows nothing about HTTP or XML:
 * it speaks in normalised paths, entries, byte streams and opaque property values, and it fails with
 * the domain errors of `./errors.ts`.
 *
 * Paths: always absolute, `/`-separated, decoded, without a trailing slash (`/` is the root), already
 * proven by the caller to contain no `.`/`..` segments, NUL or empty segments.
 *
 * Writes: every mutating call is one atomic step. A caller's `guard` runs inside that step, against the
 * state the step is about to change, and may throw to abort it (this is where If-Match, If: and lock
 * tokens are evaluated, so that no other write can slip in between the check and the act).
 */
import type { Readable } from 'node:stream';

export type EntryKind = 'file' | 'collection';

export interface Entry {
  path: string;
  kind: EntryKind;
  /** Bytes of content; 0 for collections. */
  size: number;
  /**
   * Strong entity tag, already quoted (`"..."`). Every entry has one, collections and virtual folders
   * too (DAV:getetag, If-Match, and the caches keyed by content all rely on it).
   */
  etag: string;
  /**
   * A name of this exact content that no route can give to other content, where the ETag is not one:
   * the folder backend's ETag (inode, size, mtime) repeats after an in-place edit with the time put
   * back (`touch -r`), so it adds the device and the ctime, which only the kernel sets. Absent: the
   * strong ETag is it (git: the blob id). Keys content-derived records (backends/util/checksum-table.ts).
   */
  contentKey?: string;
  modified: Date;
  created?: Date;
  /** This exact resource never changes (a history snapshot): clients may cache it for good. */
  immutable?: boolean;
  /** A collection on which Depth: infinity is refused (history views). */
  finiteDepth?: boolean;
  /**
   * Where this entry sorts among its folder's members in an HTML listing (and its paging cursor),
   * compared as a plain string; without it, rows sort by name. History sets it to list newest first.
   */
  sortKey?: string;
  /** A path history remembers that the live tree no longer holds: when it was deleted. */
  deleted?: Date;
  /** Rows per page when this folder is listed as HTML (history's long listings page sooner). */
  pageRows?: number;
}

/** Where a resource's current version lives in history (RFC 3253 properties). */
export interface VersionInfo {
  /** A short commit id: DAV:version-name. */
  name: string;
  /** Who made it: DAV:creator-displayname. */
  creator: string;
  /** Path of the version resource: DAV:checked-in. */
  path: string;
}

/** A read-only view a guard may consult: the state the write is about to change. */
export interface GuardView {
  stat(path: string): Promise<Entry | null>;
}

/** Runs inside the atomic step of a write; throws to abort it. */
export type Guard = (view: GuardView) => Promise<void> | void;

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

/** Who asks for a change (becomes a git commit's author and trailers). */
export interface Actor {
  user?: string;
  userAgent?: string;
}

/** What every mutating call accepts. */
export interface MutationOptions {
  guard?: Guard;
  actor?: Actor;
  /** A one-line description of the change, where a layer above knows better (`Add event "Dentist"`). */
  summary?: string;
}

export interface WriteOptions extends MutationOptions {
  /**
   * Partial write: the body replaces bytes from `offset` on, keeping what is before it and, where the
   * body ends before the old end, what is after it. `offset` may not exceed the current size.
   */
  offset?: number;
  /** Declared length of the body, when the client sent one (lets a backend refuse early). */
  length?: number;
  /** The modification time the client wants the file to have (ownCloud's X-OC-Mtime), if the backend keeps one. */
  modified?: Date;
}

export interface WriteResult {
  entry: Entry;
  created: boolean;
  /** The backend set `WriteOptions.modified` on the file (its entry shows it); otherwise the caller keeps it. */
  modifiedKept?: boolean;
}

export interface CopyOptions extends MutationOptions {
  /** `0` copies a collection without its members; files ignore it. */
  depth: 0 | 'infinity';
  /** Replace an existing destination (it is removed first, as RFC 4918 §9.8.4 says). */
  overwrite: boolean;
  /** A file's modification time the client wants the result to have (X-OC-Mtime), if the backend keeps one. */
  modified?: Date;
}

export interface MoveOptions extends MutationOptions {
  overwrite: boolean;
  /** As CopyOptions.modified. */
  modified?: Date;
}

/** A dead property: its Clark name and its value, a self-contained XML element string. */
export type PropertyMap = Map<string, string>;

export type PropPatch = { op: 'set'; name: string; value: string } | { op: 'remove'; name: string };

export interface Quota {
  usedBytes: number;
  availableBytes: number;
}

/** Changes among a collection's members since a sync token (RFC 6578, sync-level 1). */
export interface ChangeSet {
  /** A token (a URI) for the state these changes lead to; if truncated, the partial state. */
  token: string;
  /** Members added or changed (content or dead properties). */
  changed: Entry[];
  /** Paths of members removed. */
  removed: string[];
  /** More changes remain beyond `limit`: call again with `token`. */
  truncated: boolean;
}

/**
 * What every backend does. Powers only some have (sync, versions, quota, views of several trees) are
 * the small interfaces of `./capabilities.ts`, each with a type guard.
 */
export interface Backend {
  /** A short name for logs and docs (`fs`, `git`). */
  readonly name: string;
  /** Where the server may keep state that is never content (locks, caches); created if missing. */
  readonly stateDir: string;

  stat(path: string): Promise<Entry | null>;
  /** The members of a collection, one level. Hidden bookkeeping files are never listed. */
  list(path: string): AsyncIterable<Entry>;
  /** Streams a file, or one byte range of it; `known` is its entry, if the caller just got it. */
  read(path: string, range?: ByteRange, known?: Entry): Promise<Readable>;

  /** Creates or replaces a file with the body. Nothing is changed if the body fails or is cut off. */
  write(path: string, body: Readable, options?: WriteOptions): Promise<WriteResult>;
  /** Removes a file or a whole collection. */
  remove(path: string, options?: MutationOptions): Promise<void>;
  /** Creates an empty collection, with initial dead properties, in one step; its parent must exist. */
  mkcol(path: string, options?: MutationOptions & { props?: PropPatch[] }): Promise<Entry>;
  copy(from: string, to: string, options: CopyOptions): Promise<WriteResult>;
  move(from: string, to: string, options: MoveOptions): Promise<WriteResult>;

  /** Dead properties of a resource (empty map if none); `known` is its entry, if the caller has it. */
  props(path: string, known?: Entry): Promise<PropertyMap>;
  /** Applies all patches or none. */
  patchProps(path: string, patches: PropPatch[], options?: MutationOptions): Promise<void>;

  /** Releases files, timers and caches. */
  close?(): Promise<void>;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** True when `path` is `root` itself or lies below it. */
export function isWithin(path: string, root: string): boolean {
  return path === root || root === '/' || path.startsWith(root + '/');
}

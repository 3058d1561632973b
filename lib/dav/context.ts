/**
 * The DAV protocol layer's two objects: `Dav` (one per mount: backend, locks, registries, limits) and
 * `DavRequest` (one per request: the normalised path and helpers to read headers and bodies).
 */
import type { Context } from 'koa';
import type { IncomingMessage } from 'node:http';
import { parentOf, type Actor, type Backend, type Entry, type PropertyMap } from '../../backends/backend.js';
import { openForRead, type OpenedRead } from '../../backends/capabilities.js';
import type { LockTable } from './locks/lock-manager.js';
import { DAV_LIMIT_DEFAULTS, LOCK_TIMEOUT_DEFAULTS } from './limit-defaults.js';
import type { DigestCache } from './digest.js';
import { DavError, badRequest } from './errors/dav-error.js';
import type { ErrorMapper } from './errors/render.js';
import { parseIfHeader, IfHeaderSyntaxError, type IfList } from './if-header.js';
import { keptByUrlParser, parsePath, encodePath, BadPathError, type ParsedPath } from './paths.js';
import { parseXml, XmlParseError, type XmlElement } from './xml/parse.js';

export interface DavLimits {
  /** Largest XML request body, bytes. */
  maxXmlBytes: number;
  /** Deepest XML nesting. */
  maxXmlDepth: number;
  /** Largest PUT body, bytes (0 = no limit). */
  maxPutBytes: number;
  /** Largest tree a Depth: infinity PROPFIND walks before it is refused. */
  maxInfinityResources: number;
  /** Most ranges one GET may ask for; more are answered with the whole file. */
  maxRanges: number;
  /** Most matches one calendar-query answers; the rest is cut with a 507 response (RFC 4791 §7.8). */
  maxReportResults: number;
  /** Most bytes one query or multiget answers (0 = no limit); the rest is cut with a 507 response, as maxReportResults does. */
  maxReportBytes: number;
  /** Largest DAV:owner a LOCK may leave in the lock table, bytes (larger: 400). */
  maxLockOwnerBytes: number;
  /** Most locks one user holds in one lock table (more: 507). */
  maxLocksPerUser: number;
  /** Most bytes of locks (as JSON) one user holds in one lock table (more: 507). */
  maxLockBytesPerUser: number;
  /** Most bytes of locks (as JSON) all users but the table's owner hold in her table together (more: 507); her own are not counted. */
  maxLockTableBytes: number;
  /** Steps of iCalendar work (parse, expand, zones, filters, free-busy) one request may take (caldav/ical/budget.ts). */
  maxCalendarSteps: number;
  /** Most elements in one calendar-query's CALDAV:filter. */
  maxFilterElements: number;
  /** Worker threads per process that parse calendar objects for the object index off the event loop (caldav/bounds-pool.ts); 0: none. */
  calendarThreads: number;
}

export interface DavOptions {
  limits: DavLimits;
  lockTimeout: { fallback: number; max: number };
}

/** The values live in limit-defaults.ts (the configuration reads them without loading this layer). */
export const DEFAULT_DAV_OPTIONS: DavOptions = { limits: DAV_LIMIT_DEFAULTS, lockTimeout: LOCK_TIMEOUT_DEFAULTS };

export type MethodHandler = (req: DavRequest) => Promise<void>;

/**
 * The request path's resource and its parent as one request sees them: looked up once, at the first
 * `req.target()`, and shared by the method, its early precondition check and its hooks (as sabre/dav
 * hands the node to `beforeWriteContent`). A snapshot from before the request changed anything: the
 * guard inside the backend's write step still checks the state it is about to change.
 */
export interface RequestTarget {
  /** What is at the request path; null if nothing. */
  readonly entry: Entry | null;
  /** The parent of the request path (not necessarily a collection); null for the root or if missing. */
  readonly parent: Entry | null;
  /** The parent's dead properties, read at the first call and then kept; empty without a parent. */
  parentProps(): Promise<PropertyMap>;
}

/**
 * Runs before a PUT stores anything (after the early precondition check), with the request's target,
 * whose parent PUT has found to be a collection. May throw to refuse it, or return the complete body
 * to store instead of streaming the request (a layer that must see the whole body, like CalDAV's
 * validation, reads it itself), a summary of the change for history, and a callback that PUT calls
 * once it has ended, stored or not.
 */
export type PutHook = (
  req: DavRequest,
  target: RequestTarget & { readonly parent: Entry },
) => Promise<{ body: Buffer; summary?: string; done?: (stored: boolean) => Promise<void> } | undefined>;

/**
 * Runs before a COPY or MOVE changes anything (after its checks, before the backend's step), for
 * each file or collection it puts at `dest`; may throw to refuse it, or return a summary of the change
 * for history and a callback that the method calls once it has ended, done or not.
 */
export type TransferHook = (
  req: DavRequest,
  t: { kind: 'copy' | 'move'; source: Entry; dest: string; destParent: Entry },
) => Promise<{ summary?: string; done?: (stored: boolean) => Promise<void> } | undefined>;

/**
 * Runs before a DELETE removes anything (after its checks), with what is there; may return a summary of
 * the change for history (CalDAV: `Delete event "Dentist"`, read before the object is gone).
 */
export type DeleteHook = (req: DavRequest, target: { entry: Entry }) => Promise<{ summary?: string } | undefined>;

/**
 * Runs before a collection is made with a body (extended MKCOL, MKCALENDAR), after its properties were
 * checked, with the types it will have and the properties set (Clark name → element). May throw to
 * refuse it (CardDAV: no address book inside an address book), or return a summary for history
 * (`Create address book "Work"`); the method's own summary (MKCALENDAR's) wins over a hook's.
 */
export type CollectionHook = (
  req: DavRequest,
  c: { readonly types: readonly string[]; readonly props: ReadonlyMap<string, XmlElement> },
) => Promise<{ summary?: string } | undefined>;

/**
 * Runs before a LOCK on an unmapped URL creates an empty resource there (RFC 4918 §7.3); may throw to
 * refuse it, as a PutHook refuses a PUT (a name reserved for shares). No body: nothing else to check.
 */
export type LockNullHook = (req: DavRequest, path: string) => Promise<void>;

export interface Dav {
  backend: Backend;
  locks: LockTable;
  // `props` and `reports` are added to Dav by properties/registry.ts and reports.ts (module
  // augmentation): their entries are handed this module's DavRequest, so naming them here would be
  // an import cycle.
  methods: Map<string, MethodHandler>;
  digests: DigestCache;
  options: DavOptions;
  /** URL prefix of this mount, without a trailing slash ('' for the root). */
  prefix: string;
  /** Compliance classes for the `DAV:` header (RFC 4918 §10.1), extended by CalDAV. */
  compliance: string[];
  /** Resource types a collection may be given besides DAV:collection (extended MKCOL). */
  resourceTypes: Set<string>;
  /** Protected properties a client may still set when it creates a collection. */
  creationOnly: Set<string>;
  /** Checks (and possibly buffered bodies) for PUT, in order; see PutHook. */
  putHooks: PutHook[];
  /** Checks for COPY and MOVE destinations, in order; see TransferHook. */
  transferHooks: TransferHook[];
  /** Summaries for DELETE, in order (the first that says something wins); see DeleteHook. */
  deleteHooks: DeleteHook[];
  /** Checks and summaries for collections made with a body, in order; see CollectionHook. */
  collectionHooks: CollectionHook[];
  /** Checks for an empty resource a LOCK creates, in order; see LockNullHook. */
  lockNullHooks: LockNullHook[];
  /** How protocol extensions' own errors become DAV errors (CalDAV's preconditions); see errors/render.ts. */
  errorMappers: ErrorMapper[];
  /** The Content-Type of a file for GET and getcontenttype (CalDAV refines it for calendar objects). */
  contentType: (req: DavRequest, entry: Entry) => Promise<string>;
  /** What extensions release when the mount closes (CalDAV's state, when this mount owns it); see close. */
  closeHooks: Array<() => Promise<void>>;
  /** Runs the close hooks, in order, once (the backend stays open: it is its opener's to close). */
  close(): Promise<void>;
}

/** Marks a request whose client waits for `100 Continue` before sending its body. */
export const EXPECTS_CONTINUE = Symbol('gitdav.expectsContinue');

export class DavRequest {
  readonly path: string;
  readonly trailingSlash: boolean;
  private ifListsCache?: IfList[];
  private bodyTaken = false;
  private readonly memos = new Map<string, Promise<unknown>>();
  private targetLoad?: Promise<RequestTarget>;
  private readOpen?: Promise<OpenedRead | null>;

  constructor(
    readonly ctx: Context,
    readonly dav: Dav,
    parsed: ParsedPath,
  ) {
    this.path = parsed.path;
    this.trailingSlash = parsed.trailingSlash;
  }

  get backend(): Backend {
    return this.dav.backend;
  }

  get method(): string {
    return this.ctx.method;
  }

  header(name: string): string | undefined {
    const v = this.ctx.get(name);
    return v === '' ? undefined : v;
  }

  /** Computes a value once per request (e.g. whether a parent is a calendar, for every member). */
  memo<T>(key: string, compute: () => Promise<T>): Promise<T> {
    let p = this.memos.get(key) as Promise<T> | undefined;
    if (!p) {
      p = compute();
      this.memos.set(key, p);
    }
    return p;
  }

  /**
   * GET and HEAD: the request path opened once for its entry and its body (capabilities.ts
   * OpenedRead), shared by the method and its hooks; null if nothing is there. The request owns it:
   * `release()` closes it when the handler is done, unless the response body took it.
   */
  openedTarget(): Promise<OpenedRead | null> {
    return (this.readOpen ??= openForRead(this.backend, this.path));
  }

  /** Lets go of what the request opened and no response body took (the dispatcher, once per request). */
  release(): void {
    this.readOpen?.then(
      (opened) => opened?.close(),
      () => undefined,
    );
  }

  /** The request path's entry, its parent and the parent's properties, looked up once (see RequestTarget). */
  target(): Promise<RequestTarget> {
    this.targetLoad ??= this.loadTarget();
    return this.targetLoad;
  }

  /**
   * What `target()` found at `path` when `path` is the request path or its parent; undefined when it
   * was not asked for (or for any other path): the caller then looks for itself.
   */
  async known(path: string): Promise<Entry | null | undefined> {
    if (!this.targetLoad) return undefined;
    const t = await this.targetLoad;
    if (path === this.path) return t.entry;
    if (this.path !== '/' && path === parentOf(this.path)) return t.parent;
    return undefined;
  }

  private async loadTarget(): Promise<RequestTarget> {
    const { backend, path } = this;
    // Both at once (on git each is a read of the branch tip); the target's failure is the one reported.
    const [entry, parent] = await Promise.allSettled([backend.stat(path), path === '/' ? null : backend.stat(parentOf(path))]);
    if (entry.status === 'rejected') throw entry.reason;
    if (parent.status === 'rejected') throw parent.reason;
    const found = parent.value;
    let props: Promise<PropertyMap> | undefined;
    return {
      entry: entry.value,
      parent: found,
      parentProps: () => (props ??= found ? backend.props(found.path, found) : Promise.resolve(new Map())),
    };
  }

  /** Who makes this request's changes (a git commit's author and trailers). */
  actor(): Actor {
    return { user: this.ctx.state.user as string | undefined, userAgent: this.header('User-Agent') };
  }

  /** The href of a path in this mount. */
  href(path: string, collection: boolean): string {
    return this.dav.prefix + encodePath(path, collection);
  }

  /** `Depth` header: 0, 1 or infinity; anything else is a 400. */
  depth(fallback: '0' | '1' | 'infinity'): '0' | '1' | 'infinity' {
    const raw = (this.header('Depth') ?? fallback).trim().toLowerCase();
    if (raw === '0' || raw === '1' || raw === 'infinity') return raw;
    throw badRequest(`invalid Depth header "${raw}"`);
  }

  /** The parsed `If:` header (empty when absent); a malformed one is a 400. */
  ifLists(): IfList[] {
    if (this.ifListsCache) return this.ifListsCache;
    const raw = this.header('If');
    try {
      this.ifListsCache = raw ? parseIfHeader(raw) : [];
    } catch (err) {
      if (err instanceof IfHeaderSyntaxError) throw badRequest(err.message);
      throw err;
    }
    return this.ifListsCache;
  }

  /** Maps an href from a header or body (absolute URL or path) to a path in this mount, or null. */
  pathOfHref(href: string): string | null {
    // Most hrefs (a multiget's hundreds) are plain absolute paths, which the URL parser would give
    // back unchanged: no scheme or authority, no query or fragment, nothing it escapes or rewrites
    // (only unreserved, sub-delims, ':', '@', '%' and '/'), no dot segment it would resolve.
    if (keptByUrlParser(href)) return this.pathInMount(href);
    let url: URL;
    try {
      url = new URL(href, `${this.ctx.protocol}://${this.ctx.host}/`);
    } catch {
      return null;
    }
    if (url.host !== this.ctx.host) return null;
    return this.pathInMount(url.pathname);
  }

  /** A URL path (still percent-encoded) as a path in this mount, or null outside it. */
  private pathInMount(p: string): string | null {
    if (this.dav.prefix && p !== this.dav.prefix && !p.startsWith(this.dav.prefix + '/')) return null;
    try {
      return parsePath(p.slice(this.dav.prefix.length) || '/').path;
    } catch {
      return null;
    }
  }

  /** The `Destination` header of COPY/MOVE as a path in this mount. */
  destination(): ParsedPath {
    const raw = this.header('Destination');
    if (!raw) throw badRequest('COPY and MOVE need a Destination header');
    let url: URL;
    try {
      url = new URL(raw, `${this.ctx.protocol}://${this.ctx.host}/`);
    } catch {
      throw badRequest('the Destination header is not a URL');
    }
    if (url.host !== this.ctx.host) throw new DavError(502, 'the Destination is on another server');
    const p = url.pathname;
    if (this.dav.prefix && p !== this.dav.prefix && !p.startsWith(this.dav.prefix + '/')) {
      throw new DavError(502, 'the Destination is outside this collection tree');
    }
    try {
      return parsePath(p.slice(this.dav.prefix.length) || '/');
    } catch (err) {
      if (err instanceof BadPathError) throw new DavError(err.status, `Destination: ${err.message}`);
      throw err;
    }
  }

  /** The raw request stream, after telling a waiting client to send it. Once only. */
  bodyStream(): IncomingMessage {
    if (this.bodyTaken) throw new Error('request body read twice');
    this.bodyTaken = true;
    const req = this.ctx.req as IncomingMessage & { [EXPECTS_CONTINUE]?: boolean };
    if (req[EXPECTS_CONTINUE]) {
      req[EXPECTS_CONTINUE] = false;
      this.ctx.res.writeContinue();
    }
    return req;
  }

  /** True when the request declares or carries a body. */
  hasBody(): boolean {
    const len = this.header('Content-Length');
    if (len !== undefined) return Number(len) > 0;
    return this.header('Transfer-Encoding') !== undefined;
  }

  /** Reads a small body whole, refusing more than `limit` bytes with 413. */
  async readBody(limit: number): Promise<Buffer> {
    const declared = Number(this.header('Content-Length') ?? NaN);
    if (declared > limit) throw new DavError(413, `request body larger than ${limit} bytes`);
    if (!this.hasBody()) return Buffer.alloc(0);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of this.bodyStream()) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new DavError(413, `request body larger than ${limit} bytes`);
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  /** Reads and parses an XML body; null when there is none. Bad XML, DTDs and entities are a 400. */
  async readXml(): Promise<XmlElement | null> {
    const body = await this.readBody(this.dav.options.limits.maxXmlBytes);
    if (body.length === 0) return null;
    try {
      return parseXml(body.toString('utf8'), { maxDepth: this.dav.options.limits.maxXmlDepth });
    } catch (err) {
      if (err instanceof XmlParseError) throw badRequest(`malformed XML body: ${err.message}`);
      throw err;
    }
  }
}

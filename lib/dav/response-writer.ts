/**
 * PROPFIND's hot path: one resource's `DAV:response` written straight to a string. Same answer as
 * propResponse (propfind-core.ts), element for element, but without a tree of OutElements per
 * member and without per-member look-ups that are the same for every member of a folder:
 * - the core live properties (live.ts) render from the entry by string templates; one that a plugin
 *   replaced in the registry (identity differs), and every other name, goes through its getter and
 *   the serializer as before, so CalDAV's properties keep working;
 * - supportedlock is one constant string;
 * - lockdiscovery: when no lock is rooted in the listed folder or below it and none covers it with
 *   depth infinity, no member can be covered by a lock (a lock covers a member only if it is rooted
 *   at the member, below the folder, or is a depth-infinity lock on an ancestor), so each member's
 *   value is empty without a look-up per member. "Below it" includes other users' collections mounted
 *   there (shares), whose locks live in their owners' tables (LockTable.visibleWithin).
 */
import { baseName } from '../../backends/backend.js';
import type { DavRequest } from './context.js';
import type { LiveProperty, Resource } from './properties/registry.js';
import { creationdate, displayname, shownName, getcontentlength, getcontenttype, getetag, getlastmodified, lockdiscovery, resourcetype, supportedlock } from './properties/live.js';
import type { PropRequest, ResponseOptions } from './propfind-core.js';
import { valueOf } from './propfind-core.js';
import { isInternal } from './resource-types.js';
import { modifiedOf } from './owncloud.js';
import { statusLine } from './multistatus.js';
import { el, escapeText, serializeFragment, type OutNode } from './xml/write.js';
import type { XmlElement } from './xml/parse.js';

interface Tags {
  open: string;
  close: string;
  empty: string;
}

const MARK = '\u0001';
const tagCache = new Map<string, Tags>();

/** A property name's tags as the serializer writes them in a response (namespace declarations included). */
function tagsOf(name: string): Tags {
  let t = tagCache.get(name);
  if (!t) {
    const [open, close] = serializeFragment(el(name, MARK)).split(MARK) as [string, string];
    t = { open, close, empty: serializeFragment(el(name)) };
    if (tagCache.size > 1000) tagCache.clear(); // names come from clients: bounded
    tagCache.set(name, t);
  }
  return t;
}

const SUPPORTED_LOCK = serializeFragment({ name: supportedlock.name, children: supportedlock.get(null as never) as OutNode[] });
const OK = `<D:status>${statusLine(200)}</D:status>`;
const NOT_FOUND = `<D:status>${statusLine(404)}</D:status>`;

/** A memo of the last date rendered: a folder's members often share their times. */
function dateMemo(render: (d: Date) => string): (d: Date, wrap: (s: string) => string) => string {
  let ms = NaN;
  let xml = '';
  return (d, wrap) => {
    const t = d.getTime();
    if (t !== ms) {
      ms = t;
      xml = wrap(render(d));
    }
    return xml;
  };
}

/** A property's whole element, null when the resource has none, undefined to ask its getter. */
type Fast = (res: Resource) => string | null | undefined | Promise<string | null | undefined>;

export class ResponseWriter {
  /** Members of this folder are covered by no lock (see the file comment); null: not known. */
  private lockFreeFolder: string | null = null;
  private readonly fast = new Map<string, Fast>();
  private readonly allprop: LiveProperty[];
  private readonly httpDate = dateMemo((d) => d.toUTCString());
  private readonly isoDate = dateMemo((d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z'));

  constructor(
    private readonly req: DavRequest,
    private readonly request: PropRequest,
    private readonly options: ResponseOptions,
  ) {
    const registry = req.dav.props;
    this.allprop = request.kind === 'allprop' ? registry.all().filter((p) => p.inAllprop) : [];
    // Only where the registry still holds the core definition: a plugin's replacement is honoured.
    // Each returns the whole element, null for none, undefined for "ask the getter".
    const core = (p: LiveProperty, f: Fast) => registry.get(p.name) === p && this.fast.set(p.name, f);
    const text = (p: LiveProperty) => {
      const t = tagsOf(p.name);
      return (s: string) => t.open + escapeText(s) + t.close;
    };
    const etag = text(getetag);
    const length = text(getcontentlength);
    const modified = text(getlastmodified);
    const created = text(creationdate);
    const type = text(getcontenttype);
    const display = text(displayname);
    const noType = tagsOf(resourcetype.name).empty;
    const noLocks = tagsOf(lockdiscovery.name).empty;
    core(getetag, (r) => etag(r.entry.etag));
    core(getcontentlength, (r) => (r.isCollection ? null : length(String(r.entry.size))));
    core(getlastmodified, (r) => {
      const d = modifiedOf(r); // a file's may be a time set by a client, kept as a dead property
      return d instanceof Date ? this.httpDate(d, modified) : d.then((t) => this.httpDate(t, modified));
    });
    core(creationdate, (r) => (r.entry.created ? this.isoDate(r.entry.created, created) : null));
    core(supportedlock, () => SUPPORTED_LOCK);
    core(resourcetype, (r) => (r.isCollection ? undefined : noType));
    core(getcontenttype, async (r) => (r.isCollection ? null : type(await req.dav.contentType(req, r.entry))));
    core(lockdiscovery, (r) => (this.lockFreeFolder !== null && r.path !== this.lockFreeFolder ? noLocks : undefined));
    // Not protected: a stored value wins, which valueXml checks before asking for this.
    core(displayname, (r) => (r.path === '/' ? null : display(shownName(r.entry))));
  }

  /** Called once before a folder's members are written (see the file comment). */
  enterFolder(path: string): void {
    const locks = this.req.dav.locks;
    const free = locks.visibleWithin(path).length === 0 && !locks.covering(path).some((l) => l.depth === 'infinity');
    this.lockFreeFolder = free ? path : null;
  }

  /** Whether the folder last entered has no lock in or over it (every member's lockdiscovery is empty). */
  get membersLockFree(): boolean {
    return this.lockFreeFolder !== null;
  }

  async write(res: Resource): Promise<string> {
    const { request } = this;
    let found = '';
    let missing = '';
    if (request.kind === 'propname') {
      const names = new Set(this.req.dav.props.applicable(res).map((p) => p.name));
      for (const name of (await res.deadProps()).keys()) if (!isInternal(name)) names.add(name);
      for (const name of names) found += tagsOf(name).empty;
    } else {
      let names: Iterable<string>;
      let optional: Set<string> | undefined; // allprop lists what exists; only asked-for names can be 404
      if (request.kind === 'allprop') {
        const set = new Set<string>();
        for (const p of this.allprop) if (!p.appliesTo || p.appliesTo(res)) set.add(p.name);
        for (const name of (await res.deadProps()).keys()) if (!isInternal(name)) set.add(name);
        optional = new Set(set);
        for (const name of request.include) {
          set.add(name);
          optional.delete(name);
        }
        names = set;
      } else {
        names = request.names;
      }
      const requested = request.kind === 'prop' ? request.requested : undefined;
      for (const name of names) {
        // Most values are ready at once: await only those that are not (one microtask per member, not per property).
        let value = this.valueXml(res, name, requested?.get(name));
        if (typeof value === 'object' && value !== null) value = await value;
        if (value !== null) found += value;
        else if (!optional?.has(name)) missing += tagsOf(name).empty;
      }
    }
    const { minimal } = this.options;
    let out = `<D:response><D:href>${escapeText(res.href)}</D:href>`;
    if (found || !missing || minimal) out += found ? `<D:propstat><D:prop>${found}</D:prop>${OK}</D:propstat>` : `<D:propstat><D:prop/>${OK}</D:propstat>`;
    if (missing && !minimal) out += `<D:propstat><D:prop>${missing}</D:prop>${NOT_FOUND}</D:propstat>`;
    return out + '</D:response>';
  }

  /** One property as XML, or null when the resource has none (valueOf's rules). */
  private valueXml(res: Resource, name: string, requested?: XmlElement): string | null | Promise<string | null> {
    const fast = this.fast.get(name);
    if (!fast) return this.slowXml(res, name, requested);
    // displayname is not protected: a stored value wins, and that needs the dead properties.
    if (name === displayname.name) return this.displayXml(res, fast);
    const xml = fast(res);
    if (typeof xml === 'object' && xml !== null) return xml.then((x) => (x !== undefined ? x : this.slowXml(res, name, requested)));
    return xml !== undefined ? xml : this.slowXml(res, name, requested);
  }

  private async displayXml(res: Resource, fast: Fast): Promise<string | null> {
    if ((await res.deadProps()).has(displayname.name)) return this.slowXml(res, displayname.name);
    return (await fast(res)) ?? null;
  }

  private async slowXml(res: Resource, name: string, requested?: XmlElement): Promise<string | null> {
    const value = await valueOf(res, name, requested);
    return value === null ? null : serializeFragment(value);
  }
}

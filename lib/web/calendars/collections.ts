/**
 * What the calendar and address book pages say about a collection: its name, colour, description,
 * owner (a share), how many objects it holds, and the URLs a client needs (CalDAV/CardDAV, webcal,
 * the export). Read from the collection's stored properties and CalDAV's member lists: nothing is
 * parsed here.
 */
import { baseName, type Entry } from '../../../backends/backend.js';
import { isShareAware } from '../../../backends/capabilities.js';
import type { CalDavStates } from '../../caldav/state/states.js';
import { collectionFiles } from '../../caldav/query-candidates.js';
import type { DavRequest } from '../../dav/context.js';
import { Resource } from '../../dav/properties/registry.js';
import { propsHaveType } from '../../dav/resource-types.js';
import { clark, NS } from '../../dav/xml/names.js';
import { parseXml, textOf } from '../../dav/xml/parse.js';
import { escapeAttr, escapeText } from '../../dav/xml/write.js';

export type GroupwareKind = 'calendar' | 'addressbook';

export const CALENDAR_TYPE = clark(NS.CALDAV, 'calendar');
export const ADDRESSBOOK_TYPE = clark(NS.CARDDAV, 'addressbook');
const DISPLAYNAME = clark(NS.DAV, 'displayname');
const COLOR = clark(NS.APPLE, 'calendar-color');
const DESCRIPTION: Record<GroupwareKind, string> = { calendar: clark(NS.CALDAV, 'calendar-description'), addressbook: clark(NS.CARDDAV, 'addressbook-description') };

/** Counting stops here ("100,000+"): the count is a listing, bounded like every loop over a folder. */
export const MAX_COUNT = 100_000;

export interface CollectionInfo {
  entry: Entry;
  kind: GroupwareKind;
  /** The URL path (with the mount's prefix and a trailing slash). */
  href: string;
  /** displayname, else the last path segment. */
  name: string;
  /** `#rrggbb` (Apple's calendar-color, alpha dropped), if valid. */
  color: string | null;
  description: string;
  /** Whose it is, when it is another user's share. */
  owner?: string;
  access: 'read' | 'write' | null;
  /** Files in it (events or cards), up to MAX_COUNT. */
  count: number;
}

/** The collection's stored type, or null for an ordinary folder (its dead properties, read once per request). */
export async function kindOf(req: DavRequest, entry: Entry): Promise<GroupwareKind | null> {
  if (entry.kind !== 'collection') return null;
  const props = await new Resource(req, entry).deadProps();
  if (propsHaveType(props, CALENDAR_TYPE)) return 'calendar';
  if (propsHaveType(props, ADDRESSBOOK_TYPE)) return 'addressbook';
  return null;
}

export async function collectionInfo(req: DavRequest, states: CalDavStates, entry: Entry, kind: GroupwareKind): Promise<CollectionInfo> {
  const props = await new Resource(req, entry).deadProps();
  const text = (name: string): string => {
    const xml = props.get(name);
    if (!xml) return '';
    try {
      return textOf(parseXml(xml)).trim();
    } catch {
      return '';
    }
  };
  const color = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(text(COLOR));
  const backend = req.backend;
  return {
    entry,
    kind,
    href: req.href(entry.path, true),
    name: text(DISPLAYNAME) || baseName(entry.path),
    color: color ? `#${color[1]!.toLowerCase()}` : null,
    description: text(DESCRIPTION[kind]),
    owner: isShareAware(backend) ? backend.ownerOf(entry.path) : undefined,
    access: isShareAware(backend) ? backend.shareAccess(entry.path) : null,
    count: await countMembers(req, states, entry.path),
  };
}

/** The files of a calendar or book: CalDAV's kept member list where it has one (git), else a listing. */
export async function countMembers(req: DavRequest, states: CalDavStates, path: string): Promise<number> {
  let n = 0;
  for await (const e of await collectionFiles(states, req, path, true)) {
    void e;
    if (++n >= MAX_COUNT) break;
  }
  return n;
}

/** `https://host` of this request, as the client reached the server (koa's `proxy` setting decides whether X-Forwarded-* count). */
export function origin(req: DavRequest): string {
  return `${req.ctx.protocol}://${req.ctx.host}`;
}

/** A colour swatch as inline SVG: a presentation attribute, not a style, so the CSP (no inline style) allows it. */
export function swatch(color: string | null): string {
  const fill = color ?? 'currentColor';
  return `<svg class="swatch" width="14" height="14" viewBox="0 0 14 14" aria-hidden="true" focusable="false"><rect width="14" height="14" rx="3" fill="${escapeAttr(fill)}"${color ? '' : ' fill-opacity="0.3"'}/></svg>`;
}

export function countText(n: number, one: string, many: string): string {
  return `${n >= MAX_COUNT ? `${MAX_COUNT.toLocaleString('en')}+` : n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

/** "shared by alice, read-only" for a grantee's view of a share, else ''. */
export function sharedNote(info: CollectionInfo): string {
  if (!info.owner) return '';
  return `<span class="cal-shared">shared by ${escapeText(info.owner)}${info.access === 'read' ? ', read-only' : ''}</span>`;
}

/**
 * The URLs a client needs: the CalDAV/CardDAV URL (copy button), and the whole collection as one file
 * (`?view=export`: a webcal subscription for a calendar, a download either way).
 */
export function clientLinks(req: DavRequest, info: CollectionInfo): string {
  const url = origin(req) + info.href;
  const exportHref = `${info.href}?view=export`;
  const protocol = info.kind === 'calendar' ? 'CalDAV' : 'CardDAV';
  const parts = [
    `<span class="cal-url"><span class="cal-label">${protocol} URL</span> <code>${escapeText(url)}</code> <a href="${escapeAttr(info.href)}" data-action="copy-link" class="cal-copy" aria-label="Copy the ${protocol} URL of ${escapeAttr(info.name)}">Copy</a></span>`,
  ];
  if (info.kind === 'calendar') {
    const webcal = `webcal://${req.ctx.host}${exportHref}`;
    parts.push(`<a href="${escapeAttr(webcal)}" class="cal-subscribe" aria-label="Subscribe to ${escapeAttr(info.name)} (webcal)">Subscribe (webcal)</a>`);
    parts.push(`<a href="${escapeAttr(exportHref)}" download="${escapeAttr(`${baseName(info.entry.path)}.ics`)}" data-action="export">Download .ics</a>`);
  } else {
    parts.push(`<a href="${escapeAttr(exportHref)}" download="${escapeAttr(`${baseName(info.entry.path)}.vcf`)}" data-action="export">Download all (.vcf)</a>`);
  }
  return `<p class="cal-links">${parts.join(' ')}</p>`;
}

/**
 * REPORT expand-property (RFC 3253 §3.8): the named properties of the target, where a DAV:property
 * with nested DAV:property elements has each DAV:href of its value replaced by a DAV:response for the
 * resource named (those nested properties, recursively). Discovery uses it (current-user-principal →
 * calendar-home-set / addressbook-home-set; DAVx5's group-member-set, calendar-proxy-*). Bounded: a
 * self-referencing property (principal-URL on the principal) stops at MAX_DEPTH, and at most
 * MAX_RESOURCES responses are expanded per request; past either bound an href is left as it is.
 */
import type { ReportHandler } from '../reports.js';
import type { DavRequest } from '../context.js';
import { Resource } from '../properties/registry.js';
import { valueOf } from '../propfind-core.js';
import { hrefStatus, memberErrorResponse, propstat, sendMultistatus } from '../multistatus.js';
import { MemberError } from '../errors/dav-error.js';
import { elements, is, parseXml, type XmlElement } from '../xml/parse.js';
import { el, outElement, RawXml, type OutElement, type OutNode } from '../xml/write.js';
import { clark, dav, NS } from '../xml/names.js';

/** How many levels of hrefs are expanded below the target. */
export const MAX_DEPTH = 3;
/** How many resources one request may expand in all. */
export const MAX_RESOURCES = 100;

interface Walk {
  req: DavRequest;
  /** Expansions still allowed in this request. */
  left: number;
}

export const expandProperty: ReportHandler = {
  name: dav('expand-property'),
  supportedOn: () => true,
  async run(req, body, target) {
    const walk: Walk = { req, left: MAX_RESOURCES };
    sendMultistatus(req.ctx, [await expandedResponse(walk, target, properties(body), 0)]);
  },
};

/** The DAV:property children of a request element. */
function properties(e: XmlElement): XmlElement[] {
  return elements(e).filter((c) => is(c, NS.DAV, 'property'));
}

function propertyName(e: XmlElement): string {
  return clark(e.attrs.get('namespace') ?? NS.DAV, e.attrs.get('name') ?? '');
}

/** One resource's response with the wanted properties, their hrefs expanded where asked. */
async function expandedResponse(walk: Walk, res: Resource, wanted: XmlElement[], depth: number): Promise<OutElement> {
  const found: OutNode[] = [];
  const missing: OutNode[] = [];
  for (const property of wanted) {
    const name = propertyName(property);
    const value = await valueOf(res, name);
    if (!value) missing.push(el(name));
    else {
      const nested = properties(property);
      found.push(nested.length > 0 && depth < MAX_DEPTH ? await expandValue(walk, value, nested, depth + 1) : value);
    }
  }
  return el(
    dav('response'),
    el(dav('href'), res.href),
    (found.length > 0 || missing.length === 0) && propstat(200, found),
    missing.length > 0 && propstat(404, missing),
  );
}

/** A property's value with its DAV:href children replaced by responses. */
async function expandValue(walk: Walk, value: OutNode, nested: XmlElement[], depth: number): Promise<OutNode> {
  const element = value instanceof RawXml ? storedElement(value) : value;
  if (element === null || typeof element === 'string') return value;
  const children: OutNode[] = [];
  for (const c of element.children ?? []) {
    const href = typeof c === 'object' && !(c instanceof RawXml) && c.name === dav('href') ? hrefText(c) : null;
    children.push(href === null ? c : ((await expandHref(walk, href, nested, depth)) ?? c));
  }
  return { ...element, children };
}

/** The response for the resource an href names; null to leave the href as it is. */
async function expandHref(walk: Walk, href: string, nested: XmlElement[], depth: number): Promise<OutElement | null> {
  const path = walk.req.pathOfHref(href);
  if (path === null || walk.left <= 0) return null; // another server (a mailto:), or past the bound
  walk.left--;
  const entry = await walk.req.backend.stat(path);
  if (!entry) return hrefStatus(href, 404);
  const res = new Resource(walk.req, entry);
  try {
    return await expandedResponse(walk, res, nested, depth);
  } catch (err) {
    if (!(err instanceof MemberError)) throw err;
    return memberErrorResponse(res.href, err);
  }
}

function hrefText(e: OutElement): string | null {
  const kids = e.children ?? [];
  return kids.every((k) => typeof k === 'string') ? (kids as string[]).join('').trim() : null;
}

/** A dead property's stored XML as an element (so its hrefs can be expanded); null if unreadable. */
function storedElement(raw: RawXml): OutElement | null {
  try {
    const parsed = parseXml(raw.xml);
    return outElement(parsed, parsed.lang);
  } catch {
    return null;
  }
}

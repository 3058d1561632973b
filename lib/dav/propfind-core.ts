/**
 * What a PROPFIND (or a REPORT that returns properties) asks for, and the `DAV:response` it produces
 * for one resource. Only the requested live properties are computed; dead ones come from the backend.
 */
import type { Resource } from './properties/registry.js';
import type { DavRequest } from './context.js';
import type { XmlElement } from './xml/parse.js';
import { child, clarkOf, elements, is } from './xml/parse.js';
import { badRequest } from './errors/dav-error.js';
import { el, RawXml, type OutElement, type OutNode } from './xml/write.js';
import { dav, NS } from './xml/names.js';
import { propstat } from './multistatus.js';
import { isInternal } from './resource-types.js';

export type PropRequest =
  | { kind: 'allprop'; include: string[] }
  | { kind: 'propname' }
  | { kind: 'prop'; names: string[]; requested?: Map<string, XmlElement> };

/** Parses a `DAV:propfind` body; no body means allprop (RFC 4918 §9.1). */
export function parsePropfind(body: XmlElement | null): PropRequest {
  if (!body) return { kind: 'allprop', include: [] };
  if (!is(body, NS.DAV, 'propfind')) throw badRequest('the body of PROPFIND must be a DAV:propfind element');
  const kids = elements(body);
  const prop = child(body, NS.DAV, 'prop');
  if (child(body, NS.DAV, 'propname')) return { kind: 'propname' };
  if (child(body, NS.DAV, 'allprop')) {
    const include = child(body, NS.DAV, 'include');
    return { kind: 'allprop', include: include ? elements(include).map(clarkOf) : [] };
  }
  if (prop) return propRequest(prop);
  if (kids.length === 0) return { kind: 'allprop', include: [] };
  throw badRequest('DAV:propfind needs one of prop, propname or allprop');
}

/** Refuses a request's bad property parameters before a streamed answer starts (LiveProperty.check). */
export function checkPropRequest(req: DavRequest, request: PropRequest): void {
  if (request.kind === 'prop') req.dav.props.checkRequested(request.names, request.requested);
}

/** A `DAV:prop` element as a request, keeping each element for parameterised properties. */
export function propRequest(prop: XmlElement): PropRequest {
  const requested = new Map(elements(prop).map((e) => [clarkOf(e), e]));
  return { kind: 'prop', names: [...requested.keys()], requested };
}

export interface ResponseOptions {
  /** Leave out the 404 propstat (`Brief: t`, `Prefer: return=minimal`). */
  minimal: boolean;
}

export async function propResponse(res: Resource, request: PropRequest, options: ResponseOptions): Promise<OutElement> {
  const registry = res.req.dav.props;
  const found: OutNode[] = [];
  const missing: OutNode[] = [];

  if (request.kind === 'propname') {
    const names = new Set(registry.applicable(res).map((p) => p.name));
    for (const name of (await res.deadProps()).keys()) if (!isInternal(name)) names.add(name);
    for (const name of names) found.push(el(name));
  } else {
    let names: string[];
    let optional = new Set<string>(); // allprop lists what exists; only asked-for names can be 404
    if (request.kind === 'allprop') {
      const set = new Set(registry.applicable(res).filter((p) => p.inAllprop).map((p) => p.name));
      for (const name of (await res.deadProps()).keys()) if (!isInternal(name)) set.add(name);
      optional = new Set(set);
      for (const name of request.include) {
        set.add(name);
        optional.delete(name);
      }
      names = [...set];
    } else {
      names = request.names;
    }
    const requested = request.kind === 'prop' ? request.requested : undefined;
    for (const name of names) {
      const value = await valueOf(res, name, requested?.get(name));
      if (value) found.push(value);
      else if (!optional.has(name)) missing.push(el(name));
    }
  }
  return el(
    dav('response'),
    el(dav('href'), res.href),
    (found.length > 0 || missing.length === 0 || options.minimal) && propstat(200, found),
    missing.length > 0 && !options.minimal && propstat(404, missing),
  );
}

/** One property's element, or null when the resource has none. */
export async function valueOf(res: Resource, name: string, requested?: XmlElement): Promise<OutNode | null> {
  const live = res.req.dav.props.get(name);
  if (live && (live.protected || !(await res.deadProps()).has(name))) {
    if (live.appliesTo && !live.appliesTo(res)) return null;
    const children = await live.get(res, requested);
    return children === null ? null : { name, children };
  }
  const stored = isInternal(name) ? undefined : (await res.deadProps()).get(name);
  return stored === undefined ? null : new RawXml(stored);
}

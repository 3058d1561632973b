/**
 * Creating a collection with initial properties, shared by extended MKCOL (RFC 5689) and MKCALENDAR
 * (RFC 4791 §5.3.1): every property is checked first, and then the collection and its properties are
 * made in one backend step, or nothing is (a failure answers 403 with a propstat per property).
 */
import type { PropPatch } from '../../backends/backend.js';
import type { DavRequest } from './context.js';
import { liveView, writeGuard } from './conditions.js';
import { DavError, badRequest } from './errors/dav-error.js';
import { propstat } from './multistatus.js';
import { allowedMethods, sendEmpty } from './respond.js';
import { isInternal, typePatch } from './resource-types.js';
import { clarkOf, elements, is, type XmlElement } from './xml/parse.js';
import { el, elementToXml, serialize } from './xml/write.js';
import { dav, NS } from './xml/names.js';

export interface CreateCollectionOptions {
  /** The parsed body (null: none), and the root element it must have. */
  body: XmlElement | null;
  bodyRoot: { ns: string; local: string };
  /** Root of the error response body (DAV:mkcol-response or CALDAV:mkcalendar-response). */
  responseName: string;
  /** Types the collection gets without asking (MKCALENDAR: a calendar). */
  types: string[];
  /** Checks type-specific properties; returns the names it refuses, with why (a precondition). */
  check?: (props: Map<string, XmlElement>, types: string[]) => Promise<Map<string, string>> | Map<string, string>;
  /** A summary of the change for history, from the checked properties (MKCALENDAR: `Create calendar "Work"`). */
  summary?: (props: Map<string, XmlElement>) => string;
}

export async function createCollection(req: DavRequest, o: CreateCollectionOptions): Promise<void> {
  const existing = await req.backend.stat(req.path);
  if (existing) {
    throw new DavError(405, `${req.path} already exists`, { headers: { Allow: allowedMethods(req.dav, existing) }, condition: el(dav('resource-must-be-null')) });
  }
  const types = [...o.types];
  const props = new Map<string, XmlElement>();
  if (o.body) {
    if (!is(o.body, o.bodyRoot.ns, o.bodyRoot.local)) throw badRequest(`the body must be a ${o.bodyRoot.local} element`);
    for (const set of elements(o.body)) {
      if (!is(set, NS.DAV, 'set')) throw badRequest('only DAV:set may appear here');
      for (const prop of elements(set).filter((e) => is(e, NS.DAV, 'prop'))) for (const p of elements(prop)) props.set(clarkOf(p), p);
    }
  }
  const refused = new Map<string, string>(); // name → precondition
  const resourcetype = props.get(dav('resourcetype'));
  if (resourcetype) {
    props.delete(dav('resourcetype'));
    const asked = elements(resourcetype).map(clarkOf);
    const extra = asked.filter((t) => t !== dav('collection'));
    if (!asked.includes(dav('collection')) || extra.some((t) => !req.dav.resourceTypes.has(t))) refused.set(dav('resourcetype'), 'valid-resourcetype');
    else for (const t of extra) if (!types.includes(t)) types.push(t);
  }
  for (const name of props.keys()) {
    if (req.dav.creationOnly.has(name)) continue; // protected, but settable when the collection is made
    if (req.dav.props.get(name)?.protected || isInternal(name)) refused.set(name, 'cannot-modify-protected-property');
  }
  for (const [name, why] of (await o.check?.(props, types)) ?? []) refused.set(name, why);

  if (refused.size) {
    const failed = [...refused].map(([name, why]) => propstat(403, [el(name)], el(dav('error'), el(why.includes('{') ? why : dav(why)))));
    const others = [...props.keys()].filter((n) => !refused.has(n)).map((n) => el(n));
    req.ctx.status = 403;
    req.ctx.type = 'application/xml; charset=utf-8';
    req.ctx.body = serialize(el(o.responseName, ...failed, others.length > 0 && propstat(424, others)));
    return;
  }
  const patches: PropPatch[] = [...props].map(([name, e]) => ({ op: 'set', name, value: elementToXml(e) }));
  if (types.length) patches.push(typePatch(types));
  const guard = writeGuard(req, [{ path: req.path, membership: true }]);
  await guard(liveView(req));
  // Layers above (CardDAV) check where a typed collection may be made, and name it for history.
  let summary = o.summary?.(props);
  for (const hook of req.dav.collectionHooks) {
    const said = (await hook(req, { types, props }))?.summary;
    summary ??= said;
  }
  await req.backend.mkcol(req.path, { guard, actor: req.actor(), props: patches, ...(summary ? { summary } : {}) });
  sendEmpty(req.ctx, 201);
}

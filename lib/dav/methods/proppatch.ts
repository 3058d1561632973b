/**
 * PROPPATCH (RFC 4918 §9.2): all instructions or none. Protected live properties fail with 403 and
 * the rest with 424; otherwise the backend applies every set/remove, in order, in one atomic step.
 * A file's `DAV:lastmodified` set to unix seconds (rclone) sets the time its listings show (../owncloud.ts).
 */
import type { PropPatch } from '../../../backends/backend.js';
import type { MethodHandler } from '../context.js';
import { liveView, writeGuard } from '../conditions.js';
import { badRequest } from '../errors/dav-error.js';
import { propstat, sendMultistatus } from '../multistatus.js';
import { requireEntry } from '../respond.js';
import { lastmodifiedPatch, sameContent } from '../owncloud.js';
import { isInternal } from '../resource-types.js';
import { clarkOf, elements, is } from '../xml/parse.js';
import { el, elementToXml, type OutElement } from '../xml/write.js';
import { dav, NS } from '../xml/names.js';

export const proppatch: MethodHandler = async (req) => {
  const entry = await requireEntry(req);
  const body = await req.readXml();
  if (!body || !is(body, NS.DAV, 'propertyupdate')) throw badRequest('PROPPATCH needs a DAV:propertyupdate body');

  const patches: PropPatch[] = [];
  const times = new Set<PropPatch>(); // DAV:lastmodified rewritten as the internal time property
  for (const instruction of elements(body)) {
    const op = is(instruction, NS.DAV, 'set') ? 'set' : is(instruction, NS.DAV, 'remove') ? 'remove' : null;
    if (!op) continue; // unknown elements are ignored (RFC 4918 §17)
    for (const prop of elements(instruction).filter((e) => is(e, NS.DAV, 'prop'))) {
      for (const p of elements(prop)) {
        const time = op === 'set' ? lastmodifiedPatch(p, entry) : undefined;
        if (time) times.add(time);
        patches.push(time ?? (op === 'set' ? { op, name: clarkOf(p), value: elementToXml(p) } : { op, name: clarkOf(p) }));
      }
    }
  }
  if (patches.length === 0) throw badRequest('the propertyupdate names no property');

  const shown = (p: PropPatch) => (times.has(p) ? dav('lastmodified') : p.name);
  const refused = new Set(patches.filter((p) => !times.has(p) && (req.dav.props.get(p.name)?.protected || isInternal(p.name))).map((p) => p.name));
  const names = [...new Set(patches.map(shown))];
  const href = req.href(req.path, entry.kind === 'collection');
  if (refused.size > 0) {
    const protectedError = el(dav('cannot-modify-protected-property'));
    const response: OutElement = el(
      dav('response'),
      el(dav('href'), href),
      propstat(403, [...refused].map((n) => el(n)), el(dav('error'), protectedError)),
      names.length > refused.size && propstat(424, names.filter((n) => !refused.has(n)).map((n) => el(n))),
    );
    return sendMultistatus(req.ctx, [response]);
  }

  const guard = writeGuard(req, [{ path: req.path }]);
  await guard(liveView(req));
  // A time is set for the content it was read with (the value names its ETag).
  await req.backend.patchProps(req.path, patches, { guard: times.size > 0 ? sameContent(entry, guard) : guard, actor: req.actor() });
  sendMultistatus(req.ctx, [el(dav('response'), el(dav('href'), href), propstat(200, names.map((n) => el(n))))]);
};

import type { MethodHandler } from '../context.js';
import { liveView, writeGuard } from '../conditions.js';
import { forbidden } from '../errors/dav-error.js';
import { requireEntry, sendEmpty } from '../respond.js';

/** DELETE (RFC 4918 §9.6): a file or a whole collection, in one atomic backend step. */
export const del: MethodHandler = async (req) => {
  if (req.path === '/') throw forbidden('the root collection cannot be deleted');
  const entry = await requireEntry(req);
  const guard = writeGuard(req, [{ path: req.path, tree: true, membership: true }]);
  await guard(liveView(req));
  // What a layer above says of the change (CalDAV: the event's title), asked while it is still there.
  let summary: string | undefined;
  for (const hook of req.dav.deleteHooks) summary ??= (await hook(req, { entry }))?.summary;
  await req.backend.remove(req.path, { guard, actor: req.actor(), ...(summary ? { summary } : {}) });
  await req.dav.locks.removeWithin(req.path);
  sendEmpty(req.ctx, 204);
};

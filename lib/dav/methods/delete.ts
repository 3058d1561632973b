import type { MethodHandler } from '../context.js';
import { liveView, writeGuard } from '../conditions.js';
import { forbidden } from '../errors/dav-error.js';
import { requireEntry, sendEmpty } from '../respond.js';

/** DELETE (RFC 4918 §9.6): a file or a whole collection, in one atomic backend step. */
export const del: MethodHandler = async (req) => {
  if (req.path === '/') throw forbidden('the root collection cannot be deleted');
  await requireEntry(req);
  const guard = writeGuard(req, [{ path: req.path, tree: true, membership: true }]);
  await guard(liveView(req));
  await req.backend.remove(req.path, { guard, actor: req.actor() });
  await req.dav.locks.removeWithin(req.path);
  sendEmpty(req.ctx, 204);
};

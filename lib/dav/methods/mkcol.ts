import type { MethodHandler } from '../context.js';
import { liveView, writeGuard } from '../conditions.js';
import { DavError } from '../errors/dav-error.js';
import { allowedMethods, sendEmpty } from '../respond.js';

/** MKCOL (RFC 4918 §9.3): an empty collection; a request body is a 415 (no extended MKCOL here). */
export const mkcol: MethodHandler = async (req) => {
  const existing = await req.backend.stat(req.path);
  if (existing) throw new DavError(405, `${req.path} already exists`, { headers: { Allow: allowedMethods(req.dav, existing) } });
  if (req.hasBody()) throw new DavError(415, 'MKCOL with a request body is not supported');
  const guard = writeGuard(req, [{ path: req.path, membership: true }]);
  await guard(liveView(req));
  await req.backend.mkcol(req.path, { guard, actor: req.actor() });
  sendEmpty(req.ctx, 201);
};

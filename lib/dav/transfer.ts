/**
 * What COPY and MOVE share (RFC 4918 §9.8-9.9): Destination, Overwrite and Depth, the checks on both
 * ends, and the 201/204 answer. The backend does the work in one atomic step. ownCloud's
 * `X-OC-Mtime` (rclone's server-side copy and move send it) sets the resulting file's time, as on PUT.
 */
import { isWithin, parentOf } from '../../backends/backend.js';
import type { DavRequest } from './context.js';
import { liveView, writeGuard, type Target } from './conditions.js';
import { badRequest, conflict, forbidden, preconditionFailed } from './errors/dav-error.js';
import { requireEntry, sendEmpty } from './respond.js';
import { keepMtime, parseOcMtime } from './owncloud.js';

export async function transfer(req: DavRequest, kind: 'copy' | 'move'): Promise<void> {
  const source = await requireEntry(req);
  const dest = req.destination().path;
  const overwrite = parseOverwrite(req.header('Overwrite'));
  const depth = req.depth('infinity');
  const ocMtime = source.kind === 'file' ? parseOcMtime(req.header('X-OC-Mtime')) : undefined;
  if (depth === '1' || (kind === 'move' && depth !== 'infinity' && source.kind === 'collection')) {
    throw badRequest(`Depth ${depth} is not allowed on ${kind.toUpperCase()} of this resource`);
  }
  if (dest === req.path) throw forbidden('the source and the destination are the same');
  if (source.kind === 'collection' && isWithin(dest, req.path)) throw forbidden('cannot copy or move a collection into itself');
  if (isWithin(req.path, dest) && kind === 'move') throw forbidden('cannot move a resource over its own ancestor');
  if (dest === '/') throw forbidden('the root collection cannot be replaced');

  const destEntry = await req.backend.stat(dest);
  if (destEntry && !overwrite) throw preconditionFailed(`${dest} exists and Overwrite is F`);
  const destParent = await req.backend.stat(parentOf(dest));
  if (!destParent || destParent.kind !== 'collection') throw conflict(`the parent collection ${parentOf(dest)} does not exist`);

  const targets: Target[] = [{ path: dest, tree: true, membership: true }];
  if (kind === 'move') targets.push({ path: req.path, tree: true, membership: true });
  const guard = writeGuard(req, targets);
  await guard(liveView(req));

  // Layers above (CalDAV) check what lands where: each hook may refuse, name the change, and hold a
  // reservation until the step has ended.
  const admitted: Array<{ summary?: string; done?: (stored: boolean) => Promise<void> }> = [];
  let result;
  try {
    for (const hook of req.dav.transferHooks) {
      const a = await hook(req, { kind, source, dest, destParent });
      if (a) admitted.push(a);
    }
    const summary = admitted.find((a) => a.summary)?.summary;
    result =
      kind === 'copy'
        ? await req.backend.copy(req.path, dest, { guard, overwrite, depth: depth === '0' ? 0 : 'infinity', actor: req.actor(), summary, modified: ocMtime })
        : await req.backend.move(req.path, dest, { guard, overwrite, actor: req.actor(), summary, modified: ocMtime });
  } finally {
    for (const a of admitted) await a.done?.(result !== undefined);
  }
  // Locks stay with their URLs: the moved source's are gone, a replaced destination's too (§9.9.4).
  if (kind === 'move') await req.dav.locks.removeWithin(req.path);
  if (destEntry) await req.dav.locks.removeWithin(dest);
  // Not ctx.origin: in Koa 3 that is the request's Origin header (null for most clients).
  const timeKept = ocMtime && result.entry.kind === 'file' && (result.modifiedKept || (await keepMtime(req, result.entry, ocMtime, { actor: req.actor() })));
  const location = `${req.ctx.protocol}://${req.ctx.host}${req.href(dest, result.entry.kind === 'collection')}`;
  sendEmpty(req.ctx, result.created ? 201 : 204, { ...(result.created && { Location: location }), ...(timeKept && { 'X-OC-MTime': 'accepted' }) });
}

function parseOverwrite(v: string | undefined): boolean {
  if (v === undefined) return true;
  const t = v.trim().toUpperCase();
  if (t === 'T') return true;
  if (t === 'F') return false;
  throw badRequest('the Overwrite header must be T or F');
}

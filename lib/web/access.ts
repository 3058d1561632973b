/**
 * Whether the page may offer actions at a path: the server refuses writes it cannot make anyway
 * (read-only server, history, a read-only share, an anonymous reader); the page just does not offer them.
 */
import { isShareAware } from '../../backends/capabilities.js';
import type { DavRequest } from '../dav/context.js';

export function canWrite(req: DavRequest, path: string): boolean {
  if (req.ctx.state.readOnly === true || req.ctx.state.anonymous === true) return false;
  if (inHistory(path)) return false;
  const backend = req.backend;
  if (isShareAware(backend) && backend.shareAccess(path) === 'read') return false;
  return true;
}

/** Whether a path is history itself or inside it (read-only, never versioned again). */
export function inHistory(path: string): boolean {
  return path === '/.history' || path.startsWith('/.history/');
}

/** Small pure helpers of the mount view (./view.ts), kept apart to keep that file short. */
import { isWithin } from '../backend.js';
import { BackendError } from '../errors.js';

/**
 * What the DAV layer checks in the grantee's paths, again in the owner's: two shares of one owner
 * can nest in storage (`/a` and `/a/b`) while their mount points do not.
 */
export function sameTreeChecks(source: { path: string }, target: { path: string }, kind: 'copy' | 'move'): void {
  if (isWithin(target.path, source.path)) throw new BackendError('Forbidden', target.path, `cannot ${kind} a resource into itself`);
  if (kind === 'move' && isWithin(source.path, target.path)) throw new BackendError('Forbidden', target.path, 'cannot move a resource over its own ancestor');
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

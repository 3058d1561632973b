/**
 * A new user's principal, calendar home and default calendar, made on first start (one commit each on
 * git) so that clients find a calendar right away.
 */
import type { Backend, PropPatch } from '../../backends/backend.js';
import { isBackendError } from '../../backends/errors.js';
import { typePatch } from '../dav/resource-types.js';
import { el, serializeFragment } from '../dav/xml/write.js';
import { dav } from '../dav/xml/names.js';
import { CALENDAR, PRINCIPAL, paths, type CalDavOptions } from './context.js';

export async function ensureUserCollections(backend: Backend, o: CalDavOptions): Promise<void> {
  const p = paths(o);
  const actor = { user: 'gitdav', userAgent: 'gitdav setup' };
  const displayname = (name: string): PropPatch => ({ op: 'set', name: dav('displayname'), value: serializeFragment(el(dav('displayname'), name), {}) });
  const wanted: Array<[string, PropPatch[]]> = [
    [p.principals, []],
    [p.principal, [typePatch([PRINCIPAL]), displayname(o.user)]],
    [p.homes, []],
    [p.home, []],
  ];
  for (const [path, props] of wanted) {
    if (await backend.stat(path)) continue;
    await backend.mkcol(path, { props, actor }).catch((err: unknown) => {
      if (!isBackendError(err, 'AlreadyExists')) throw err; // another process was faster
    });
  }
  // A default calendar only for a home that has nothing yet (a user who deleted theirs keeps it so).
  let empty = true;
  for await (const _ of backend.list(p.home)) {
    empty = false;
    break;
  }
  if (empty) {
    await backend
      .mkcol(p.defaultCalendar, { props: [typePatch([CALENDAR]), displayname('Calendar')], actor })
      .catch((err: unknown) => {
        if (!isBackendError(err, 'AlreadyExists')) throw err;
      });
  }
}

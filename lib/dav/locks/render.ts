/** `DAV:activelock` elements for lockdiscovery and LOCK responses. */
import type { DavRequest } from '../context.js';
import { mayUseLock } from './lock-manager.js';
import type { Lock } from './lock.js';
import { el, RawXml, type OutElement } from '../xml/write.js';
import { dav } from '../xml/names.js';

export function activeLock(req: DavRequest, lock: Lock, rootIsCollection: boolean): OutElement {
  const remaining = lock.expires === null ? null : Math.max(0, Math.round((lock.expires - Date.now()) / 1000));
  return el(
    dav('activelock'),
    el(dav('locktype'), el(dav('write'))),
    el(dav('lockscope'), el(dav(lock.scope))),
    el(dav('depth'), lock.depth === 0 ? '0' : 'infinity'),
    lock.owner ? new RawXml(lock.owner) : undefined,
    el(dav('timeout'), remaining === null ? 'Infinite' : `Second-${remaining}`),
    // Another user's token is theirs alone (a shared collection shows whose lock it is, not its key).
    mayUseLock(lock, req.ctx.state.user as string | undefined) ? el(dav('locktoken'), el(dav('href'), lock.token)) : undefined,
    el(dav('lockroot'), el(dav('href'), req.href(lock.root, rootIsCollection))),
  );
}

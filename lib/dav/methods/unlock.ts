import { isShareAware, isUnlockAware } from '../../../backends/capabilities.js';
import type { MethodHandler } from '../context.js';
import { DavError, badRequest } from '../errors/dav-error.js';
import { mayUseLock } from '../locks/lock-manager.js';
import { sendEmpty } from '../respond.js';
import { el } from '../xml/write.js';
import { dav } from '../xml/names.js';

/** UNLOCK (RFC 4918 §9.11): the token must name a lock whose scope includes the request URI. */
export const unlock: MethodHandler = async (req) => {
  // RFC 4918 says `<token>`; some clients (npm webdav) send the bare token: accept both.
  const raw = req.header('Lock-Token')?.trim();
  const m = raw && (/^<([^<>\s]+)>$/.exec(raw) ?? /^([a-z][a-z0-9+.-]*:[^<>\s]+)$/i.exec(raw));
  if (!m) throw badRequest('UNLOCK needs a Lock-Token header: <opaquelocktoken:…>');
  const lock = req.dav.locks.get(m[1]!);
  if (!lock || !req.dav.locks.covering(req.path).some((l) => l.token === lock.token)) {
    throw new DavError(409, 'no lock with this token covers the request URI', {
      condition: el(dav('lock-token-matches-request-uri')),
    });
  }
  const user = req.ctx.state.user as string | undefined;
  // The owner of a tree (a mount per user: its lock table's owner) may lift a lock another user, a
  // share's grantee, holds in it; nobody else may. Not a capability test: a git repository is a view
  // (history is mounted) with no owner at all.
  const backend = req.backend;
  const ownTree = user !== undefined && req.dav.locks.owner === user && !(isShareAware(backend) && backend.ownerOf(req.path) !== undefined);
  if (!mayUseLock(lock, user) && !ownTree) {
    throw new DavError(403, 'this lock belongs to another user', { condition: el(dav('lock-token-matches-request-uri')) });
  }
  await req.dav.locks.remove(lock.token);
  // The backend hears of it (git: a lock held over a whole burst, an editor's session, closes it). A
  // hint only: the lock is gone either way, and a burst not closed here closes after its window.
  // Awaited on purpose, although a lost marker would only move where a burst closes: the 204 then
  // means the marker is durable and in the journal before any later request of this client, so the
  // burst closes at the same place live and after a crash (recovery replays the same records), and
  // history does not depend on timing. The cost is one journal append per UNLOCK, like a PUT's own.
  if (isUnlockAware(backend) && lock.created !== undefined) await backend.unlocked(lock.root, lock.created, req.actor()).catch(() => undefined);
  sendEmpty(req.ctx, 204);
};

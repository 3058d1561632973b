/**
 * `OWNER~NAME` directly in a calendar or address book home is where shares are mounted
 * (../auth/shares-file.ts mountPointOf). A collection (or file) a user made there themselves would be
 * hidden by a share mounted later, their client shown another user's members at its URL: so no write
 * may put anything at such a name in the user's own tree. The shares themselves (routed into the
 * owner's tree) are the mount's to allow or refuse.
 */
import { isShareAware } from '../../backends/capabilities.js';
import { isShareMountName } from '../auth/shares-file.js';
import type { Dav, DavRequest } from '../dav/context.js';
import { forbidden } from '../dav/errors/dav-error.js';

/** Installs the refusal on a user's mount, before CalDAV's and CardDAV's hooks (a PUT hook may take the body). */
export function reserveShareNames(dav: Dav): void {
  dav.putHooks.push(async (req) => refuse(req, req.path));
  dav.collectionHooks.push(async (req) => refuse(req, req.path));
  dav.transferHooks.push(async (req, t) => refuse(req, t.dest));
  dav.lockNullHooks.push(async (req, path) => void (await refuse(req, path)));
}

async function refuse(req: DavRequest, path: string): Promise<undefined> {
  if (!isShareMountName(path)) return undefined;
  if (isShareAware(req.backend) && req.backend.ownerOf(path) !== undefined) return undefined; // a share: the mount decides
  const name = path.slice(path.lastIndexOf('/') + 1);
  throw forbidden(`"${name}" is reserved: a name with ~ directly in a calendar or address book home is where shares appear (OWNER~NAME); choose a name without ~`);
}

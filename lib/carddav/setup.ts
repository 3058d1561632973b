/**
 * A user's address book home and default address book, made on first start (one commit each on git)
 * so that clients find an address book right away (Apple Contacts cannot make one). The principal is
 * CalDAV's (caldav/setup.ts runs first).
 */
import type { Backend, PropPatch } from '../../backends/backend.js';
import { isBackendError } from '../../backends/errors.js';
import { typePatch } from '../dav/resource-types.js';
import { el, serializeFragment } from '../dav/xml/write.js';
import { dav } from '../dav/xml/names.js';
import { ADDRESSBOOK, cardPaths, type CardDavOptions } from './context.js';

export async function ensureAddressBooks(backend: Backend, o: CardDavOptions): Promise<void> {
  const p = cardPaths(o);
  const actor = { user: 'gitdav', userAgent: 'gitdav setup' };
  const made = (err: unknown) => {
    if (!isBackendError(err, 'AlreadyExists')) throw err; // another process was faster
  };
  for (const path of [p.homes, p.home]) if (!(await backend.stat(path))) await backend.mkcol(path, { props: [], actor }).catch(made);
  // A default address book only for a home that has nothing yet (a user who deleted theirs keeps it so).
  for await (const _ of backend.list(p.home)) return;
  const displayname: PropPatch = { op: 'set', name: dav('displayname'), value: serializeFragment(el(dav('displayname'), 'Contacts'), {}) };
  await backend.mkcol(p.defaultAddressBook, { props: [typePatch([ADDRESSBOOK]), displayname], actor }).catch(made);
}

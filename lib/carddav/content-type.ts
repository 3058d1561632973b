/**
 * An address book's members are text/vcard whatever their name (vdirsyncer skips members whose type
 * lacks `vcard`; CardBook asks getcontenttype), for GET and getcontenttype alike. Nothing is read or
 * parsed: listing a big address book must not parse its cards (Radicale#1893).
 */
import type { Dav } from '../dav/context.js';
import { parentOf } from '../../backends/backend.js';
import { isAddressBookPath } from './cards.js';

export const CARD_CONTENT_TYPE = 'text/vcard; charset=utf-8';

export function cardContentType(plain: Dav['contentType']): Dav['contentType'] {
  return async (req, entry) => {
    // The root is never an address book (they are made as new collections): no stat for its files.
    const parent = parentOf(entry.path);
    if (entry.kind !== 'file' || parent === '/' || !(await isAddressBookPath(req, parent))) return plain(req, entry);
    return CARD_CONTENT_TYPE;
  };
}

/**
 * Address books made by extended MKCOL (RFC 6352 §6.3.1): never inside an address book or a calendar
 * (addressbook-collection-location-ok), and named in history as MKCALENDAR names a calendar:
 * `Create address book "Work"` (its displayname, else its name). A calendar is not made inside an
 * address book either (calendar-collection-location-ok: CalDAV's precondition, as MKCALENDAR's).
 */
import { baseName, parentOf } from '../../backends/backend.js';
import type { CollectionHook } from '../dav/context.js';
import { DavError } from '../dav/errors/dav-error.js';
import { el } from '../dav/xml/write.js';
import { dav } from '../dav/xml/names.js';
import { textOf } from '../dav/xml/parse.js';
import { CALENDAR, cal } from '../caldav/context.js';
import { quotedTitle } from '../caldav/put-hook.js';
import { isAddressBookPath } from './cards.js';
import { checkAddressBookLocation, inside } from './transfer-hook.js';
import { ADDRESSBOOK } from './context.js';

export const cardCollectionHook: CollectionHook = async (req, { types, props }) => {
  const parent = parentOf(req.path);
  if (types.includes(CALENDAR) && (await inside(req, parent, isAddressBookPath))) {
    throw new DavError(403, 'a calendar cannot be created inside an address book', { condition: el(cal('calendar-collection-location-ok')) });
  }
  if (!types.includes(ADDRESSBOOK)) return undefined;
  await checkAddressBookLocation(req, parent);
  const name = props.get(dav('displayname'));
  return { summary: `Create address book ${quotedTitle((name && textOf(name).trim()) || baseName(req.path))}` };
};

/**
 * COPY and MOVE and address books (RFC 6352 §6.3.2, whose preconditions name all three methods): a
 * file that lands in an address book must be a card it accepts, with a UID of its own there, as for
 * PUT (a move within one address book keeps its UID); an address book cannot land inside an address
 * book or a calendar, nor a calendar inside an address book (addressbook-collection-location-ok;
 * RFC 6352 §5.2, RFC 4791 §4.2: neither kind nests in the other).
 */
import { parentOf } from '../../backends/backend.js';
import type { DavRequest, TransferHook } from '../dav/context.js';
import { DavError } from '../dav/errors/dav-error.js';
import { Resource } from '../dav/properties/registry.js';
import { hasType } from '../dav/resource-types.js';
import { el } from '../dav/xml/write.js';
import { CALENDAR, cal } from '../caldav/context.js';
import { isCalendarPath } from '../caldav/objects.js';
import { isAddressBookPath } from './cards.js';
import { admitCard } from './put-hook.js';
import { CardPreconditionError } from './vcard/index.js';
import { ADDRESSBOOK, type CardDavOptions } from './context.js';

export function cardTransferHook(o: CardDavOptions): TransferHook {
  return async (req, { kind, source, dest, destParent }) => {
    if (source.kind === 'collection') {
      const resource = new Resource(req, source);
      if (await hasType(resource, ADDRESSBOOK)) await checkAddressBookLocation(req, destParent.path);
      else if ((await hasType(resource, CALENDAR)) && (await inside(req, destParent.path, isAddressBookPath))) {
        throw new DavError(403, 'a calendar cannot be put inside an address book', { condition: el(cal('calendar-collection-location-ok')) });
      }
      return undefined;
    }
    if (!(await isAddressBookPath(req, destParent.path))) return undefined;
    if (source.size > o.maxResourceSize) throw new CardPreconditionError('max-resource-size', `${source.size} octets exceed ${o.maxResourceSize}`);
    const chunks: Buffer[] = [];
    for await (const chunk of await req.backend.read(source.path, undefined, source)) chunks.push(chunk as Buffer);
    const movingFrom = kind === 'move' && parentOf(source.path) === destParent.path ? source.path : undefined;
    const admitted = await admitCard(req, o, destParent, dest, Buffer.concat(chunks), movingFrom);
    return { summary: `${kind === 'move' ? 'Move' : 'Copy'} ${admitted.title}`, done: admitted.done };
  };
}

/** An address book made or put below `parent`: never inside an address book or a calendar, at any depth. */
export async function checkAddressBookLocation(req: DavRequest, parent: string): Promise<void> {
  if (await inside(req, parent, isAddressBookPath)) throw new CardPreconditionError('addressbook-collection-location-ok', 'an address book cannot be inside another address book');
  if (await inside(req, parent, isCalendarPath)) throw new CardPreconditionError('addressbook-collection-location-ok', 'an address book cannot be inside a calendar');
}

/** Whether `path` or any collection above it is of a kind (`is`). */
export async function inside(req: DavRequest, path: string, is: (req: DavRequest, path: string) => Promise<boolean>): Promise<boolean> {
  for (let p = path; p !== '/'; p = parentOf(p)) if (await is(req, p)) return true;
  return false;
}

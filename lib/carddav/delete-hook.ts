/**
 * What a DELETE in an address book did, for history: `Delete contact "Ada Lovelace"` for a card (read
 * before it is gone; `group`, `organization` by its kind), `Delete address book "Work"` for an address
 * book (its displayname, else its name). Only a summary: anything that cannot be read or parsed leaves
 * the DELETE to a plain message, never fails it.
 */
import type { DavRequest, DeleteHook } from '../dav/context.js';
import { propsHaveType } from '../dav/resource-types.js';
import { parentOf, type Entry } from '../../backends/backend.js';
import { calendarName } from '../caldav/delete-hook.js';
import { quotedTitle } from '../caldav/put-hook.js';
import { isAddressBookPath, storedCard } from './cards.js';
import { cardTitle } from './vcard/index.js';
import { ADDRESSBOOK, type CardDavOptions } from './context.js';

export function cardDeleteHook(o: CardDavOptions): DeleteHook {
  return async (req, { entry }) => {
    try {
      const summary = entry.kind === 'collection' ? await addressBookSummary(req, entry) : await cardSummary(o, req, entry);
      return summary ? { summary } : undefined;
    } catch {
      return undefined;
    }
  };
}

async function addressBookSummary(req: DavRequest, entry: Entry): Promise<string | undefined> {
  const props = await req.backend.props(entry.path);
  if (!propsHaveType(props, ADDRESSBOOK)) return undefined;
  return `Delete address book ${quotedTitle(calendarName(props, entry.path))}`;
}

async function cardSummary(o: CardDavOptions, req: DavRequest, entry: Entry): Promise<string | undefined> {
  if (!(await isAddressBookPath(req, parentOf(entry.path)))) return undefined;
  const card = await storedCard(o.states, req, entry);
  return card ? `Delete ${cardTitle(card)}` : undefined;
}

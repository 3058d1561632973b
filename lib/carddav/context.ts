/** What the CardDAV layer knows about its user (one per mount, as for CalDAV), its limits, and where its state lives. */
import { clark, NS } from '../dav/xml/names.js';
import type { CalDavStates } from '../caldav/state/states.js';

export interface CardDavOptions {
  /** The principal's name: /principals/<user>/ (made by CalDAV's setup), /addressbooks/<user>/. */
  user: string;
  /** Largest vCard accepted, bytes (CARDDAV:max-resource-size). */
  maxResourceSize: number;
  /** Make no address book home or default book at start (a --read-only server changes nothing). */
  noSetup?: boolean;
  /**
   * The server's groupware state registry, shared with CalDAV: address books keep their UID index in
   * the same per-tree tables as calendars (keyed by the collection's path), so no-uid-conflict is
   * decided once across every worker the same way (caldav/uid-index.ts).
   */
  states: CalDavStates;
}

export const DEFAULT_CARDDAV_OPTIONS: Omit<CardDavOptions, 'states'> = {
  user: 'user',
  maxResourceSize: 10 * 1024 * 1024,
};

export const card = (local: string) => clark(NS.CARDDAV, local);

export const ADDRESSBOOK = card('addressbook');

/** Media type of one vCard (RFC 6350 §10.1) and of an address book's GET (all its cards). */
export const VCARD_TYPE = 'text/vcard';

export const cardPaths = (o: Pick<CardDavOptions, 'user'>) => ({
  homes: '/addressbooks',
  home: `/addressbooks/${o.user}`,
  defaultAddressBook: `/addressbooks/${o.user}/contacts`,
});

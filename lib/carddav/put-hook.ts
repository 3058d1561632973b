/**
 * PUT into an address book (RFC 6352 §6.3.2): the body is read whole (bounded by max-resource-size),
 * parsed as one vCard, and checked for a UID that another card of the same address book already has;
 * then the client's bytes are stored unchanged. Anything else is left to the other hooks (a calendar's)
 * or to plain WebDAV. `admitCard` is the check itself, which COPY and MOVE into an address book make
 * too (./transfer-hook.ts).
 *
 * An overwrite may not change the card's UID (RFC 6352 §6.3.2.1: no-uid-conflict forbids a UID in use
 * by another card, "or overwrit[ing] an existing address object resource with one that has a different
 * UID property value"): 409 no-uid-conflict naming the card itself. A stored file that is not a card
 * (put there over plain WebDAV) has no UID to keep. CalDAV (RFC 4791 §5.3.2.1, same clause) does not
 * enforce this yet.
 */
import type { DavRequest, PutHook } from '../dav/context.js';
import { DavError } from '../dav/errors/dav-error.js';
import { propsHaveType } from '../dav/resource-types.js';
import type { Entry } from '../../backends/backend.js';
import { reserveUid } from '../caldav/uid-index.js';
import { cardUid } from './cards.js';
import { cardUidChange, cardUidConflict } from './errors.js';
import { CardPreconditionError, cardTitle, parseCard } from './vcard/index.js';
import { ADDRESSBOOK, type CardDavOptions } from './context.js';

/** vCard's registered type and the two older names clients still send (RFC 2425 text/directory). */
const VCARD_TYPES = /^\s*text\/(vcard|x-vcard|directory)\s*(;|$)/i;

export function cardPutHook(o: CardDavOptions): PutHook {
  return async (req, { entry: existing, parent, parentProps }) => {
    if (parent.kind !== 'collection' || !propsHaveType(await parentProps(), ADDRESSBOOK)) return undefined;
    const type = req.header('Content-Type');
    if (type && !VCARD_TYPES.test(type)) throw new CardPreconditionError('supported-address-data', `an address book takes text/vcard, not ${type}`);
    // Refused before a byte of the body is read (the connection is then handled as for any early answer).
    const declared = Number(req.header('Content-Length') ?? 0);
    if (declared > o.maxResourceSize) throw new CardPreconditionError('max-resource-size', `${declared} octets exceed ${o.maxResourceSize}`);
    const body = await req.readBody(o.maxResourceSize).catch((err: unknown) => {
      if (err instanceof DavError && err.status === 413) throw new CardPreconditionError('max-resource-size', err.message);
      throw err;
    });
    const admitted = await admitCard(req, o, parent, req.path, body, undefined, existing);
    return { body, summary: `${existing ? 'Update' : 'Add'} ${admitted.title}`, done: admitted.done };
  };
}

/**
 * What a card must be to be stored at `path` in `addressBook` (RFC 6352 §6.3.2.1, for PUT, COPY and
 * MOVE alike): one valid vCard 3.0 or 4.0 within the size limit, the UID of the card it overwrites if
 * any, and a UID no other card of the address book has (`movingFrom`: the card being moved there,
 * which may keep it; `target`: what is at `path`, when the caller has looked it up already, as PUT
 * has). Reserves the UID until `done`; `title` describes the card for history (`contact "Ada Lovelace"`).
 */
export async function admitCard(
  req: DavRequest,
  o: CardDavOptions,
  addressBook: Entry,
  path: string,
  body: Buffer,
  movingFrom?: string,
  known?: Entry | null,
): Promise<{ title: string; done: (stored: boolean) => Promise<void> }> {
  const card = parseCard(body, { maxResourceSize: o.maxResourceSize });
  const target = known !== undefined ? known : await req.backend.stat(path);
  const stored = target?.kind === 'file' ? await cardUid(o.states, req, target) : undefined;
  if (stored !== undefined && stored !== card.uid) throw cardUidChange(stored, card.uid, req.href(path, false), path);
  const reservation = await reserveUid(o.states, req, addressBook.path, card.uid, path, cardUid);
  if (reservation.clash && reservation.clash !== movingFrom) {
    await reservation.done(false);
    throw cardUidConflict(card.uid, req.href(reservation.clash, false), reservation.clash);
  }
  return { title: cardTitle(card), done: reservation.done };
}

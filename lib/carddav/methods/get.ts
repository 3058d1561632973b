/**
 * GET/HEAD on an address book: all its cards as one text/vcard body (RFC 6350 §3.1 allows several
 * vCards in one file), each as stored and ending in CRLF, streamed card by card (10,000 cards are
 * ~6 MB: never held whole). Members that are not cards are left out. The body's ETag is the
 * collection's, which changes whenever any card does; conditional GET as for a calendar. A browser's
 * GET gets the book's page instead (../../web/calendars/negotiate.ts).
 *
 * The combined body is a representation the server builds, not stored bytes: a card's leading BOM
 * (accepted on PUT, kept in the card's own GET) is left out, since one in the middle of the body
 * makes multi-vCard readers (vobject, vdirsyncer) reject the whole book. A member gone between the
 * listing and its read (deleted or moved meanwhile) is left out too: the 200 is already sent. Each
 * card is otherwise its stored bytes.
 */
import { Readable } from 'node:stream';
import type { Entry } from '../../../backends/backend.js';
import type { DavRequest, MethodHandler } from '../../dav/context.js';
import { sendEmpty, findReadable } from '../../dav/respond.js';
import { evaluateHttpConditions, httpConditionHeaders } from '../../dav/conditions.js';
import { preconditionFailed } from '../../dav/errors/dav-error.js';
import type { CalDavStates } from '../../caldav/state/states.js';
import { isBackendError } from '../../../backends/errors.js';
import { addressBookMembers, cardText, isAddressBookPath, storedCard } from '../cards.js';
import { CARD_CONTENT_TYPE } from '../content-type.js';
import { wantsWebPage } from '../../web/calendars/negotiate.js';

export function addressBookGet(plain: MethodHandler, headOnly: boolean, states: CalDavStates): MethodHandler {
  return async (req) => {
    const entry = (await findReadable(req))?.entry ?? null; // opened once, for the plain GET too
    if (!entry || entry.kind !== 'collection' || wantsWebPage(req, states) || !(await isAddressBookPath(req, req.path))) return plain(req);
    const verdict = evaluateHttpConditions(req.method, httpConditionHeaders(req), entry);
    if (verdict === 'failed') throw preconditionFailed();
    if (verdict === 'not-modified') return sendEmpty(req.ctx, 304, { ETag: entry.etag });
    const headers = { 'Content-Type': CARD_CONTENT_TYPE, ETag: entry.etag, 'Last-Modified': entry.modified.toUTCString() };
    if (headOnly) {
      // HEAD's length is GET's: the cards are read (and kept parsed by ETag) to count it.
      let length = 0;
      for await (const chunk of cards(states, req, req.path)) length += chunk.length;
      return sendEmpty(req.ctx, 200, { ...headers, 'Content-Length': length });
    }
    for (const [k, v] of Object.entries(headers)) req.ctx.set(k, v);
    req.ctx.body = Readable.from(cards(states, req, req.path));
  };
}

/** The address book's cards as stored (less a BOM), each ending in CRLF; members that do not parse or are gone are skipped. */
async function* cards(states: CalDavStates, req: DavRequest, path: string): AsyncGenerator<Buffer> {
  for await (const member of addressBookMembers(req, path)) {
    const bytes = await readCard(states, req, member);
    if (bytes === null) continue;
    const card = bytes.toString('latin1').replace(/^\xEF\xBB\xBF/, ''); // byte for byte, as latin1
    yield Buffer.from(/\r?\n$/.test(card) ? card.replace(/\r?\n$/, '\r\n') : `${card}\r\n`, 'latin1');
  }
}

/**
 * A member's bytes if it is a card, null if not or if it is gone since the listing. The cached text
 * serves, unless it holds U+FFFD: a fold may split a UTF-8 character (valid once unfolded), which
 * the text decoded whole cannot carry, so such a card's bytes are read again as stored.
 */
async function readCard(states: CalDavStates, req: DavRequest, member: Entry): Promise<Buffer | null> {
  try {
    if (!(await storedCard(states, req, member))) return null;
    const text = await cardText(states, req, member);
    if (!text.includes('\uFFFD')) return Buffer.from(text, 'utf8');
    const chunks: Buffer[] = [];
    for await (const c of await req.backend.read(member.path, undefined, member)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  } catch (err) {
    if (isBackendError(err, 'NotFound')) return null;
    throw err;
  }
}

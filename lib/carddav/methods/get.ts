/**
 * GET/HEAD on an address book: all its cards as one text/vcard body (RFC 6350 §3.1 allows several
 * vCards in one file), each as stored and ending in CRLF, streamed card by card (10,000 cards are
 * ~6 MB: never held whole). Members that are not cards are left out. The body's ETag is the
 * collection's, which changes whenever any card does; conditional GET as for a calendar.
 */
import { Readable } from 'node:stream';
import type { DavRequest, MethodHandler } from '../../dav/context.js';
import { sendEmpty, findReadable } from '../../dav/respond.js';
import { evaluateHttpConditions, httpConditionHeaders } from '../../dav/conditions.js';
import { preconditionFailed } from '../../dav/errors/dav-error.js';
import type { CalDavStates } from '../../caldav/state/states.js';
import { addressBookMembers, cardText, isAddressBookPath, storedCard } from '../cards.js';
import { CARD_CONTENT_TYPE } from '../content-type.js';

export function addressBookGet(plain: MethodHandler, headOnly: boolean, states: CalDavStates): MethodHandler {
  return async (req) => {
    const entry = (await findReadable(req))?.entry ?? null; // opened once, for the plain GET too
    if (!entry || entry.kind !== 'collection' || !(await isAddressBookPath(req, req.path))) return plain(req);
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

/** The address book's cards as stored, each ending in CRLF; members that do not parse are skipped. */
async function* cards(states: CalDavStates, req: DavRequest, path: string): AsyncGenerator<Buffer> {
  for await (const member of addressBookMembers(req, path)) {
    if (!(await storedCard(states, req, member))) continue;
    const text = await cardText(states, req, member);
    yield Buffer.from(/\r?\n$/.test(text) ? text.replace(/\r?\n$/, '\r\n') : `${text}\r\n`, 'utf8');
  }
}

/**
 * Whether a GET of a calendar or an address book is a person's (a page) or a client's (the
 * collection as one .ics / .vcf: webcal subscriptions, vdirsyncer). CalDAV's and CardDAV's GET
 * (lib/caldav/methods/get.ts, lib/carddav/methods/get.ts) ask here before answering with the
 * collection's data: the web routes (`?ui=`, `?view=`, `?zip=`) and a request that prefers
 * `text/html` to `text/calendar`/`text/vcard` (a browser: `Accept: text/html,…,*\/*;q=0.8`) get the
 * page; `Accept: *\/*`, none at all, or `text/calendar` keep getting the data, as before.
 *
 * The same call hands the pages CalDAV's state (parsed objects, the object index, member lists) for
 * that request: the web layer has no mount-wide handle on it otherwise.
 */
import type { DavRequest } from '../../dav/context.js';
import type { CalDavStates } from '../../caldav/state/states.js';

/** Per-request scratch, weakly held: gone with the request. */
const statesOf = new WeakMap<DavRequest, CalDavStates>();

const WEB_ROUTES = ['ui', 'view', 'zip'];

/** Calendar and address book homes and the collections in them: where pages and data share a URL. */
export const GROUPWARE = /^\/(calendars|addressbooks)\/[^/]+(\/[^/]+)?$/;

/**
 * True when the request is for a page (or another web route). Remembers `states` for whatever page
 * this GET of a collection renders (a calendar home is a plain folder, listed as HTML to anyone).
 *
 * A page at a groupware URL is always rendered afresh: its conditional headers are dropped, since the
 * validator the listing sends is the collection's, which says nothing of an agenda that moves with
 * the clock (a 304 would show yesterday's next 30 days). Every collection's response varies by `Accept`.
 */
export function wantsWebPage(req: DavRequest, states: CalDavStates): boolean {
  statesOf.set(req, states);
  const q = req.ctx.query;
  if (WEB_ROUTES.some((k) => q[k] !== undefined)) return true;
  const groupware = GROUPWARE.test(req.path);
  // Any collection: a calendar or book elsewhere in the tree also answers data or a page by Accept.
  req.ctx.vary('Accept');
  const page = req.header('Accept') !== undefined && req.ctx.accepts('text/calendar', 'text/vcard', 'text/html') === 'text/html';
  if (page && groupware) {
    delete req.ctx.request.headers['if-none-match'];
    delete req.ctx.request.headers['if-modified-since'];
  }
  return page;
}

/** CalDAV's state for this page request, if CalDAV is on (undefined: the pages show plain folders). */
export function groupwareStates(req: DavRequest): CalDavStates | undefined {
  return statesOf.get(req);
}

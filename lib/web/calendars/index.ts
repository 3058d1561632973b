/**
 * Pages for CalDAV and CardDAV collections (docs/web.md, "Calendars and address books"), shown by the
 * folder page (../folder-page.ts) above the ordinary listing: a calendar home lists its calendars
 * (colour, name, description, event count, the CalDAV URL to paste into a client, a webcal
 * subscription); a calendar shows its agenda for the next days (./agenda.ts); an address book home
 * lists its books; a book lists its contacts (./contacts.ts). Shares show whose they are.
 *
 * Ordinary folders are turned away by their path alone (no listing, no property read): only
 * /calendars/USER, /addressbooks/USER and the collections right inside them are looked at, and only
 * when CalDAV is on (negotiate.ts handed over its state).
 */
import type { Entry } from '../../../backends/backend.js';
import type { CalDavStates } from '../../caldav/state/states.js';
import type { DavRequest } from '../../dav/context.js';
import { escapeAttr, escapeText } from '../../dav/xml/write.js';
import { agenda, renderAgenda } from './agenda.js';
import { clientLinks, collectionInfo, countText, kindOf, origin, sharedNote, swatch, type CollectionInfo, type GroupwareKind } from './collections.js';
import { contacts, renderContacts } from './contacts.js';
import { groupwareStates } from './negotiate.js';

/** A home page lists at most this many collections (a home holds a handful; the listing below has all). */
export const MAX_COLLECTIONS = 200;

const HOME = /^\/(calendars|addressbooks)\/[^/]+$/;
const MEMBER = /^\/(calendars|addressbooks)\/[^/]+\/[^/]+$/;

/**
 * The main content of a page for a CalDAV/CardDAV collection (a calendar home, a calendar, an address
 * book home or book), or null: the folder page then shows the ordinary listing.
 */
export async function collectionPage(req: DavRequest, dir: Entry): Promise<{ title: string; main: string } | null> {
  const home = HOME.exec(dir.path);
  const member = home ? null : MEMBER.exec(dir.path);
  if (!home && !member) return null;
  const states = groupwareStates(req);
  if (!states || dir.kind !== 'collection') return null;
  const kind: GroupwareKind = (home ?? member)![1] === 'calendars' ? 'calendar' : 'addressbook';
  if (home) return homePage(req, states, dir, kind);
  if ((await kindOf(req, dir)) !== kind) return null;
  const info = await collectionInfo(req, states, dir, kind);
  return kind === 'calendar' ? calendarPage(req, states, info) : bookPage(req, states, info);
}

async function homePage(req: DavRequest, states: CalDavStates, dir: Entry, kind: GroupwareKind): Promise<{ title: string; main: string }> {
  const items: CollectionInfo[] = [];
  let more = 0;
  for await (const e of req.backend.list(dir.path)) {
    if (e.kind !== 'collection' || (await kindOf(req, e)) !== kind) continue;
    if (items.length >= MAX_COLLECTIONS) {
      more++;
      continue;
    }
    items.push(await collectionInfo(req, states, e, kind));
  }
  const collator = new Intl.Collator(undefined, { sensitivity: 'base' });
  items.sort((a, b) => Number(!!a.owner) - Number(!!b.owner) || collator.compare(a.name, b.name));
  const calendars = kind === 'calendar';
  const title = calendars ? 'Calendars' : 'Address books';
  const homeUrl = origin(req) + req.href(dir.path, true);
  const intro = `<p class="cal-intro">To use ${calendars ? 'these calendars' : 'these address books'} in a ${calendars ? 'calendar' : 'contacts'} app (Thunderbird, DAVx⁵, Apple ${calendars ? 'Calendar' : 'Contacts'}, Evolution…), add a ${calendars ? 'CalDAV' : 'CardDAV'} account with this server's address, <code>${escapeText(origin(req))}/</code>, or paste one ${calendars ? 'calendar' : 'book'}'s URL below. Home: <code>${escapeText(homeUrl)}</code>.</p>`;
  const cards = items.map((info) => {
    const count = calendars ? countText(info.count, 'event', 'events') : countText(info.count, 'contact', 'contacts');
    return `<li class="cal-item" data-kind="${info.kind}" data-href="${escapeAttr(info.href)}" data-count="${info.count}">
<h2 class="cal-name">${calendars ? swatch(info.color) : '<span class="icon cal-book" aria-hidden="true"></span>'}<a href="${escapeAttr(info.href)}">${escapeText(info.name)}</a> <span class="cal-count">${count}</span> ${sharedNote(info)}</h2>
${info.description ? `<p class="cal-description">${escapeText(info.description)}</p>` : ''}${clientLinks(req, info)}</li>`;
  });
  const list = items.length
    ? `<ul class="cal-list" id="${calendars ? 'calendars' : 'addressbooks'}">${cards.join('\n')}</ul>`
    : `<p class="cal-empty">No ${calendars ? 'calendars' : 'address books'} here yet.</p>`;
  const rest = more ? `<p class="cal-cut">and ${more} more (in the listing below)</p>` : '';
  return { title, main: `<section class="cal-home" aria-label="${title}">${intro}${list}${rest}</section>` };
}

function header(req: DavRequest, info: CollectionInfo): string {
  const count = info.kind === 'calendar' ? countText(info.count, 'event', 'events') : countText(info.count, 'contact', 'contacts');
  return `<div class="cal-header" data-kind="${info.kind}" data-count="${info.count}">
<p class="cal-name">${info.kind === 'calendar' ? swatch(info.color) : ''}<span class="cal-count">${count}</span> ${sharedNote(info)}</p>
${info.description ? `<p class="cal-description">${escapeText(info.description)}</p>` : ''}${clientLinks(req, info)}</div>`;
}

async function calendarPage(req: DavRequest, states: CalDavStates, info: CollectionInfo): Promise<{ title: string; main: string }> {
  const a = await agenda(req, states, info.entry.path, Date.now());
  return { title: info.name, main: `<section class="cal-page" aria-label="Calendar">${header(req, info)}${renderAgenda(a)}<h2 class="cal-files">Files</h2></section>` };
}

async function bookPage(req: DavRequest, states: CalDavStates, info: CollectionInfo): Promise<{ title: string; main: string }> {
  const list = await contacts(req, states, info.entry.path);
  return { title: info.name, main: `<section class="cal-page" aria-label="Address book">${header(req, info)}${renderContacts(list)}<h2 class="cal-files">Files</h2></section>` };
}

/**
 * An address book's contacts for its page: name (FN), e-mail addresses and phone numbers, from
 * CardDAV's card cache (lib/carddav/cards.ts: parsed once per ETag). Bounded: at most MAX_CONTACTS
 * cards are read (in file-name order), then sorted by name; the rest are counted, not read
 * ("and N more"; the book's .vcf export has them all).
 */
import { isBackendError } from '../../../backends/errors.js';
import type { CalDavStates } from '../../caldav/state/states.js';
import { collectionFiles } from '../../caldav/query-candidates.js';
import { timeSlicer } from '../../caldav/steps.js';
import { storedCard } from '../../carddav/cards.js';
import type { DavRequest } from '../../dav/context.js';
import { escapeAttr, escapeText } from '../../dav/xml/write.js';
import { MAX_COUNT } from './collections.js';

export const MAX_CONTACTS = 500;

export interface Contact {
  name: string;
  emails: string[];
  phones: string[];
  group: boolean;
  href: string;
}

export async function contacts(req: DavRequest, states: CalDavStates, path: string): Promise<{ rows: Contact[]; total: number }> {
  const rows: Contact[] = [];
  let total = 0;
  const slice = timeSlicer();
  for await (const entry of await collectionFiles(states, req, path, true)) {
    if (++total > MAX_COUNT) break;
    if (rows.length >= MAX_CONTACTS) continue; // counted, not read
    await slice();
    let card;
    try {
      card = await storedCard(states, req, entry);
    } catch (err) {
      if (isBackendError(err, 'NotFound')) continue; // gone since the listing
      throw err;
    }
    if (!card) continue;
    const all = (name: string) => card.properties.filter((p) => p.name === name && p.value.trim() !== '').map((p) => p.value.trim().replace(/^tel:/i, '').replace(/^mailto:/i, ''));
    rows.push({ name: card.fn.trim(), emails: all('EMAIL').slice(0, 5), phones: all('TEL').slice(0, 5), group: card.kind === 'group', href: req.href(entry.path, false) });
  }
  const collator = new Intl.Collator(undefined, { sensitivity: 'base' });
  rows.sort((a, b) => (a.name === '') !== (b.name === '') ? (a.name === '' ? 1 : -1) : collator.compare(a.name, b.name));
  return { rows, total: Math.min(total, MAX_COUNT) };
}

export function renderContacts(list: { rows: Contact[]; total: number }): string {
  const head = `<h2 id="contacts-title">Contacts</h2>`;
  if (list.rows.length === 0) return `<section class="cal-contacts" aria-labelledby="contacts-title">${head}<p class="cal-empty">No contacts yet.</p></section>`;
  const rows = list.rows.map((c) => {
    const mails = c.emails.map((m) => `<a href="${escapeAttr(`mailto:${m}`)}">${escapeText(m)}</a>`).join('<br>');
    const tels = c.phones.map((t) => `<a href="${escapeAttr(`tel:${t.replace(/[^0-9+*#,;]/g, '')}`)}">${escapeText(t)}</a>`).join('<br>');
    return `<tr class="cal-contact"><td><a href="${escapeAttr(c.href)}">${escapeText(c.name || '(no name)')}</a>${c.group ? ' <span class="cal-tag">group</span>' : ''}</td><td>${mails}</td><td>${tels}</td></tr>`;
  });
  const more = list.total - list.rows.length;
  const note = more > 0 ? `<p class="cal-cut">and ${more.toLocaleString('en')} more (the first ${list.rows.length} files are shown; “Download all” has every card)</p>` : '';
  return `<section class="cal-contacts" aria-labelledby="contacts-title">${head}
<table id="contacts"><thead><tr><th scope="col">Name</th><th scope="col">E-mail</th><th scope="col">Phone</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>${note}</section>`;
}

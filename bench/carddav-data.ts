/**
 * The CardDAV bench's address book: N contacts (seeded, the same bytes every run) shaped like what
 * phones and mail clients upload — FN, N, one or two EMAILs, a TEL, an ORG, sometimes TITLE, ADR,
 * BDAY, NICKNAME or NOTE; vCard 3.0 mostly, every 10th 4.0; some names non-ASCII (Müller, Zoë,
 * Łukasz, 渡辺). Lines are folded at 75 octets, never inside a UTF-8 sequence (RFC 6350 §3.2). The
 * generator also knows, from its own data, which cards each bench query must find, so every
 * server's answer can be checked.
 */

import { rng } from './caldav-data.js';

export interface Contact {
  /** Resource name in the address book, e.g. card-00042.vcf. */
  name: string;
  uid: string;
  vcf: string;
  fn: string;
  emails: string[];
}

/** The two addressbook-queries: a name as a user types it (casemap must fold Ü), and an e-mail domain. */
export const QUERIES = {
  name: { prop: 'FN', text: 'MÜLLER', collation: 'i;unicode-casemap' },
  email: { prop: 'EMAIL', text: '@nordwind.example', collation: 'i;unicode-casemap' },
} as const;
export type QueryId = keyof typeof QUERIES;

const FIRST = [
  'Ada', 'Alan', 'Grace', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Frances', 'Edsger', 'Radia', 'Tim',
  'Zoë', 'Łukasz', 'Søren', 'Chloé', 'Jürgen', 'Inés', 'Björn', 'Ana', 'Marta', 'Paolo', 'Yuki', 'Olga',
  'Noah', 'Emma', 'Liam', 'Mia', 'Lucas', 'Léa', 'Jonas', 'Sofia', 'Elif', 'Mehmet', 'Aisha', 'Omar',
] as const;
/** Müller once in 60, with Müllerová, which FN contains MÜLLER must find too (about 3% of the cards), and Mueller, which it must not. */
const LAST = [
  'Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Hamilton', 'Ritchie', 'Liskov', 'Thompson', 'Allen', 'Dijkstra',
  'Perlman', 'Berners-Lee', 'Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker',
  'Martin', 'Dubois', 'Lefèvre', 'García', 'Fernández', 'López', 'Rossi', 'Russo', 'Nowak', 'Kowalski',
  'Wiśniewski', 'Jensen', 'Nielsen', 'Hansen', 'Johansson', 'Andersson', 'Yılmaz', 'Kaya', 'Demir', 'Şahin',
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Miller', 'Davis', 'Wilson', 'Taylor', 'Anderson',
  'Müllerová', 'Mueller', '渡辺', 'Tanaka', 'Ivanova', 'Petrov', 'O\'Brien', 'Murphy', 'Kelly', 'Novák',
] as const;
const ORGS = ['Analytical Engines Ltd', 'Bletchley Park', 'Nordwind GmbH', 'Café Zürich AG', 'Acme Corp.', 'Société Générale des Eaux', 'Kite & Co', 'Universität Wien'] as const;
const TITLES = ['Engineer', 'Head of Research', 'Accountant', 'Sales', 'Product Manager', 'Geschäftsführerin'] as const;
/** nordwind.example: 1 in 30 of the addresses (about 6% of the cards). */
const DOMAINS = [
  'example.org', 'example.com', 'mail.example', 'post.example', 'web.example', 'gmx.example', 'kite.example', 'uni-wien.example',
  'example.net', 'posteo.example', 'fastmail.example', 'proton.example', 'icloud.example', 'outlook.example', 'yahoo.example',
  'gmail.example', 'gmail.example', 'gmail.example', 'gmail.example', 'gmail.example', 'web.example', 'example.org',
  'example.com', 'mail.example', 'acme.example', 'acme.example', 'zurich.example', 'bletchley.example', 'engines.example', 'nordwind.example',
] as const;
const STREETS = ['Hauptstraße 12', '221B Baker Street', 'Rue de Rivoli 9', 'Calle Mayor 4', 'Kärntner Straße 38', 'Via Roma 1', 'Storgatan 7'] as const;
const CITIES = [
  ['Berlin', '10115', 'Germany'],
  ['London', 'NW1 6XE', 'United Kingdom'],
  ['Paris', '75001', 'France'],
  ['Madrid', '28013', 'Spain'],
  ['Wien', '1010', 'Austria'],
  ['Roma', '00184', 'Italy'],
  ['Göteborg', '411 01', 'Sweden'],
] as const;
const NOTES = [
  'Met at the conference in Zürich; prefers e-mail. Interested in the CalDAV and CardDAV work, follow up in spring.',
  'Call after 18:00. Speaks German, English and a little Italian; the office number is only staffed in the mornings.',
  'Birthday party every year; brings cake.',
  'Former colleague, team lead of the backend group; now at a start-up in Wien, still happy to review designs.',
] as const;
/** What the uploading clients write (each card keeps its own). */
const PRODIDS = ['-//Apple Inc.//iPhone OS 17.2//EN', '+//IDN bitfire.at//DAVx5/4.3.9-ose ez-vcard/0.11.3', '-//Google Inc//Google Contacts Sync 2.0//EN', '-//Mozilla.org/NONSGML Thunderbird 115.6//EN', '-//GNOME//Evolution 3.50//EN'] as const;
const CATEGORIES = ['myContacts', 'Friends', 'Work', 'Family', 'Work,Conference 2026', 'myContacts,Starred'] as const;


/** vCard text escaping (RFC 6350 §3.4) for one component of a value. */
const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/,/g, '\\,').replace(/;/g, '\\;').replace(/\n/g, '\\n');

/** A content line folded at 75 octets (CRLF + space), never splitting a UTF-8 sequence. */
export function fold(line: string): string {
  const out: string[] = [];
  let cur = '';
  let octets = 0;
  for (const ch of line) {
    const n = Buffer.byteLength(ch);
    // The first line holds 75 octets; each continuation 74 after its leading space.
    if (octets + n > (out.length ? 74 : 75)) {
      out.push(cur);
      cur = '';
      octets = 0;
    }
    cur += ch;
    octets += n;
  }
  out.push(cur);
  return out.join('\r\n ');
}

/** A mailbox-safe ASCII form of a name (ü → ue, ł → l, 渡辺 → watanabe). */
function ascii(s: string): string {
  if (s === '渡辺') return 'watanabe';
  return s
    .replace(/ü/g, 'ue').replace(/ö/g, 'oe').replace(/ä/g, 'ae').replace(/ø/g, 'o').replace(/ł/gi, 'l').replace(/ı/g, 'i').replace(/ş/gi, 's').replace(/ś/g, 's')
    .normalize('NFD').replace(/[\u0300-\u036f]/g, '')
    .toLowerCase().replace(/[^a-z0-9]+/g, '');
}

const hex = (rand: () => number, n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');

export function generateContacts(count: number, seed = 20261207): Contact[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const out: Contact[] = [];
  for (let i = 0; i < count; i++) {
    const v4 = i % 10 === 9;
    const first = pick(FIRST);
    const last = pick(LAST);
    const fn = `${first} ${last}`;
    const uid = `${hex(rand, 8)}-${hex(rand, 4)}-4${hex(rand, 3)}-a${hex(rand, 3)}-${String(i).padStart(12, '0')}`;
    const emails = [`${ascii(first)}.${ascii(last)}${rand() < 0.3 ? Math.floor(rand() * 100) : ''}@${pick(DOMAINS)}`];
    if (rand() < 0.4) emails.push(`${ascii(first)[0]}${ascii(last)}@${pick(DOMAINS)}`);
    const lines = ['BEGIN:VCARD', `VERSION:${v4 ? '4.0' : '3.0'}`, `PRODID:${pick(PRODIDS)}`, `UID:${v4 ? 'urn:uuid:' : ''}${uid}`, `FN:${esc(fn)}`, `N:${esc(last)};${esc(first)};;;`];
    if (rand() < 0.15) lines.push(`NICKNAME:${esc(first.slice(0, 3))}`);
    emails.forEach((e, k) => lines.push(v4 ? `EMAIL;TYPE=${k ? 'work' : 'home'}${k ? '' : ';PREF=1'}:${e}` : `EMAIL;TYPE=INTERNET,${k ? 'WORK' : 'HOME,PREF'}:${e}`));
    const tel = `+${pick(['49', '44', '33', '34', '43', '39', '46', '1'])} ${100 + Math.floor(rand() * 900)} ${1000000 + Math.floor(rand() * 9000000)}`;
    lines.push(v4 ? `TEL;VALUE=uri;TYPE=cell:tel:${tel.replace(/ /g, '-')}` : `TEL;TYPE=CELL,VOICE:${tel}`);
    if (rand() < 0.6) lines.push(v4 ? `TEL;VALUE=uri;TYPE=work:tel:+49-30-${1000000 + Math.floor(rand() * 9000000)}` : `TEL;TYPE=WORK,VOICE:+49 30 ${1000000 + Math.floor(rand() * 9000000)}`);
    lines.push(`ORG:${esc(pick(ORGS))}${rand() < 0.3 ? ';Research' : ''}`);
    if (rand() < 0.7) lines.push(`TITLE:${esc(pick(TITLES))}`);
    if (rand() < 0.5) {
      const [city, code, country] = pick(CITIES);
      const adr = `;;${esc(pick(STREETS))};${esc(city)};;${esc(code)};${esc(country)}`;
      // Apple Contacts groups the address with its country code (item1.); others write it plain.
      if (!v4 && rand() < 0.4) lines.push(`item1.ADR;type=HOME;type=pref:${adr}`, `item1.X-ABADR:${country.slice(0, 2).toLowerCase()}`);
      else lines.push(`ADR;TYPE=${v4 ? 'home' : 'HOME'}:${adr}`);
    }
    if (rand() < 0.3) lines.push(`BDAY:${1950 + Math.floor(rand() * 55)}-${String(1 + Math.floor(rand() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rand() * 28)).padStart(2, '0')}`);
    if (rand() < 0.35) lines.push(`NOTE:${esc(pick(NOTES))}`);
    if (rand() < 0.25) lines.push(`URL:https://${ascii(last)}.example/${ascii(first)}`);
    if (rand() < 0.15) lines.push(`X-SOCIALPROFILE;TYPE=mastodon:https://social.example/@${ascii(first)}${ascii(last)}`);
    // Google and DAVx5 tag every card with its groups; the separator comma is not escaped.
    lines.push(`CATEGORIES:${pick(CATEGORIES)}`);
    lines.push(`REV:${v4 ? '20261207T120000Z' : '2026-12-07T12:00:00Z'}`, 'END:VCARD');
    out.push({ name: `card-${String(i).padStart(5, '0')}.vcf`, uid, vcf: lines.map(fold).join('\r\n') + '\r\n', fn, emails });
  }
  return out;
}

/** The cards a query must find: `contains` under i;unicode-casemap (full case folding, here toLowerCase suffices). */
export function expectedHits(cards: Contact[], q: QueryId): Set<string> {
  const needle = QUERIES[q].text.toLowerCase();
  const values = (c: Contact) => (q === 'name' ? [c.fn] : c.emails);
  return new Set(cards.filter((c) => values(c).some((v) => v.toLowerCase().includes(needle))).map((c) => c.name));
}

/** The card again with a changed NOTE (for the sync-collection runs); same UID, still valid. */
export function editedCard(c: Contact, n: number): string {
  return c.vcf.replace(/\r\nEND:VCARD\r\n$/, `\r\nNOTE:bench edit ${n}\r\nEND:VCARD\r\n`);
}

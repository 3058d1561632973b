/**
 * One stored vCard (RFC 6350 for 4.0, RFC 2426 for 3.0) read and checked as CardDAV requires of a PUT
 * (RFC 6352 §5.1, §6.3.2.1): UTF-8, exactly one VCARD, VERSION 3.0 or 4.0, a UID and an FN. Anything
 * wrong is a CardPreconditionError naming valid-address-data (or max-resource-size) whose message says
 * what, and on which line.
 *
 * Parser: our own (unfold.ts, content-line.ts), not ical.js. ical.js 2.2 reads vCard (the group of
 * `item1.EMAIL` becomes a `group` parameter), but it keeps no raw lines (address-data copies them) and
 * as a validator it is both too lax and too strict: it accepts what CardDAV refuses (no UID, no FN, no
 * VERSION, two cards, a VCALENDAR, invalid UTF-8 once decoded) and refuses what real clients write
 * (a BOM, 3.0 bare TYPE values `TEL;WORK:`, a 4.0 timestamp in extended format
 * `REV:2024-01-01T00:00:00Z`, the 3.0 habit carried into 4.0 exports). Measured per
 * fixture in /work/wt/notes15-core.md. So it is not run as a second check: it would add three times
 * our parse time to each PUT (46 µs against 14 µs a card over the client fixtures) and refuse cards
 * clients depend on. Value syntax is not checked beyond the structure:
 * RFC 6352 asks for a valid vCard object, and the server stores the bytes unchanged.
 *
 * Lenient where real clients are: VERSION anywhere in the card (RFC 6350 §6.7.9 wants it right after
 * BEGIN in 4.0; exporters differ), N not required (4.0 clients omit it), an empty FN accepted (3.0
 * exporters write `FN:` for a nameless card), LF line ends, a UTF-8 BOM, blank lines, `_` in names.
 */
import { CardPreconditionError } from './errors.js';
import { contentLine } from './content-line.js';
import { cutGraphemes } from '../../../backends/util/graphemes.js';
import type { CardProperty, ParsedCard, VCardVersion } from './types.js';
import { logicalLines } from './unfold.js';

export interface ParseCardOptions {
  /** Largest card accepted, bytes. */
  maxResourceSize: number;
}

const invalid = (message: string) => new CardPreconditionError('valid-address-data', message);

export function parseCard(bytes: Buffer, { maxResourceSize }: ParseCardOptions): ParsedCard {
  if (bytes.length > maxResourceSize) {
    throw new CardPreconditionError('max-resource-size', `the card is ${bytes.length} octets, more than the ${maxResourceSize} this address book accepts`);
  }
  const properties = structure(logicalLines(bytes));
  const version = versionOf(properties);
  const one = (name: string): CardProperty | undefined => {
    let found: CardProperty | undefined;
    for (const p of properties) {
      if (p.name !== name) continue;
      if (found) throw invalid(`the vCard has more than one ${name}`);
      found = p;
    }
    return found;
  };
  const uid = one('UID')?.value.trim();
  if (!uid) throw invalid('the vCard has no UID (RFC 6352 §5.1 requires one)');
  const fn = properties.find((p) => p.name === 'FN')?.value;
  if (fn === undefined) throw invalid(`the vCard has no FN (vCard ${version} requires one)`);
  const kind = (one('KIND') ?? properties.find((p) => p.name === 'X-ADDRESSBOOKSERVER-KIND'))?.value.trim().toLowerCase() || 'individual';
  return { version, uid, fn, kind, properties };
}

/** A card as history names it: `contact "Ada Lovelace"`, `group "Family"`. */
export function cardTitle(card: ParsedCard): string {
  const what = card.kind === 'group' ? 'group' : card.kind === 'org' ? 'organization' : 'contact';
  const name = card.fn.replace(/["\r\n\0]+/g, ' ').trim();
  return name ? `${what} "${cutGraphemes(name, 80)}"` : what;
}

/** The properties between the one BEGIN:VCARD and its END:VCARD (VERSION included, BEGIN/END not). */
function structure(lines: ReturnType<typeof logicalLines>): CardProperty[] {
  const properties: CardProperty[] = [];
  let state: 'before' | 'in' | 'after' = 'before';
  for (const { line, at } of lines) {
    if (line.trim() === '') continue;
    const prop = contentLine(line, at);
    const value = prop.name === 'BEGIN' || prop.name === 'END' || prop.name === 'VERSION' ? prop.value.trim().toUpperCase() : '';
    if (prop.name === 'BEGIN') {
      if (value === 'VCALENDAR') throw invalid('this is a calendar object (BEGIN:VCALENDAR), not a vCard: it belongs in a calendar');
      if (value !== 'VCARD') throw invalid(`line ${at}: BEGIN:${prop.value} (a vCard holds no components)`);
      if (state === 'in') throw invalid(`line ${at}: BEGIN:VCARD inside a vCard`);
      if (state === 'after') throw invalid('more than one vCard in one resource (RFC 6352 §5.1: one vCard per address object)');
      state = 'in';
    } else if (state === 'before') {
      throw invalid(`line ${at}: ${prop.name} before BEGIN:VCARD (not a vCard)`);
    } else if (state === 'after') {
      throw invalid(`line ${at}: ${prop.name} after END:VCARD`);
    } else if (prop.name === 'END') {
      if (value !== 'VCARD') throw invalid(`line ${at}: END:${prop.value} inside a vCard`);
      state = 'after';
    } else {
      if (prop.name === 'VERSION' && value === '2.1') throw invalid('vCard 2.1 is not supported: send vCard 3.0 or 4.0');
      properties.push(prop);
    }
  }
  if (state === 'before') throw invalid('not a vCard: no BEGIN:VCARD');
  if (state === 'in') throw invalid('the vCard has no END:VCARD');
  return properties;
}

function versionOf(properties: CardProperty[]): VCardVersion {
  const versions = properties.filter((p) => p.name === 'VERSION');
  if (versions.length === 0) throw invalid('the vCard has no VERSION (3.0 or 4.0)');
  if (versions.length > 1) throw invalid('the vCard has more than one VERSION');
  const v = versions[0].value.trim();
  if (v === '2.1') throw invalid('vCard 2.1 is not supported: send vCard 3.0 or 4.0');
  if (v !== '3.0' && v !== '4.0') throw invalid(`VERSION:${v} is not supported: send vCard 3.0 or 4.0`);
  return v;
}

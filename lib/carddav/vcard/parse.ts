/**
 * One stored vCard (RFC 6350 for 4.0, RFC 2426 for 3.0) read and checked as CardDAV requires of a PUT
 * (RFC 6352 §5.1, §6.3.2.1): UTF-8, exactly one VCARD, VERSION 3.0 or 4.0, a UID and an FN. The
 * content lines are parsed here (ical.js has no access to groups and raw lines, which address-data and
 * filters need); anything wrong is a CardPreconditionError naming valid-address-data (or
 * max-resource-size), whose message says what and on which line.
 */
import { CardPreconditionError } from './errors.js';
import type { CardParam, CardProperty, ParsedCard, VCardVersion } from './types.js';

export interface ParseCardOptions {
  /** Largest card accepted, bytes. */
  maxResourceSize: number;
}

const invalid = (message: string) => new CardPreconditionError('valid-address-data', message);
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export function parseCard(bytes: Buffer, { maxResourceSize }: ParseCardOptions): ParsedCard {
  if (bytes.length > maxResourceSize) throw new CardPreconditionError('max-resource-size', `${bytes.length} octets exceed ${maxResourceSize}`);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw invalid('the card is not valid UTF-8');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = unfold(text);
  let depth = 0;
  let cards = 0;
  let version: VCardVersion | undefined;
  const properties: CardProperty[] = [];
  for (const { line, at } of lines) {
    const prop = contentLine(line, at);
    if (prop.name === 'BEGIN' || prop.name === 'END') {
      if (prop.value.toUpperCase() !== 'VCARD') throw invalid(`line ${at}: ${prop.name}:${prop.value} (a vCard holds no components)`);
      if (prop.name === 'BEGIN') {
        if (depth > 0) throw invalid(`line ${at}: BEGIN:VCARD inside a vCard`);
        if (++cards > 1) throw invalid('more than one vCard in one resource (RFC 6352 §5.1)');
        depth = 1;
      } else {
        if (depth === 0) throw invalid(`line ${at}: END:VCARD without BEGIN`);
        depth = 0;
      }
      continue;
    }
    if (depth === 0) throw invalid(`line ${at}: ${prop.name} outside BEGIN:VCARD … END:VCARD`);
    if (prop.name === 'VERSION') {
      if (version) throw invalid(`line ${at}: a second VERSION`);
      if (prop.value === '2.1') throw invalid('vCard 2.1 is not supported: send 3.0 or 4.0');
      if (prop.value !== '3.0' && prop.value !== '4.0') throw invalid(`line ${at}: VERSION ${prop.value} (3.0 or 4.0 are supported)`);
      version = prop.value;
      continue;
    }
    properties.push(prop);
  }
  if (cards === 0) throw invalid('no BEGIN:VCARD');
  if (depth !== 0) throw invalid('the vCard has no END:VCARD');
  if (!version) throw invalid('the vCard has no VERSION');
  const one = (name: string) => {
    const found = properties.filter((p) => p.name === name);
    if (found.length > 1) throw invalid(`more than one ${name}`);
    return found[0];
  };
  const uid = one('UID')?.value.trim();
  if (!uid) throw invalid('the vCard has no UID (RFC 6352 §5.1 requires one)');
  const fn = properties.find((p) => p.name === 'FN')?.value;
  if (fn === undefined) throw invalid(`the vCard has no FN (required by vCard ${version})`);
  const kind = (one('KIND') ?? properties.find((p) => p.name === 'X-ADDRESSBOOKSERVER-KIND'))?.value.trim().toLowerCase() || 'individual';
  return { version, uid, fn, kind, properties };
}

/** A card as history names it: `contact "Ada Lovelace"`, `group "Family"`. */
export function cardTitle(card: ParsedCard): string {
  const what = card.kind === 'group' ? 'group' : card.kind === 'org' ? 'organization' : 'contact';
  const name = card.fn.replace(/["\r\n\0]+/g, ' ').trim();
  return name ? `${what} "${[...name].slice(0, 80).join('')}"` : what;
}

/** Content lines with their first physical line number; a fold is CRLF (or LF) then one space or tab. */
function unfold(text: string): Array<{ line: string; at: number }> {
  const out: Array<{ line: string; at: number }> = [];
  const physical = text.split(/\r?\n/);
  physical.forEach((p, i) => {
    if (p.startsWith(' ') || p.startsWith('\t')) {
      if (out.length === 0) throw invalid(`line ${i + 1}: a folded line with nothing before it`);
      out[out.length - 1].line += p.slice(1);
    } else if (p !== '') out.push({ line: p, at: i + 1 });
  });
  return out;
}

const NAME = /^(?:([A-Za-z0-9-]+)\.)?([A-Za-z0-9-]+)/;

/** `group.NAME;PARAM=a,"b";X=y:value` (RFC 6350 §3.3). */
function contentLine(line: string, at: number): CardProperty {
  const m = NAME.exec(line);
  if (!m) throw invalid(`line ${at}: not a content line: ${line.slice(0, 40)}`);
  const params: CardParam[] = [];
  let i = m[0].length;
  while (line[i] === ';') {
    const eq = line.indexOf('=', i);
    const pname = eq < 0 ? '' : line.slice(i + 1, eq);
    if (!/^[A-Za-z0-9-]+$/.test(pname)) {
      // 3.0 allows a bare TYPE value (`TEL;WORK:`): read as TYPE=WORK.
      const bare = /^;([A-Za-z0-9-]+)/.exec(line.slice(i));
      if (!bare) throw invalid(`line ${at}: a parameter without a name`);
      params.push({ name: 'TYPE', values: [bare[1]] });
      i += bare[0].length;
      continue;
    }
    i = eq + 1;
    const values: string[] = [];
    for (;;) {
      if (line[i] === '"') {
        const close = line.indexOf('"', i + 1);
        if (close < 0) throw invalid(`line ${at}: an unclosed quote in parameter ${pname}`);
        values.push(line.slice(i + 1, close));
        i = close + 1;
      } else {
        let j = i;
        while (j < line.length && !';:,'.includes(line[j])) j++;
        values.push(line.slice(i, j));
        i = j;
      }
      if (line[i] !== ',') break;
      i++;
    }
    params.push({ name: pname.toUpperCase(), values });
  }
  if (line[i] !== ':') throw invalid(`line ${at}: no ':' after the name and parameters`);
  const raw = line.slice(i + 1);
  return { group: m[1], name: m[2].toUpperCase(), params, value: unescape(raw), raw: line };
}

function unescape(v: string): string {
  return v.replace(/\\([\\,;nN])/g, (_, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

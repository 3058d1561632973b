/**
 * CARDDAV:address-data (RFC 6352 §10.4): the card as stored, or only some of its properties, or in
 * the other vCard version. Pure; when nothing is asked (or the stored version is asked) the stored
 * text is returned as is, octet for octet.
 *
 * With `props`, the card keeps only the named properties plus BEGIN, END, VERSION and UID: VERSION
 * says how to read the rest, and UID is the card's identity (RFC 6352 §5.1) that clients key on
 * (Evolution lists a book asking for just VERSION and UID; a card without one is not an address
 * object). Names match with or without a group (`EMAIL` matches `item1.EMAIL`, which keeps its
 * group); a kept grouped property brings its group's Apple annotations (X-ABLABEL, X-ABADR), which
 * only describe it: without its label Apple shows `item1.EMAIL` as "other". `novalue` keeps the
 * property and its parameters with an empty value. Lines are CRLF, folded at 75 octets.
 */
import { parseCard } from './parse.js';
import { convertCard } from './convert.js';
import type { AddressDataRequest, CardProperty, ParsedCard } from './types.js';
import { foldLine, rawHead } from './write.js';

const ALWAYS = new Set(['VERSION', 'UID']);
const ANNOTATIONS = new Set(['X-ABLABEL', 'X-ABADR']);

export function addressData(text: string, card: ParsedCard | null, request: AddressDataRequest): string {
  if (!request.props && !request.version) return text;
  const parsed = card ?? readable(text);
  if (!parsed) return text; // not a card: nothing to select from or convert (queries skip such members)
  const converting = request.version !== undefined && request.version !== parsed.version;
  if (!request.props && !converting) return text;
  let props = converting ? convertCard(parsed, request.version!) : versionFirst(parsed.properties);
  if (request.props) props = select(props, request.props);
  let out = 'BEGIN:VCARD\r\n';
  for (const p of props) out += `${foldLine(p.raw)}\r\n`;
  return `${out}END:VCARD\r\n`;
}

function readable(text: string): ParsedCard | null {
  try {
    return parseCard(Buffer.from(text, 'utf8'), { maxResourceSize: Number.MAX_SAFE_INTEGER });
  } catch {
    return null;
  }
}

/** RFC 6350 §6.7.9: VERSION right after BEGIN in what we write. */
function versionFirst(props: CardProperty[]): CardProperty[] {
  const i = props.findIndex((p) => p.name === 'VERSION');
  return i <= 0 ? props : [props[i], ...props.slice(0, i), ...props.slice(i + 1)];
}

function select(props: CardProperty[], asked: NonNullable<AddressDataRequest['props']>): CardProperty[] {
  const wanted = new Map<string, boolean>(); // upper-cased name (or group.NAME) → noValue
  for (const { name, noValue } of asked) {
    const key = name.toUpperCase();
    wanted.set(key, (wanted.get(key) ?? true) && noValue);
  }
  const noValueOf = (p: CardProperty): boolean | undefined => wanted.get(p.name) ?? (p.group ? wanted.get(`${p.group.toUpperCase()}.${p.name}`) : undefined);
  const groups = new Set<string>();
  for (const p of props) if (p.group && noValueOf(p) !== undefined) groups.add(p.group.toUpperCase());
  const out: CardProperty[] = [];
  for (const p of props) {
    const noValue = noValueOf(p);
    if (ALWAYS.has(p.name)) out.push(p);
    else if (noValue !== undefined) out.push(noValue ? { ...p, value: '', raw: rawHead(p) } : p);
    else if (p.group && ANNOTATIONS.has(p.name) && groups.has(p.group.toUpperCase())) out.push(p);
  }
  return out;
}

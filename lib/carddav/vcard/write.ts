/**
 * Writing content lines back (RFC 6350 §3.2–3.3): a property's head from its parts, the raw value of a
 * stored line, and folding at 75 octets with CRLF and one space, never inside a UTF-8 character.
 */
import type { CardParam, CardProperty } from './types.js';

const FOLD_OCTETS = 75;

/** `line` folded: each physical line at most 75 octets (the continuation's leading space included). */
export function foldLine(line: string): string {
  const octets = Buffer.byteLength(line, 'utf8');
  if (octets <= FOLD_OCTETS) return line;
  const parts: string[] = [];
  if (octets === line.length) {
    // ASCII: one octet per code unit.
    parts.push(line.slice(0, FOLD_OCTETS));
    for (let i = FOLD_OCTETS; i < line.length; i += FOLD_OCTETS - 1) parts.push(line.slice(i, i + FOLD_OCTETS - 1));
    return parts.join('\r\n ');
  }
  let start = 0;
  let used = 0;
  let limit = FOLD_OCTETS;
  for (let i = 0; i < line.length; ) {
    const cp = line.codePointAt(i)!;
    const units = cp > 0xffff ? 2 : 1;
    const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (used + size > limit) {
      parts.push(line.slice(start, i));
      start = i;
      used = 0;
      limit = FOLD_OCTETS - 1;
    }
    used += size;
    i += units;
  }
  parts.push(line.slice(start));
  return parts.join('\r\n ');
}

/** Where a raw content line's value starts: after the first ':' outside a quoted parameter value. */
export function valueStart(raw: string): number {
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x22) quoted = !quoted;
    else if (c === 0x3a && !quoted) return i + 1;
  }
  return raw.length;
}

/** The value as written in the stored line (escapes kept). */
export const rawValue = (p: CardProperty): string => p.raw.slice(valueStart(p.raw));

/** The line as stored up to and including its ':'. */
export const rawHead = (p: CardProperty): string => p.raw.slice(0, valueStart(p.raw));

function paramValue(v: string): string {
  return /[:;,]/.test(v) ? `"${v}"` : v;
}

/** `group.NAME;P=a,b:` from parts (the value follows). */
export function head(group: string | undefined, name: string, params: CardParam[]): string {
  let out = group ? `${group}.${name}` : name;
  for (const p of params) out += `;${p.name}=${p.values.map(paramValue).join(',')}`;
  return `${out}:`;
}

/** `\` `,` `;` and newlines escaped for a text value (RFC 6350 §3.4). */
export function escapeText(v: string): string {
  return v.replace(/[\\,;]/g, (c) => `\\${c}`).replace(/\r?\n/g, '\\n');
}

/**
 * A card whose VERSION is not 3.0 or 4.0 is refused with CARDDAV:supported-address-data, not
 * valid-address-data: RFC 6352 §6.3.2.1 keeps valid-address-data for data that is not valid for its
 * media type, and supported-address-data for a type the collection does not take; the collection's
 * supported-address-data property (§6.2.2) lists types as content-type AND version (text/vcard 3.0
 * and 4.0 here), so a well-formed 2.1 card is valid vCard of a version this server does not support
 * (CalDAV's calendar-data version 1.0 is refused with supported-calendar-data the same way).
 */
import { CardPreconditionError } from './errors.js';
import { snippet } from './limits.js';

export function unsupportedVersion(v: string): CardPreconditionError {
  const message = v === '2.1' ? 'vCard 2.1 is not supported: send vCard 3.0 or 4.0' : `VERSION:${snippet(v)} is not supported: send vCard 3.0 or 4.0`;
  return new CardPreconditionError('supported-address-data', message);
}

const VERSION = Buffer.from('VERSION:', 'latin1');

/**
 * The VERSION value of unfolded, not yet decoded lines (LF-separated), read as Latin-1, if any: a
 * 2.1 card is often in Windows-1252 / Latin-1, and its refusal should say "2.1", not "not UTF-8".
 */
export function versionInBytes(lines: Uint8Array): string | undefined {
  for (let start = 0; start < lines.length; ) {
    let lf = lines.indexOf(0x0a, start);
    if (lf < 0) lf = lines.length;
    if (lf - start > VERSION.length && VERSION.every((c, i) => (lines[start + i] | 0x20) === (c | 0x20))) {
      return Buffer.from(lines.buffer, lines.byteOffset + start + VERSION.length, Math.min(lf - start - VERSION.length, 80)).toString('latin1').trim();
    }
    start = lf + 1;
  }
  return undefined;
}

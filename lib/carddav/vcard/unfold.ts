/**
 * A card's bytes as logical content lines (RFC 6350 §3.2): a fold is a line break (CRLF, or a bare LF
 * as some exporters write) followed by one space or tab. Unfolding happens on the BYTES, before
 * decoding, because some clients fold at 75 octets straight through a multi-byte character; only the
 * unfolded text is then decoded, strictly (invalid UTF-8 is refused, never replaced with U+FFFD).
 * One pass copies the bytes without their folds and blank lines into one buffer (no object per
 * physical line, so a 10 MB card of millions of tiny or blank lines costs a few buffers, not hundreds
 * of MB), and stops at MAX_PROPERTIES content lines; then one strict decode and one split.
 */
import { CardPreconditionError } from './errors.js';
import { MAX_PROPERTIES } from './limits.js';
import { unsupportedVersion, versionInBytes } from './version.js';

export interface LogicalLine {
  /** The content line, unfolded, without its line break. */
  line: string;
  /** Its first physical line, 1-based (for messages). */
  at: number;
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const UTF8 = new TextDecoder('utf-8', { fatal: true });
/** BEGIN and END besides the properties. */
const MAX_LINES = MAX_PROPERTIES + 2;

const invalid = (message: string) => new CardPreconditionError('valid-address-data', message);

export function logicalLines(bytes: Uint8Array): LogicalLine[] {
  const body = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  const out = Buffer.allocUnsafe(body.length);
  const at: number[] = []; // logical line i starts on physical line at[i]
  let n = 0;
  let physical = 0;
  let open = false; // a content line is being read, which a fold may continue
  for (let start = 0; start < body.length; ) {
    let lf = body.indexOf(LF, start);
    if (lf < 0) lf = body.length;
    const end = lf > start && body[lf - 1] === CR ? lf - 1 : lf;
    physical++;
    if (start === end) open = false; // a blank line: skipped (exporters leave them)
    else if (body[start] === SP || body[start] === HT) {
      if (!open) throw invalid(`line ${physical}: a folded line with nothing before it`);
      n = copy(body, start + 1, end, out, n);
    } else {
      if (at.length === MAX_LINES) throw invalid(`the vCard has more than ${MAX_PROPERTIES} properties, the most one card may hold here (real cards have tens; a large group a few thousand)`);
      if (at.length > 0) out[n++] = LF;
      n = copy(body, start, end, out, n);
      at.push(physical);
      open = true;
    }
    start = lf + 1;
  }
  const text = checked(decode(out.subarray(0, n), at), at);
  if (at.length === 0) return [];
  return text.split('\n').map((line, i) => ({ line, at: at[i] }));
}

/** `from[a, b)` into `to` at `n`; returns the new end. Short runs byte by byte (no subarray object). */
function copy(from: Uint8Array, a: number, b: number, to: Buffer, n: number): number {
  if (b - a > 32) {
    to.set(from.subarray(a, b), n);
    return n + b - a;
  }
  for (let i = a; i < b; i++) to[n++] = from[i];
  return n;
}

/**
 * C0 controls other than tab and LF, and U+FFFE/U+FFFF: not vCard text (RFC 6350 §3.3 allows WSP,
 * VCHAR and non-ASCII) and not XML 1.0 characters either, so a card holding one would make every
 * REPORT answer that carries it unreadable to the client (Outlook notes can hold a vertical tab).
 * A CR here is one not followed by LF (those were line ends, removed): lines end with CRLF, and
 * readers that split on any line end (vdirsyncer, Python vobject) would see `NOTE:x\rUID:y` as two
 * properties where the server sees one.
 */
const NOT_TEXT = /[\x00-\x08\x0b-\x1f\ufffe\uffff]/;

function checked(text: string, at: number[]): string {
  const bad = NOT_TEXT.exec(text);
  if (!bad) return text;
  let line = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < bad.index; i = text.indexOf('\n', i + 1)) line++;
  const code = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
  throw invalid(`line ${at[line]}: a control character (U+${code}) that neither vCard nor XML can carry`);
}

/**
 * Strict UTF-8; on failure the slow path finds the first bad line, so the message can name it (unless
 * the card says it is a version we refuse anyway: that is the message that helps).
 */
function decode(bytes: Uint8Array, at: number[]): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    const version = versionInBytes(bytes);
    if (version !== undefined && version !== '3.0' && version !== '4.0') throw unsupportedVersion(version);
    let start = 0;
    for (let i = 0; start <= bytes.length; i++) {
      let lf = bytes.indexOf(LF, start);
      if (lf < 0) lf = bytes.length;
      try {
        UTF8.decode(bytes.subarray(start, lf));
      } catch {
        throw invalid(`line ${at[i]}: not valid UTF-8 (a vCard is UTF-8, RFC 6350 §3.1)`);
      }
      start = lf + 1;
    }
    throw invalid('the card is not valid UTF-8 (RFC 6350 §3.1)');
  }
}

/**
 * A card's bytes as logical content lines (RFC 6350 §3.2): a fold is a line break (CRLF, or a bare LF
 * as some exporters write) followed by one space or tab. Unfolding happens on the BYTES, before
 * decoding, because some clients fold at 75 octets straight through a multi-byte character; only the
 * unfolded text is then decoded, strictly (invalid UTF-8 is refused, never replaced with U+FFFD).
 * Linear in the card's size: one scan for folds; when there are some, one copy without them.
 */
import { CardPreconditionError } from './errors.js';

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

const invalid = (message: string) => new CardPreconditionError('valid-address-data', message);

export function logicalLines(bytes: Uint8Array): LogicalLine[] {
  const body = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  if (body[0] === SP || body[0] === HT) throw invalid('line 1: a folded line with nothing before it');
  return hasFold(body) ? unfoldBytes(body) : plain(body);
}

function hasFold(b: Uint8Array): boolean {
  for (let lf = b.indexOf(LF); lf >= 0 && lf + 1 < b.length; lf = b.indexOf(LF, lf + 1)) {
    if (b[lf + 1] === SP || b[lf + 1] === HT) return true;
  }
  return false;
}

/** No fold: physical lines are the logical lines. */
function plain(body: Uint8Array): LogicalLine[] {
  const lines = checked(decode(body, null), null).split('\n');
  return lines.map((line, i) => ({ line: line.endsWith('\r') ? line.slice(0, -1) : line, at: i + 1 }));
}

/** The bytes without their folds, decoded once; `at` maps each logical line to its physical one. */
function unfoldBytes(body: Uint8Array): LogicalLine[] {
  const chunks: Uint8Array[] = [];
  const at: number[] = [];
  let physical = 0;
  for (let start = 0; start <= body.length; ) {
    let lf = body.indexOf(LF, start);
    if (lf < 0) lf = body.length;
    const end = lf > start && body[lf - 1] === CR ? lf - 1 : lf;
    physical++;
    if (start < end && (body[start] === SP || body[start] === HT)) chunks.push(body.subarray(start + 1, end));
    else {
      if (at.length > 0) chunks.push(NEWLINE);
      chunks.push(body.subarray(start, end));
      at.push(physical);
    }
    start = lf + 1;
  }
  const lines = checked(decode(Buffer.concat(chunks), at), at).split('\n');
  return lines.map((line, i) => ({ line, at: at[i] }));
}

const NEWLINE = Uint8Array.of(LF);

/**
 * C0 controls other than tab, LF and CR, and U+FFFE/U+FFFF: not vCard text (RFC 6350 §3.3 allows
 * WSP, VCHAR and non-ASCII) and not XML 1.0 characters either, so a card holding one would make every
 * REPORT answer that carries it unreadable to the client (Outlook notes can hold a vertical tab).
 */
const NOT_TEXT = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/;

function checked(text: string, at: number[] | null): string {
  const bad = NOT_TEXT.exec(text);
  if (!bad) return text;
  let line = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < bad.index; i = text.indexOf('\n', i + 1)) line++;
  const code = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
  throw invalid(`line ${at ? at[line] : line + 1}: a control character (U+${code}) that neither vCard nor XML can carry`);
}

/** Strict UTF-8; on failure the slow path finds the first bad line, so the message can name it. */
function decode(bytes: Uint8Array, at: number[] | null): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    let start = 0;
    for (let i = 0; start <= bytes.length; i++) {
      let lf = bytes.indexOf(LF, start);
      if (lf < 0) lf = bytes.length;
      try {
        UTF8.decode(bytes.subarray(start, lf));
      } catch {
        throw invalid(`line ${at ? at[i] : i + 1}: not valid UTF-8 (a vCard is UTF-8, RFC 6350 §3.1)`);
      }
      start = lf + 1;
    }
    throw invalid('the card is not valid UTF-8 (RFC 6350 §3.1)');
  }
}

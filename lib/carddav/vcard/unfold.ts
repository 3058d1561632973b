/**
 * A card's bytes as logical content lines (RFC 6350 §3.2): a fold is a line break (CRLF, or a bare LF
 * as some exporters write) followed by one space or tab. Unfolding happens on the BYTES, before
 * decoding, because some clients fold at 75 octets straight through a multi-byte character; only the
 * unfolded text is then decoded, strictly (invalid UTF-8 is refused, never replaced with U+FFFD).
 * One pass over the bytes, one copy when something was folded: linear in the card's size.
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
  let start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const chunks: Uint8Array[] = [];
  const at: number[] = [];
  let folded = false;
  let physical = 0;
  while (start <= bytes.length) {
    let lf = bytes.indexOf(LF, start);
    if (lf < 0) lf = bytes.length;
    const end = lf > start && bytes[lf - 1] === CR ? lf - 1 : lf;
    physical++;
    if (start < end && (bytes[start] === SP || bytes[start] === HT)) {
      if (at.length === 0) throw invalid(`line ${physical}: a folded line with nothing before it`);
      chunks.push(bytes.subarray(start + 1, end));
      folded = true;
    } else {
      if (at.length > 0) chunks.push(NEWLINE);
      chunks.push(bytes.subarray(start, end));
      at.push(physical);
    }
    start = lf + 1;
  }
  const unfolded = folded ? Buffer.concat(chunks) : bytes.subarray(bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0);
  const text = decode(unfolded, at);
  const lines = folded ? text.split('\n') : text.split(/\r?\n/);
  return lines.map((line, i) => ({ line, at: at[i] }));
}

const NEWLINE = Uint8Array.of(LF);

/** Strict UTF-8; on failure the slow path finds the first bad line, so the message can name it. */
function decode(unfolded: Uint8Array, at: number[]): string {
  try {
    return UTF8.decode(unfolded);
  } catch {
    let start = 0;
    for (let i = 0; start <= unfolded.length; i++) {
      let lf = unfolded.indexOf(LF, start);
      if (lf < 0) lf = unfolded.length;
      try {
        UTF8.decode(unfolded.subarray(start, lf));
      } catch {
        throw invalid(`line ${at[i] ?? i + 1}: not valid UTF-8 (a vCard is UTF-8, RFC 6350 §3.1)`);
      }
      start = lf + 1;
    }
    throw invalid('the card is not valid UTF-8 (RFC 6350 §3.1)');
  }
}

/**
 * `Range: bytes=…` (RFC 9110 §14) → byte ranges clipped to the size, overlapping or adjacent ones
 * coalesced (§14.2 allows it), so the bytes sent never exceed the size plus the parts' headers: 64 ×
 * `bytes=0-` on 10 MiB once sent 671 MB. Coalescing rather than refusing keeps a benign client's
 * slightly overlapping ranges working (the request is answered, just with fewer, larger parts); a
 * request of several ranges that covers the whole representation gets it once, as a 200 (Apache
 * answers such a request, and one with too many overlaps, with the whole file; nginx too). Pure.
 */
import type { ByteRange } from '../../backends/backend.js';

export type RangeResult =
  | { kind: 'none' } // no usable Range header: send the whole representation
  | { kind: 'unsatisfiable' }
  | { kind: 'ranges'; ranges: ByteRange[] };

export function parseRange(header: string | undefined, size: number, maxRanges = 64): RangeResult {
  if (!header) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m) return { kind: 'none' }; // other units are ignored, as RFC 9110 allows
  const parts = m[1]!.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0 || parts.length > maxRanges) return { kind: 'none' };
  const ranges: ByteRange[] = [];
  for (const part of parts) {
    const r = /^(\d*)\s*-\s*(\d*)$/.exec(part);
    if (!r || (r[1] === '' && r[2] === '')) return { kind: 'none' }; // syntactically invalid: ignore the header
    if (r[1] === '') {
      const suffix = Number(r[2]);
      if (suffix === 0) continue;
      if (size === 0) return { kind: 'none' }; // satisfiable, but no byte range can describe 0 bytes
      ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
    } else {
      const start = Number(r[1]);
      const end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
      if (r[2] !== '' && Number(r[2]) < start) return { kind: 'none' };
      if (start >= size) continue;
      ranges.push({ start, end });
    }
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  const merged = coalesce(ranges);
  const whole = merged.length === 1 && merged[0]!.start === 0 && merged[0]!.end === size - 1;
  if (whole && ranges.length > 1) return { kind: 'none' };
  return { kind: 'ranges', ranges: merged };
}

/**
 * Merges overlapping and adjacent ranges; the rest keep the request's order, a merged range taking
 * the place of its earliest member (RFC 9110 §14.6: parts SHOULD follow the request's order,
 * "excluding those ranges ... that were coalesced into other ranges").
 */
export function coalesce(ranges: readonly ByteRange[]): ByteRange[] {
  const byStart = ranges.map((r, i) => ({ ...r, first: i })).sort((a, b) => a.start - b.start || a.first - b.first);
  const groups: Array<ByteRange & { first: number }> = [];
  for (const r of byStart) {
    const last = groups[groups.length - 1];
    if (last && r.start <= last.end + 1) {
      last.end = Math.max(last.end, r.end);
      last.first = Math.min(last.first, r.first);
    } else {
      groups.push({ ...r });
    }
  }
  return groups.sort((a, b) => a.first - b.first).map(({ start, end }) => ({ start, end }));
}

/** A multipart/byteranges body (RFC 9110 §14.6): each part's head, then its bytes; then the closing. */
export interface MultipartByteranges {
  parts: Array<{ range: ByteRange; head: string }>;
  closing: string;
  /** Bytes of the whole body. */
  length: number;
}

export function multipartByteranges(ranges: readonly ByteRange[], size: number, type: string, boundary: string): MultipartByteranges {
  const parts = ranges.map((range) => ({
    range,
    head: `\r\n--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${range.start}-${range.end}/${size}\r\n\r\n`,
  }));
  const closing = `\r\n--${boundary}--\r\n`;
  const length = parts.reduce((n, p) => n + Buffer.byteLength(p.head) + p.range.end - p.range.start + 1, 0) + closing.length;
  return { parts, closing, length };
}

/** `Content-Range: bytes a-b/total` on a PUT: the partial-update form. Pure. */
export interface ContentRange {
  start: number;
  end: number;
  total?: number;
}

export function parseContentRange(header: string): ContentRange | null {
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(header);
  if (!m) return null;
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = m[3] === '*' ? undefined : Number(m[3]);
  if (end < start || (total !== undefined && end >= total)) return null;
  if (!Number.isSafeInteger(end)) return null;
  return { start, end, total };
}

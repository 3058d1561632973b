/** `Range: bytes=…` (RFC 9110 §14) → byte ranges clipped to the size. Pure. */
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
  return { kind: 'ranges', ranges };
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

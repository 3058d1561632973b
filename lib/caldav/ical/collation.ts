/**
 * text-match collations (RFC 4790) for CALDAV:text-match (RFC 4791 §7.5: a substring test) and
 * CARDDAV:text-match (RFC 6352 §8.3, §10.5.4: equals, contains, starts-with or ends-with). The
 * collation maps both sides to a canonical form first, then the match-type compares those forms.
 */

export const COLLATIONS = ['i;ascii-casemap', 'i;octet', 'i;unicode-casemap'] as const;
export type Collation = (typeof COLLATIONS)[number];

/** RFC 4791 §9.7.5: i;ascii-casemap when the request names none. */
export const DEFAULT_COLLATION: Collation = 'i;ascii-casemap';

export function isCollation(name: string): name is Collation {
  return (COLLATIONS as readonly string[]).includes(name);
}

/** RFC 6352 §8.3: CardDAV's default is i;unicode-casemap (CalDAV's is i;ascii-casemap). */
export const DEFAULT_CARD_COLLATION: Collation = 'i;unicode-casemap';

/** RFC 4790 §4.2 match operations, as CARDDAV:text-match's match-type names them. */
export type MatchType = 'equals' | 'contains' | 'starts-with' | 'ends-with';

/** Does `haystack` contain `needle` under the collation? */
export function collationContains(haystack: string, needle: string, collation: Collation): boolean {
  const fold = FOLD[collation];
  return fold(haystack).includes(fold(needle));
}

/**
 * Does `value` match `text` under the collation and match-type? The substring operations compare
 * canonical forms, so under i;unicode-casemap (NFKD) "zoe" starts "Zoë" (Z O E + combining diaeresis)
 * but does not equal it.
 */
export function collationMatch(value: string, text: string, collation: Collation, matchType: MatchType): boolean {
  return textMatcher(text, collation, matchType)(value);
}

/** The same test with `text` folded once, for matching many values (every card of an address book). */
export function textMatcher(text: string, collation: Collation, matchType: MatchType): (value: string) => boolean {
  const fold = FOLD[collation];
  const test = foldedMatcher(fold(text), matchType);
  return (value) => test(fold(value));
}

/** A test of an already folded value against an already folded text (callers that fold each value once). */
export function foldedMatcher(folded: string, matchType: MatchType): (foldedValue: string) => boolean {
  switch (matchType) {
    case 'equals':
      return (v) => v === folded;
    case 'contains':
      return (v) => v.includes(folded);
    case 'starts-with':
      return (v) => v.startsWith(folded);
    case 'ends-with':
      return (v) => v.endsWith(folded);
  }
}

/** `s` in the collation's canonical form (what both sides of a match are compared as). */
export function foldText(s: string, collation: Collation): string {
  return FOLD[collation](s);
}

/** Most names and addresses are ASCII: their folds are one native call. */
const NON_ASCII = /[^\x00-\x7f]/;

const FOLD: Record<Collation, (s: string) => string> = {
  'i;octet': (s) => s,
  // RFC 4790 §9.2: only A–Z fold; every other octet compares as it is (so "Ä" ≠ "ä").
  'i;ascii-casemap': (s) => (NON_ASCII.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s.toLowerCase()),
  'i;unicode-casemap': unicodeCasemap,
};

/**
 * RFC 5051: each character to its simple titlecase, then NFKD. JavaScript has no simple titlecase,
 * so a character's uppercase stands in when it is a single character (titlecase differs from it
 * only for the digraph letters; full mappings like ß → SS are not simple mappings and are skipped).
 *
 * Linear and native: uppercasing has no context (only lowercasing does: final sigma), so whole runs
 * are uppercased at once and only the characters whose uppercase expands (ß, ŉ, ᾀ…: ~100, all in the
 * BMP) are kept as they are. Slices of at most CHUNK code units keep the pieces few and small.
 */
function unicodeCasemap(s: string): string {
  if (!NON_ASCII.test(s)) return s.toUpperCase();
  const d = s.normalize('NFKD');
  const expanding = expandingChars();
  const parts: string[] = [];
  for (let from = 0; from < d.length; ) {
    let to = Math.min(from + CHUNK, d.length);
    // Never split a surrogate pair: a lone half does not uppercase (𐐨 → 𐐀 needs both).
    if (to < d.length && isHighSurrogate(d.charCodeAt(to - 1))) to--;
    const chunk = d.slice(from, to);
    parts.push(expanding.test(chunk) ? upperKeeping(chunk, expanding) : chunk.toUpperCase());
    from = to;
  }
  return parts.join('').normalize('NFKD');
}

const CHUNK = 1 << 16;

const isHighSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;

/** `chunk` uppercased except the characters `expanding` matches (a global regex). */
function upperKeeping(chunk: string, expanding: RegExp): string {
  const parts: string[] = [];
  const each = new RegExp(expanding.source, 'g');
  let from = 0;
  for (let m = each.exec(chunk); m; m = each.exec(chunk)) {
    parts.push(chunk.slice(from, m.index).toUpperCase(), m[0]);
    from = m.index + m[0].length;
  }
  parts.push(chunk.slice(from).toUpperCase());
  return parts.join('');
}

let expandingRegex: RegExp | undefined;

/** The BMP characters whose uppercase is more than one character, as this runtime's ICU says (built once). */
function expandingChars(): RegExp {
  if (!expandingRegex) {
    let set = '';
    for (let unit = 0x80; unit <= 0xffff; unit++) {
      if (unit >= 0xd800 && unit <= 0xdfff) continue;
      const ch = String.fromCharCode(unit);
      if ([...ch.toUpperCase()].length !== 1) set += `\\u${unit.toString(16).padStart(4, '0')}`;
    }
    expandingRegex = new RegExp(`[${set}]`);
  }
  return expandingRegex;
}

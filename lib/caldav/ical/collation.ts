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
  const fold = FOLD[collation];
  const v = fold(value);
  const t = fold(text);
  switch (matchType) {
    case 'equals':
      return v === t;
    case 'contains':
      return v.includes(t);
    case 'starts-with':
      return v.startsWith(t);
    case 'ends-with':
      return v.endsWith(t);
  }
}

const FOLD: Record<Collation, (s: string) => string> = {
  'i;octet': (s) => s,
  // RFC 4790 §9.2: only A–Z fold; every other octet compares as it is (so "Ä" ≠ "ä").
  'i;ascii-casemap': (s) => s.replace(/[A-Z]+/g, (m) => m.toLowerCase()),
  'i;unicode-casemap': unicodeCasemap,
};

/**
 * RFC 5051: each character to its simple titlecase, then NFKD. JavaScript has no simple titlecase,
 * so a character's uppercase stands in when it is a single character (titlecase differs from it
 * only for the digraph letters; full mappings like ß → SS are not simple mappings and are skipped).
 */
function unicodeCasemap(s: string): string {
  let out = '';
  for (const ch of s.normalize('NFKD')) {
    const upper = ch.toUpperCase();
    out += [...upper].length === 1 ? upper : ch;
  }
  return out.normalize('NFKD');
}

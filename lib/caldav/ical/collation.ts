/**
 * CALDAV:text-match collations (RFC 4791 §7.5, RFC 4790). A text-match is a substring test under
 * the collation's equivalence; the collation maps both sides to a canonical form first.
 */

export const COLLATIONS = ['i;ascii-casemap', 'i;octet', 'i;unicode-casemap'] as const;
export type Collation = (typeof COLLATIONS)[number];

/** RFC 4791 §9.7.5: i;ascii-casemap when the request names none. */
export const DEFAULT_COLLATION: Collation = 'i;ascii-casemap';

export function isCollation(name: string): name is Collation {
  return (COLLATIONS as readonly string[]).includes(name);
}

/** Does `haystack` contain `needle` under the collation? */
export function collationContains(haystack: string, needle: string, collation: Collation): boolean {
  const fold = FOLD[collation];
  return fold(haystack).includes(fold(needle));
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

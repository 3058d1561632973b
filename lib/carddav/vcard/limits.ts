/**
 * Bounds on what one card may hold, and on what a message may quote of it. The server stores cards up
 * to max-resource-size (10 MB by default); within that, a hostile card made of millions of tiny
 * lines or parameters would cost hundreds of MB of objects on every PUT and every REPORT that reads it.
 * The caps sit far above real cards so that no client ever meets them.
 */

/**
 * Properties per card (VERSION included, BEGIN/END not). Real contacts have tens; the largest real
 * cards are Apple group cards, one X-ADDRESSBOOKSERVER-MEMBER line per member, and iCloud holds at
 * most 50,000 contacts per account (Google 25,000), so a group of everyone still fits.
 */
export const MAX_PROPERTIES = 50_000;

/** Parameter values per property (`TYPE=work,voice;PREF=1` is 3). Real lines have a handful. */
export const MAX_PARAMETER_VALUES = 100;

/** Longest piece of the card a message quotes, in UTF-16 code units. */
const SNIPPET = 60;

/** `s` cut for a message: at most ~60 characters, never half of a surrogate pair. */
export function snippet(s: string): string {
  if (s.length <= SNIPPET) return s;
  const cut = s.charCodeAt(SNIPPET - 1) >= 0xd800 && s.charCodeAt(SNIPPET - 1) <= 0xdbff ? SNIPPET - 1 : SNIPPET;
  return `${s.slice(0, cut)}…`;
}

/**
 * Text cut where a reader sees a character end (a grapheme cluster: `é`, `👍🏽`, a flag), so a cut
 * string never holds half a surrogate pair (written as U+FFFD) or a skin tone without its emoji.
 * Intl.Segmenter is built into Node; no library needed.
 */
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

export function graphemes(s: string): string[] {
  return Array.from(segmenter.segment(s), (g) => g.segment);
}

/** `s`, or its first `max − 1` graphemes and `…` when it has more than `max`. */
export function cutGraphemes(s: string, max: number): string {
  if (s.length <= max) return s; // at most max code units: at most max graphemes
  const g = graphemes(s);
  return g.length <= max ? s : `${g.slice(0, Math.max(0, max - 1)).join('')}…`;
}

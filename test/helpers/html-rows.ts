/** The rows of a folder page (lib/web/folder-page.ts), read from the data attributes app.js uses too. */
export interface HtmlRow {
  /** As shown: a folder's name ends in `/`. */
  name: string;
  href: string;
  kind: 'file' | 'collection';
  /** `YYYY-MM-DD HH:MM:SS`, UTC. */
  date: string;
  deleted: boolean;
}

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

export function htmlRows(html: string): HtmlRow[] {
  const rows: HtmlRow[] = [];
  for (const m of html.matchAll(/<tr data-href="([^"]*)" data-name="([^"]*)" data-kind="(file|collection)" data-size="\d+" data-modified="([^"]*)">(.*?)<\/tr>/g)) {
    const kind = m[3] as HtmlRow['kind'];
    rows.push({ href: unescape(m[1]!), name: unescape(m[2]!) + (kind === 'collection' ? '/' : ''), kind, date: m[4]!.slice(0, 19).replace('T', ' '), deleted: m[5]!.includes('<span class="deleted">deleted</span>') });
  }
  return rows;
}

/** The href of the page link with `rel` (next, prev). */
export function pageLink(html: string, rel: string): string | undefined {
  return new RegExp(`<a href="([^"]*)" rel="${rel}">`).exec(html)?.[1]?.replace(/&amp;/g, '&');
}

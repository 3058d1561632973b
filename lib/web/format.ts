/** Small formatting pieces the pages share: sizes, times (made human by app.js), icons. */
import { escapeAttr, escapeText } from '../dav/xml/write.js';

export function humanSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * A time as `<time>`: the exact UTC time as text (what a page without JavaScript shows) and in
 * `datetime`; app.js rewrites the text as "3 minutes ago" and puts the exact local time in the title.
 */
export function timeTag(d: Date, style: 'relative' | 'local' = 'relative'): string {
  if (Number.isNaN(d.getTime())) return '<span class="no-time">unknown time</span>'; // a commit dated past year 275760
  const iso = d.toISOString();
  // 'local': app.js shows the date and time in the reader's zone (an agenda), not "in 2 weeks".
  return `<time datetime="${escapeAttr(iso)}" title="${escapeAttr(iso)}"${style === 'local' ? ' data-style="local"' : ''}>${escapeText(iso.slice(0, 19).replace('T', ' '))} UTC</time>`;
}

const KINDS: Array<[RegExp, string]> = [
  [/\.(png|jpe?g|gif|webp|svg|bmp|ico|heic|tiff?)$/i, 'image'],
  [/\.(mp3|wav|flac|ogg|m4a|aac|opus)$/i, 'audio'],
  [/\.(mp4|mkv|webm|mov|avi|m4v)$/i, 'video'],
  [/\.(zip|tar|gz|tgz|bz2|xz|7z|rar|zst)$/i, 'archive'],
  [/\.(pdf)$/i, 'pdf'],
  [/\.(ics|ifb)$/i, 'calendar'],
  [/\.(vcf)$/i, 'contact'],
  [/\.(docx?|odt|rtf|pages)$/i, 'document'],
  [/\.(xlsx?|ods|csv|numbers)$/i, 'sheet'],
  [/\.(pptx?|odp|key)$/i, 'slides'],
  [/\.(ts|js|mjs|cjs|py|rb|go|rs|c|h|cc|cpp|java|kt|sh|json|ya?ml|toml|xml|html?|css|sql|php)$/i, 'code'],
  [/\.(txt|md|markdown|rst|log|ini|cfg|conf)$/i, 'text'],
];

/** The icon class of a row: `icon icon-folder`, `icon icon-image`, … (drawn by app.css). */
export function iconClass(name: string, collection: boolean): string {
  if (collection) return 'icon icon-folder';
  for (const [re, kind] of KINDS) if (re.test(name)) return `icon icon-${kind}`;
  return 'icon icon-file';
}

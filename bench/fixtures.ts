/**
 * The files every server serves: a 1 MiB and a 100 MiB file, a folder of 1,000 small files, and empty
 * folders for the PUTs. Folder servers get them written straight into their data dir; git-backed
 * servers get the same bytes through WebDAV (bench/git.ts), since their files live in commits.
 */
import { copyFileSync, mkdirSync, openSync, closeSync, writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MiB = 1 << 20;
export const SMALL_GET = { path: '/get-1m.bin', size: 1 * MiB };
export const LARGE_GET = { path: '/get-100m.bin', size: 100 * MiB };
export const FOLDER = { path: '/many/', members: 1000, size: 200 };
/** Concurrent clients of the small-PUT runs; each run PUTs new files into its own empty folder. */
export const PUT_CLIENTS = [1, 16] as const;
export const PUT_DIRS = PUT_CLIENTS.map((c) => putDir(c));
export function putDir(clients: number): string {
  return `/puts/c${clients}`;
}
export const MANY_BODY = 'x'.repeat(FOLDER.size - 1) + '\n';
export function manyItem(i: number): string {
  return `item-${String(i).padStart(4, '0')}.txt`;
}
export const BIG = { path: '/big-1g.bin', size: 1024 * MiB };

function writeFilled(file: string, size: number): void {
  const fd = openSync(file, 'w');
  try {
    const chunk = Buffer.alloc(Math.min(size, 4 * MiB));
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
    for (let done = 0; done < size; ) {
      const n = writeSync(fd, chunk, 0, Math.min(chunk.length, size - done));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes the fixtures into the first dir and copies them into the others. */
export function writeFixtures(dirs: string[]): void {
  const first = dirs[0];
  if (!first) return;
  writeFilled(join(first, SMALL_GET.path), SMALL_GET.size);
  writeFilled(join(first, LARGE_GET.path), LARGE_GET.size);
  for (const dir of dirs) {
    if (dir !== first) {
      copyFileSync(join(first, SMALL_GET.path), join(dir, SMALL_GET.path));
      copyFileSync(join(first, LARGE_GET.path), join(dir, LARGE_GET.path));
    }
    const many = join(dir, FOLDER.path);
    mkdirSync(many, { recursive: true });
    for (let i = 0; i < FOLDER.members; i++) writeFileSync(join(many, manyItem(i)), MANY_BODY);
    for (const d of PUT_DIRS) mkdirSync(join(dir, d), { recursive: true });
  }
}

/** What file browsers and sync clients (rclone, davfs2, Finder) ask a folder listing for. */
export const PROPFIND_PROPS = ['resourcetype', 'getcontentlength', 'getlastmodified', 'getetag', 'getcontenttype'];
export const PROPFIND_BODY =
  '<?xml version="1.0" encoding="utf-8"?>\n' +
  '<D:propfind xmlns:D="DAV:"><D:prop>' +
  PROPFIND_PROPS.map((p) => `<D:${p}/>`).join('') +
  '</D:prop></D:propfind>\n';

/** How many `response` elements a multistatus body holds, whatever the namespace prefix. */
export function countResponses(xml: string): number {
  return (xml.match(/<([A-Za-z][\w.-]*:)?response[\s>]/g) ?? []).length;
}

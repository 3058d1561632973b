/**
 * A folder as a zip (`GET folder/?zip=1`, docs/web.md "Actions and zip"): streamed with yazl, one
 * member at a time straight from the backend (`backend.read`), never buffered whole. The folder is
 * walked first, bounded: past ZIP_LIMITS (files or bytes) the request is refused with 413 before any
 * byte is sent, so a person learns it at once instead of after a long, cut-off download.
 * `/.history` (the git history view) is not zipped from the root; deleted entries are left out; empty
 * folders are directory members. A file's `?zip=1` is a 400.
 */
import { PassThrough, type Readable } from 'node:stream';
import { createRequire } from 'node:module';
import { baseName, type Entry } from '../../backends/backend.js';
import type { DavRequest } from '../dav/context.js';
import { badRequest, DavError } from '../dav/errors/dav-error.js';
import { setPageHeaders } from './page.js';

/** What one zip may hold: more is refused with 413 (say it in docs/web.md when changing these). */
export const ZIP_LIMITS = { files: 20_000, bytes: 4 * 1024 ** 3 };

/** One member to write: a file, or a folder with no members (an explicit directory entry). */
interface Member {
  entry: Entry;
  /** Its name inside the zip, `folder/sub/file`. */
  name: string;
  emptyDir: boolean;
}

/** The part of yazl 3 used here (it ships no types). */
interface YazlZip {
  outputStream: NodeJS.ReadableStream & PassThrough;
  addReadStreamLazy(name: string, options: { size: number; mtime: Date; compress: boolean }, get: (cb: (err: Error | null, stream?: NodeJS.ReadableStream) => void) => void): void;
  addEmptyDirectory(name: string, options: { mtime: Date }): void;
  end(): void;
  on(event: 'error', listener: (err: Error) => void): void;
}
const yazl = createRequire(import.meta.url)('yazl') as { ZipFile: new () => YazlZip };

export async function serveZip(req: DavRequest, entry: Entry, headOnly: boolean): Promise<void> {
  if (req.ctx.query.zip !== '1') throw badRequest('use ?zip=1 to download a folder as a zip');
  if (entry.kind !== 'collection') throw badRequest(`${entry.path} is a file: only a folder can be downloaded as a zip (download the file itself)`);
  const top = zipName(entry.path === '/' ? 'files' : baseName(entry.path));
  const members = await walk(req, entry, top);
  const ctx = req.ctx;
  setPageHeaders(req);
  ctx.status = 200;
  ctx.set('Content-Type', 'application/zip');
  ctx.set('Content-Disposition', contentDisposition(`${top}.zip`));
  ctx.set('Cache-Control', 'no-store');
  if (headOnly) {
    // Written directly: Koa would make a null body a 204, and the length is not known before zipping.
    ctx.respond = false;
    for (const [k, v] of Object.entries(ctx.response.headers)) if (v !== undefined) ctx.res.setHeader(k, v as string);
    ctx.res.statusCode = 200;
    ctx.res.end();
    return;
  }
  const zip = new yazl.ZipFile();
  const out = new PassThrough();
  // A read that fails mid-way cuts the download (the zip is then visibly incomplete), never hangs it.
  zip.on('error', (err) => out.destroy(err));
  zip.outputStream.on('error', (err: Error) => out.destroy(err));
  zip.outputStream.pipe(out);
  // yazl pipes a member's stream into its own and never destroys it: on an abort the open file (fs)
  // or blob read (git) of the member in flight must be closed here, or each abort leaks one.
  let current: Readable | null = null;
  out.on('close', () => {
    if (!zip.outputStream.readableEnded) zip.outputStream.destroy();
    current?.destroy();
    current = null;
  });
  for (const m of members) {
    if (m.emptyDir) {
      zip.addEmptyDirectory(m.name, { mtime: m.entry.modified });
      continue;
    }
    const e = m.entry;
    // Lazy: a member's file is opened only when yazl reaches it, so one file is open at a time.
    zip.addReadStreamLazy(m.name, { size: e.size, mtime: e.modified, compress: compressible(e.path) }, (cb) => {
      req.backend.read(e.path, undefined, e).then(
        (s) => {
          if (out.destroyed) {
            s.destroy();
            return cb(new Error('the download was cut off'));
          }
          current = s;
          s.once('close', () => {
            if (current === s) current = null;
          });
          cb(null, s);
        },
        (err: Error) => cb(err),
      );
    });
  }
  zip.end();
  ctx.body = out;
}

/**
 * The folder's members, depth first, names sorted: at most ZIP_LIMITS.files entries and
 * ZIP_LIMITS.bytes bytes; one more of either stops the walk with 413 (the bound of this loop).
 */
async function walk(req: DavRequest, root: Entry, top: string): Promise<Member[]> {
  const members: Member[] = [];
  let bytes = 0;
  let count = 0;
  const refuse = (what: string): DavError =>
    new DavError(413, `${root.path} is too big to download as a zip: it has more than ${what} (the limit is ${ZIP_LIMITS.files.toLocaleString('en')} files and ${ZIP_LIMITS.bytes / 1024 ** 3} GiB). Download its subfolders one at a time, or mount it with WebDAV.`);
  const visit = async (dir: Entry, prefix: string): Promise<void> => {
    const children: Entry[] = [];
    for await (const child of req.backend.list(dir.path)) {
      if (child.deleted) continue;
      if (dir.path === '/' && child.path === '/.history') continue; // history is not part of the folder's content
      if (++count > ZIP_LIMITS.files) throw refuse(`${ZIP_LIMITS.files.toLocaleString('en')} files and folders`);
      children.push(child);
    }
    if (children.length === 0) {
      members.push({ entry: dir, name: `${prefix}/`, emptyDir: true });
      return;
    }
    children.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const child of children) {
      const name = `${prefix}/${zipName(baseName(child.path))}`;
      if (child.kind === 'collection') {
        await visit(child, name);
        continue;
      }
      bytes += child.size;
      if (bytes > ZIP_LIMITS.bytes) throw refuse(`${ZIP_LIMITS.bytes / 1024 ** 3} GiB`);
      members.push({ entry: child, name, emptyDir: false });
    }
  };
  await visit(root, top);
  return members;
}

/** A name as a zip member: a backslash would be read as a separator by unzip tools (and yazl). */
function zipName(name: string): string {
  return name.replace(/\\/g, '_').replace(/^([A-Za-z]):/, '$1_');
}

/** Already-compressed formats are stored: deflating them again costs time and saves nothing. */
function compressible(path: string): boolean {
  return !/\.(zip|gz|tgz|bz2|xz|zst|7z|rar|jpe?g|png|gif|webp|avif|heic|mp[34]|m4[av]|mkv|webm|mov|ogg|opus|flac|pdf|docx|xlsx|pptx|odt|ods|odp|jar|apk)$/i.test(path);
}

/** RFC 6266: an ASCII `filename` for old clients, the exact name in `filename*` (RFC 8187). */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const exact = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

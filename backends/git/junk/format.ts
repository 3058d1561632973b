/**
 * The junk store's files as written and read back (./store.ts): one index file per folder and the
 * list of folders, parsed strictly (a file that is not exactly what the store writes is null, never
 * trusted), and content streamed to a temp file under its SHA-256.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parentOf } from '../../backend.js';

/** One junk file as the index holds it. Dates are epoch ms. */
export interface JunkRecord {
  /** SHA-256 of the bytes, hex: the content file's name and the ETag. */
  id: string;
  size: number;
  modified: number;
  created: number;
  /** Dead properties: Clark name → XML element string. */
  props: Record<string, string>;
}

export type Records = Map<string, JunkRecord>;

export const FORMAT = 2;
export const ID = /^[0-9a-f]{64}$/;
/** ECMAScript's date range, in ms: a date outside it is no date. */
const MAX_DATE = 8.64e15;
/** The file name of a folder's index and content folder: a hash, so any path fits in a name. */
export function folderHash(dir: string): string {
  return createHash('sha256').update(dir).digest('hex');
}

/** The `folder` a folder file says it is for (read by the sweep before the strict parse). */
export function folderOfFile(text: string): string | null {
  try {
    const raw: unknown = JSON.parse(text);
    return isObject(raw) && typeof raw.folder === 'string' ? raw.folder : null;
  } catch {
    return null;
  }
}

/** A folder file's records, or null if it is not exactly what `saveFolder` writes for `dir`. */
export function parseFolder(text: string, dir: string): Records | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(raw) || !exactKeys(raw, ['files', 'folder', 'format']) || raw.format !== FORMAT || raw.folder !== dir || !isObject(raw.files)) return null;
  if (!isNormal(dir)) return null;
  const records: Records = new Map();
  for (const [path, r] of Object.entries(raw.files)) {
    if (path === '/' || !isNormal(path) || parentOf(path) !== dir || !isRecord(r)) return null;
    records.set(path, { id: r.id, size: r.size, modified: r.modified, created: r.created, props: { ...r.props } });
  }
  return records.size ? records : null;
}

/** folders.json's folders, or null if it is not exactly what `saveFolders` writes. */
export function parseFolders(text: string): Set<string> | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(raw) || !exactKeys(raw, ['folders', 'format']) || raw.format !== FORMAT || !Array.isArray(raw.folders)) return null;
  if (!raw.folders.every((f) => typeof f === 'string' && isNormal(f))) return null;
  const set = new Set(raw.folders as string[]);
  return set.size === raw.folders.length ? set : null;
}

/** `/`, or `/a/b`: no empty, `.` or `..` segment, no NUL. */
function isNormal(path: string): boolean {
  if (path === '/') return true;
  if (!path.startsWith('/') || path.includes('\0')) return false;
  return path.slice(1).split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function exactKeys(v: Record<string, unknown>, keys: string[]): boolean {
  const own = Object.keys(v).sort();
  return own.length === keys.length && own.every((k, i) => k === keys[i]);
}

function isDate(v: unknown): v is number {
  return Number.isSafeInteger(v) && Math.abs(v as number) <= MAX_DATE;
}

function isRecord(v: unknown): v is JunkRecord {
  if (!isObject(v) || !exactKeys(v, ['created', 'id', 'modified', 'props', 'size'])) return false;
  const { id, size, modified, created, props } = v;
  return (
    typeof id === 'string' && ID.test(id) &&
    Number.isSafeInteger(size) && (size as number) >= 0 &&
    isDate(modified) && isDate(created) &&
    isObject(props) && Object.values(props).every((p) => typeof p === 'string')
  );
}

export function sameRecords(a: Records, b: Records): boolean {
  if (a.size !== b.size) return false;
  for (const [p, r] of a) if (b.get(p) !== r) return false;
  return true;
}

export function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

/** Streams `body` to a new file `temp`, hashing it; fsynced before it returns. */
export async function writeHashed(body: Readable, temp: string): Promise<{ id: string; size: number }> {
  const hash = createHash('sha256');
  const handle = await fsp.open(temp, 'wx');
  let size = 0;
  try {
    await pipeline(
      body,
      new Writable({
        write(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          size += chunk.length;
          handle.write(chunk).then(() => done(), done);
        },
      }),
    );
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { id: hash.digest('hex'), size };
}

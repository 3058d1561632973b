/**
 * A calendar's member list saved on disk (calendar-members.ts keeps it in memory): each member's name,
 * ETag and size, and the sync token of the collection state they were read at, so a restarted server
 * (or another worker) starts from the saved list and applies the changes since its token — on git
 * O(change), through the path index — instead of listing 10,000 members and reading each blob's
 * header for its size.
 *
 * Why it cannot be stale: the token names one collection tree (signed for the path, backends/git/
 * sync.ts), and the list is that tree's members, written together from one changes() answer. A
 * reader never takes the list as current: it asks the backend for the changes since the token (an
 * unknown token, one for another path, history rewritten: an error, and the calendar is listed
 * afresh). Only names, ETags and sizes are saved, never whole entries: an entry's dates come from
 * history, not from the tree, so entries made from this file are "light" (calendar-members.ts says
 * where they may serve).
 *
 * One file per (tree, user, calendar path) under the tree's state dir, named by a hash of user and
 * path and replaced whole (temp + fsync + rename): a reader sees the old list or the new one, both
 * whole. At most MAX_FILES files: writing a new one removes the least recently written beyond that.
 * A file is parsed strictly (format, checksum, every row's shape, the user and path it is for):
 * anything else is ignored as if absent, and the calendar is listed afresh.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { readTextIfExists, writeFileDurably } from '../../../backends/util/durable-file.js';

const FORMAT = 'gitdav-caldav-members/1';
export const MEMBERS_DIR = 'caldav-members';
/** Saved lists kept per state dir (a list of 10,000 members is ~0.7 MB). */
export const MAX_FILES = 200;

/** [name in the calendar, ETag, size in bytes] */
export type SavedMember = [string, string, number];

export interface SavedList {
  token: string;
  members: SavedMember[];
}

/** The saved list's file: by user and path, within the tree's state dir. */
export function memberFile(stateDir: string, user: string, path: string): string {
  return join(stateDir, MEMBERS_DIR, `${sha1(`${user}\0${path}`)}.json`);
}

/** The list saved for this user and path, or null (none, unreadable, or not one whole valid file). */
export async function loadList(file: string, user: string, path: string): Promise<SavedList | null> {
  const text = await readTextIfExists(file).catch(() => null);
  return text === null ? null : parseList(text, user, path);
}

export function parseList(text: string, user: string, path: string): SavedList | null {
  const m = /^\{"format":("[^"\\]*"),"sha1":"([0-9a-f]{40})","body":(.*)\}\n$/s.exec(text);
  if (!m || m[1] !== JSON.stringify(FORMAT) || sha1(m[3]!) !== m[2]) return null;
  let body: unknown;
  try {
    body = JSON.parse(m[3]!);
  } catch {
    return null;
  }
  if (!body || typeof body !== 'object') return null;
  const { user: u, path: p, token, members } = body as Record<string, unknown>;
  if (u !== user || p !== path || typeof token !== 'string' || !token || !Array.isArray(members)) return null;
  const names = new Set<string>();
  for (const row of members as unknown[]) {
    if (!Array.isArray(row) || row.length !== 3) return null;
    const [name, etag, size] = row as unknown[];
    if (typeof name !== 'string' || !name || name.includes('/') || name === '.' || name === '..' || names.has(name)) return null;
    if (typeof etag !== 'string' || !/^"[^"]+"$/.test(etag)) return null;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return null;
    names.add(name);
  }
  return { token, members: members as SavedMember[] };
}

export function serializeList(user: string, path: string, list: SavedList): string {
  const body = JSON.stringify({ user, path, token: list.token, members: list.members });
  return `{"format":${JSON.stringify(FORMAT)},"sha1":"${sha1(body)}","body":${body}}\n`;
}

/** Saves the list (whole, temp + fsync + rename), then trims the folder to MAX_FILES. */
export async function saveList(file: string, user: string, path: string, list: SavedList): Promise<void> {
  const existed = await fsp.stat(file).then(() => true, () => false);
  await writeFileDurably(file, serializeList(user, path, list), { durability: 'fsync' });
  if (!existed) await trim(join(file, '..'));
}

/** Removes the least recently written lists beyond MAX_FILES (only when a new file was added). */
async function trim(dir: string): Promise<void> {
  const names = (await fsp.readdir(dir)).filter((n) => /^[0-9a-f]{40}\.json$/.test(n));
  if (names.length <= MAX_FILES) return;
  const dated = await Promise.all(names.map(async (n) => ({ n, t: (await fsp.stat(join(dir, n)).catch(() => null))?.mtimeMs ?? 0 })));
  dated.sort((a, b) => a.t - b.t);
  for (const { n } of dated.slice(0, dated.length - MAX_FILES)) await fsp.rm(join(dir, n), { force: true });
}

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

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
 * whole. At most MAX_FILES files: writing a new one removes the least recently used beyond that (a
 * load that parses refreshes the file's mtime, so the order is by last use, not last write), and temp
 * files older than TEMP_MAX_AGE_MS (a crash's leftovers). A save never makes the state dir itself: a
 * removed tenant's dir stays removed. A file is parsed strictly (format, checksum, every row's shape, the user and path it is for):
 * anything else is ignored as if absent, and the calendar is listed afresh.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isTempName, readTextIfExists, syncDirectory, writeFileDurably } from '../../../backends/util/durable-file.js';

const FORMAT = 'gitdav-caldav-members/1';
export const MEMBERS_DIR = 'caldav-members';
/** Saved lists kept per state dir (a list of 10,000 members is ~0.7 MB). */
export const MAX_FILES = 200;
/** A temp file older than this is a crash's leftover (a save takes well under a second). */
export const TEMP_MAX_AGE_MS = 10 * 60_000;
/** Rows serialised between two turns of the event loop (~1 ms each at 10,000 members' ~1 MB). */
const ROWS_PER_SLICE = 500;

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

/**
 * The list saved for this user and path, or null (none, unreadable, or not one whole valid file).
 * Cost, once per calendar and process (a restart, another worker, an evicted set): for 10,000 members
 * (~1 MB) the read plus 9–35 ms at once on the event loop (sha1, JSON.parse, row checks; 9–26 ms at
 * load 3, 25–34 at load 8), and building the set's Map (calendar-members.ts load), likewise at once,
 * against the listing it saves (reading 10,000 blob headers: several hundred ms). A list that parses
 * is used: its mtime is refreshed, so `trim` keeps lists in use.
 */
export async function loadList(file: string, user: string, path: string): Promise<SavedList | null> {
  const text = await readTextIfExists(file).catch(() => null);
  const list = text === null ? null : parseList(text, user, path);
  if (list) {
    const now = new Date();
    await fsp.utimes(file, now, now).catch(() => undefined); // gone meanwhile, read-only: only the order suffers
  }
  return list;
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
  return wrap([...bodyParts(user, path, list, Math.max(1, list.members.length))].flat());
}

/**
 * The same text as serializeList, made ROWS_PER_SLICE rows at a time with a turn of the event loop
 * between slices: a 10,000-member list is ~1 MB, which made at once held the loop for 25–37 ms (load
 * 3; 14–47 at load 8); in slices the longest turn is 1–6.5 ms (the last: join and sha1).
 */
export async function serializeListInSlices(user: string, path: string, list: SavedList): Promise<string> {
  const parts: string[] = [];
  for (const slice of bodyParts(user, path, list, ROWS_PER_SLICE)) {
    parts.push(...slice);
    await nextTurn();
  }
  return wrap(parts);
}

/** The body's JSON (JSON.stringify of {user, path, token, members}) in slices of `rows` rows. */
function* bodyParts(user: string, path: string, list: SavedList, rows: number): Generator<string[]> {
  const head = JSON.stringify({ user, path, token: list.token, members: [] }).slice(0, -2);
  const m = list.members;
  if (m.length === 0) {
    yield [head, ']}'];
    return;
  }
  for (let i = 0; i < m.length; i += rows) {
    const slice = m.slice(i, i + rows).map((r) => JSON.stringify(r)).join(',');
    yield [i === 0 ? `${head}${slice}` : `,${slice}`, ...(i + rows >= m.length ? [']}'] : [])];
  }
}

function wrap(body: string[]): string {
  const h = createHash('sha1');
  for (const part of body) h.update(part);
  return `{"format":${JSON.stringify(FORMAT)},"sha1":"${h.digest('hex')}","body":${body.join('')}}\n`;
}

/** Folders trimmed by this process: a save into one not trimmed yet trims it (temp leftovers too). */
const trimmed = new Set<string>();

/**
 * Saves the list (whole, temp + fsync + rename; serialised in slices), then trims the folder. Makes
 * `caldav-members` but never the state dir above it: a removed state dir (a tenant removed while a
 * save was due) is an error here, not made again.
 */
export async function saveList(file: string, user: string, path: string, list: SavedList): Promise<void> {
  const dir = dirname(file);
  const made = await fsp.mkdir(dir).then(() => true, (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
    return false;
  });
  if (made) await syncDirectory(dirname(dir));
  const existed = !made && (await fsp.stat(file).then(() => true, () => false));
  await writeFileDurably(file, await serializeListInSlices(user, path, list), { durability: 'fsync', makeDir: false });
  if (!existed || !trimmed.has(dir)) await trim(dir);
  trimmed.add(dir);
}

/**
 * Removes the least recently used lists beyond MAX_FILES (by mtime: written or loaded), and temp
 * files older than TEMP_MAX_AGE_MS (a save in progress is younger; a crash's leftover is not).
 */
async function trim(dir: string): Promise<void> {
  const all = await fsp.readdir(dir);
  const mtime = async (n: string) => (await fsp.stat(join(dir, n)).catch(() => null))?.mtimeMs;
  const old = Date.now() - TEMP_MAX_AGE_MS;
  for (const n of all.filter(isTempName)) {
    const t = await mtime(n);
    if (t !== undefined && t < old) await fsp.rm(join(dir, n), { force: true });
  }
  const names = all.filter((n) => /^[0-9a-f]{40}\.json$/.test(n));
  if (names.length <= MAX_FILES) return;
  const dated = await Promise.all(names.map(async (n) => ({ n, t: (await mtime(n)) ?? 0 })));
  dated.sort((a, b) => a.t - b.t);
  for (const { n } of dated.slice(0, dated.length - MAX_FILES)) await fsp.rm(join(dir, n), { force: true });
}

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

/**
 * The path index's records and its saved file (path-index.ts keeps them in memory).
 *
 * A record is one change of one path: the commit index in base 36, ':' for a file or '/' for a
 * folder, then the object id after the change ('' when the change removed the path). A path changed
 * once (most paths of a big folder: 100,000 paths → 100,000 such strings) keeps its one record as a
 * string, one heap object; a path changed more often keeps an array of records, oldest first, so an
 * append is a push (a joined string was copied whole on every append and every read after it) and a
 * look-up can start from the newest record.
 *
 * The file is JSON: `{version: 3, tip, commits, paths: {path: records joined by ','}}`. Loading checks
 * every part and throws on anything malformed (the caller then rebuilds from the history), so a
 * corrupt file can neither hang the load nor be trusted half-read.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export interface CommitMeta {
  oid: string;
  /** Seconds since the epoch (author time). */
  time: number;
  author: string;
  tree: string;
}

/** One record, or several oldest first. */
export type Changes = string | string[];

export interface LoadedIndex {
  tip: string | null;
  commits: CommitMeta[];
  paths: Map<string, Changes>;
  /** For each commit (by index), the paths it changed. */
  byCommit: string[][];
}

const RECORD = /^([0-9a-z]{1,8})([:/])([0-9a-f]{0,64})$/;

export function record(index: number, oid: string | null, tree: boolean): string {
  return `${index.toString(36)}${tree ? '/' : ':'}${oid ?? ''}`;
}

/** A record's commit index (parseInt stops at the ':' or '/'). */
export function indexOf(rec: string): number {
  return parseInt(rec, 36);
}

/** A record as [commit index, object id (null: removed), is a folder]. Throws on a malformed record. */
export function parseRecord(rec: string): [number, string | null, boolean] {
  const m = RECORD.exec(rec);
  if (!m) throw new Error(`path index: malformed record ${JSON.stringify(rec.slice(0, 80))}`);
  return [parseInt(m[1]!, 36), m[3] ? m[3] : null, m[2] === '/'];
}

/** Whether `rec` says the path held `oid` after its commit. */
export function holds(rec: string, oid: string): boolean {
  const sep = rec.length - oid.length - 1;
  return sep > 0 && (rec[sep] === ':' || rec[sep] === '/') && rec.endsWith(oid);
}

export function asList(changes: Changes): readonly string[] {
  return typeof changes === 'string' ? [changes] : changes;
}

/** Parses a saved file's text. Throws unless every part is well formed and consistent. */
export function parseIndexFile(text: string): LoadedIndex | null {
  const saved = JSON.parse(text) as unknown;
  if (!isObject(saved)) throw new Error('path index: not an object');
  if (saved.version !== 3) return null; // an older format: rebuilt from the history
  const { tip, commits, paths } = saved;
  if (!Array.isArray(commits) || !isObject(paths)) throw new Error('path index: no commits or paths');
  for (const c of commits) if (!isCommit(c)) throw new Error('path index: malformed commit');
  const list = commits as CommitMeta[];
  // The saved tip is the newest commit: a file saved halfway through a catch-up is never trusted.
  if (tip !== (list.length ? list[list.length - 1]!.oid : null)) throw new Error('path index: tip is not the last commit');
  const byCommit: string[][] = list.map(() => []);
  const map = new Map<string, Changes>();
  for (const [path, value] of Object.entries(paths)) {
    if (typeof value !== 'string' || !path.startsWith('/')) throw new Error('path index: malformed path entry');
    const records = value.split(',');
    let last = -1;
    for (const rec of records) {
      const [i] = parseRecord(rec);
      if (i <= last || i >= list.length) throw new Error('path index: records out of order');
      last = i;
      byCommit[i]!.push(path);
    }
    map.set(path, records.length === 1 ? records[0]! : records);
  }
  return { tip: tip as string | null, commits: list, paths: map, byCommit };
}

/**
 * The file's text for the index at its first `count` commits (tip = commit `count - 1`), in chunks
 * of `slice` paths with a turn of the event loop between them, written as they are made: for 100,000
 * paths one JSON.stringify held a serving worker's loop for 0.5–0.7 s, and the whole text took 7 MB
 * more. The caller's index may grow meanwhile (a catch-up appends commits, pushes records, adds
 * paths; a reset replaces the maps and arrays rather than changing them), so records of commits at
 * or past `count` are left out.
 */
export async function* indexFileChunks(commits: readonly CommitMeta[], count: number, paths: Map<string, Changes>, slice = 500): AsyncGenerator<string> {
  const kept = commits.slice(0, count);
  let chunk = `{"version":3,"tip":${JSON.stringify(kept.at(-1)?.oid ?? null)},"commits":${JSON.stringify(kept)},"paths":{`;
  let n = 0;
  let first = true;
  for (const [path, changes] of paths) {
    const list = asList(changes);
    let end = list.length;
    while (end > 0 && indexOf(list[end - 1]!) >= count) end--;
    if (end === 0) continue;
    chunk += `${first ? '' : ','}${JSON.stringify(path)}:"${list.slice(0, end).join(',')}"`;
    first = false;
    if (++n % slice === 0) {
      yield chunk;
      chunk = '';
      await nextTurn();
    }
  }
  yield `${chunk}}}`;
}

/** The whole text (indexFileChunks joined). */
export async function indexFileText(commits: readonly CommitMeta[], count: number, paths: Map<string, Changes>, slice?: number): Promise<string> {
  let text = '';
  for await (const chunk of indexFileChunks(commits, count, paths, slice)) text += chunk;
  return text;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCommit(c: unknown): c is CommitMeta {
  return isObject(c) && typeof c.oid === 'string' && typeof c.time === 'number' && typeof c.author === 'string' && typeof c.tree === 'string';
}

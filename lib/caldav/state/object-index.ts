/**
 * A persisted summary per calendar object — UID, component type, time bounds (ical/bounds.ts) — keyed
 * by ETag, so a calendar-query after a restart parses only the objects whose bounds can match.
 *
 * ETags name one content (git: the blob id; folders: inode + size + mtime), so an entry never goes
 * stale: a changed object has a new ETag, misses here and is parsed. One JSON file per tree's state
 * dir (never content, never history), held by the tree's CalDavState (state.ts), loaded at first use,
 * written whole and atomically (backends/util/snapshot-file.ts, 'atomic': a reader sees the old file
 * or the new one; no fsync, since a lost save only costs re-parsing) a few seconds after new entries and when the state closes (server shutdown); a crash loses
 * only the entries since the last save, which the next query rebuilds. A file that is partial, corrupt (checksum), or from another
 * version of the bounds code is ignored as if absent: slower, never wrong. At most `limit` entries,
 * the least recently used dropped first.
 *
 * Several processes on one tree (a supervisor's workers) each keep an index and save it: a save is a
 * merge, under `<file>.lock` (backends/util/lock-file.ts): if the file is not the one this process
 * last read or wrote (inode, size, mtime), its entries this process lacks are taken in first (as the
 * least recently used), then the union, bounded as ever, is written. So no worker's entries are lost
 * by another's save, and one process alone never re-reads its own file.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { readTextIfExists, writeFileDurably } from '../../../backends/util/durable-file.js';
import { LockFile } from '../../../backends/util/lock-file.js';
import { CALENDAR_COMPONENTS, type CalendarComponentType } from '../ical/object.js';
import { EMPTY, type ObjectBounds, type Span } from '../ical/bounds.js';

/**
 * Bump when bounds.ts computes differently: older files are then ignored. /2: the `exact` column.
 * The time-zone data's version is part of it: a TZID with no VTIMEZONE in the object takes its
 * offsets from Node's IANA data (tz.ts systemTimezone), and `exact`/`gaps` decide hits as well as
 * misses from them, so a row computed under other data (a Node or ICU upgrade that changed a zone's
 * rules) must not decide. The whole file goes rather than the rows that used Node's zones: simpler
 * (nothing per row to track), and an upgrade costs one re-parse of each object, once.
 */
export const INDEX_FORMAT = `gitdav-caldav-index/2;tz=${process.versions.tz ?? process.versions.icu ?? 'none'}`;
const FORMAT = INDEX_FORMAT;
export const INDEX_FILE = 'caldav-index.json';

/** On disk: [etag, uid, type, lo, hi, alarmLo, alarmHi, exact (1) or not (0), gaps or null]; null for ±Infinity (JSON has none). */
type Row = [string, string | null, string, number | null, number | null, number | null, number | null, 0 | 1, number | null];

export class ObjectIndex {
  private readonly map = new Map<string, ObjectBounds>();
  private loading?: Promise<void>;
  private dirty = false;
  private timer?: NodeJS.Timeout;
  private saving: Promise<void> = Promise.resolve();
  private readonly lock: LockFile;
  /** The file as this process last read or wrote it (`ino:size:mtime`): another stamp means another process saved. */
  private seen = '';

  constructor(
    readonly file: string,
    private readonly limit = 100_000,
    private readonly saveDelayMs = 2000,
  ) {
    this.lock = new LockFile(`${file}.lock`);
  }

  /** Loads the file once (concurrent callers share it). */
  ready(): Promise<void> {
    this.loading ??= this.load();
    return this.loading;
  }

  get size(): number {
    return this.map.size;
  }

  /** The summary of the content with this ETag, if known (call `ready()` first). */
  get(etag: string): ObjectBounds | undefined {
    const hit = this.map.get(etag);
    if (hit) {
      this.map.delete(etag); // most recently used last: the eviction order
      this.map.set(etag, hit);
    }
    return hit;
  }

  /** The summary, if known, without making it recently used (the interval index reads them all). */
  peek(etag: string): ObjectBounds | undefined {
    return this.map.get(etag);
  }

  set(etag: string, bounds: ObjectBounds): void {
    this.map.delete(etag);
    this.map.set(etag, bounds);
    while (this.map.size > this.limit) this.map.delete(this.map.keys().next().value!);
    this.dirty = true;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.save().catch(() => undefined); // a failed save only costs parsing later
    }, this.saveDelayMs).unref();
  }

  /**
   * Writes the file now if anything changed, merged with what other processes saved meanwhile
   * (atomically: temp file, rename; no fsync, since a lost save only costs re-parsing). Saves are
   * chained: an older one never lands after a newer one.
   *
   * Cost: the merge is skipped while the file's stamp (inode, size, mtime) is the one this process
   * last read or wrote, so one process never re-reads its own file; after another worker's save it
   * reads, checks (sha1) and parses the whole file on the event loop, under the lock, about what the
   * write itself costs (serialising and hashing the same rows), so a save costs at most twice what
   * it did with one process. Saves come at most once per `saveDelayMs` (2 s) per process, and only
   * after new objects were parsed; at the 100,000-entry bound (some MB) that is tens of ms.
   */
  save(): Promise<void> {
    if (!this.dirty) return this.saving;
    this.dirty = false;
    this.saving = this.saving
      .catch(() => undefined)
      .then(() => this.lock.run(() => this.mergeAndWrite(), { makeDir: true }))
      .catch((err: unknown) => {
        this.dirty = true; // written again with the next save
        throw err;
      });
    return this.saving;
  }

  private async mergeAndWrite(): Promise<void> {
    if ((await stampOf(this.file)) !== this.seen) {
      const text = await readTextIfExists(this.file).catch(() => null);
      const rows = text === null ? null : parseIndex(text);
      if (rows) {
        // Theirs first (least recently used), then ours: the bound drops theirs before ours.
        const merged = new Map<string, ObjectBounds>();
        for (const row of rows) {
          const b = fromRow(row);
          if (b && !this.map.has(row[0])) merged.set(row[0], b);
        }
        for (const [etag, b] of this.map) merged.set(etag, b);
        this.map.clear();
        for (const [etag, b] of merged) this.map.set(etag, b);
        while (this.map.size > this.limit) this.map.delete(this.map.keys().next().value!);
      }
    }
    const rows: Row[] = [...this.map].map(([etag, b]) => [etag, b.uid, b.type, ...encode(b.span), ...encode(b.alarms), b.exact ? 1 : 0, b.gaps ?? null]);
    const entries = JSON.stringify(rows);
    const text = `{"format":${JSON.stringify(FORMAT)},"sha1":"${sha1(entries)}","entries":${entries}}\n`;
    await writeFileDurably(this.file, text, { durability: 'atomic' });
    this.seen = await stampOf(this.file);
  }

  /** Stops the pending save timer and saves what is not saved yet (the state closes: shutdown, tests). */
  close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.save();
  }

  private async load(): Promise<void> {
    // None yet (or unreadable): built as queries parse objects.
    const stamp = await stampOf(this.file);
    const text = await readTextIfExists(this.file).catch(() => null);
    if (text === null) return;
    const rows = parseIndex(text);
    this.seen = stamp;
    if (!rows) return;
    for (const row of rows) {
      const b = fromRow(row);
      // Entries set while the file loaded are newer than the file's.
      if (b && !this.map.has(row[0])) this.map.set(row[0], b);
    }
  }
}

/** The rows of an index file, or null if it is not one whole, unchanged file of this format. */
export function parseIndex(text: string): Row[] | null {
  const m = /^\{"format":("[^"\\]*"),"sha1":"([0-9a-f]{40})","entries":(.*)\}\n?$/s.exec(text);
  if (!m || JSON.parse(m[1]!) !== FORMAT || sha1(m[3]!) !== m[2]) return null;
  try {
    const rows: unknown = JSON.parse(m[3]!);
    return Array.isArray(rows) ? (rows as Row[]) : null;
  } catch {
    return null;
  }
}

function fromRow(row: unknown): ObjectBounds | null {
  if (!Array.isArray(row) || row.length !== 9) return null;
  const [etag, uid, type, lo, hi, alo, ahi, exact, gaps] = row as unknown[];
  const bound = (x: unknown) => x === null || (typeof x === 'number' && Number.isFinite(x));
  if (typeof etag !== 'string' || (uid !== null && typeof uid !== 'string')) return null;
  if (!(CALENDAR_COMPONENTS as readonly unknown[]).includes(type)) return null;
  if (![lo, hi, alo, ahi].every(bound) || (exact !== 0 && exact !== 1)) return null;
  const span = (a: unknown, b: unknown): Span => {
    const s = { lo: a === null ? -Infinity : (a as number), hi: b === null ? Infinity : (b as number) };
    return s.lo > s.hi ? EMPTY : s;
  };
  const b: ObjectBounds = { uid: uid as string | null, type: type as CalendarComponentType, span: span(lo, hi), alarms: span(alo, ahi) };
  if (exact !== 1 && gaps === null) return b;
  // Exact or gaps only where they can be: a VEVENT, finite and ordered (exactVerdict reads lo and hi
  // as the event's times), gaps a length.
  if (type !== 'VEVENT' || lo === null || hi === null || (lo as number) > (hi as number)) return null;
  if (gaps !== null && !(typeof gaps === 'number' && Number.isFinite(gaps) && gaps >= 0)) return null;
  return { ...b, ...(exact === 1 ? { exact: true as const } : {}), ...(gaps !== null ? { gaps: gaps as number } : {}) };
}

/** ±Infinity as null; an empty span (lo > hi) as [1, 0], which reads back as empty. */
function encode(s: Span): [number | null, number | null] {
  if (s.lo > s.hi) return [1, 0];
  return [Number.isFinite(s.lo) ? s.lo : null, Number.isFinite(s.hi) ? s.hi : null];
}

/** `ino:size:mtime` of a file, or '' if there is none. */
async function stampOf(file: string): Promise<string> {
  const st = await fsp.stat(file, { bigint: true }).catch(() => null);
  return st ? `${st.ino}:${st.size}:${st.mtimeNs}` : '';
}

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

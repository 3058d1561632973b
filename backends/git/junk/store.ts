/**
 * Junk files' bytes and properties, kept beside the repository and never committed: `<stateDir>/junk/`
 * (stateDir is `<gitdir>/gitdav`, outside `objects/`, so neither `git gc` nor `git clone` sees it).
 *
 * - `index.json`: path → {content id, size, dates, dead properties}; `content/<id>`: the bytes, named
 *   by their SHA-256 (written once under that name, shared by every path with those bytes).
 * - Several processes (workers, a second server) share the folder. Every change is a read-modify-write
 *   of the index under `index.json.lock` (../../util/lock-file.ts), from the latest save, written temp +
 *   fsync + rename (these files are the only copy). Content files are created (renamed from a temp
 *   file fsynced before the lock was taken) and removed (when no entry names them any more) only under
 *   that lock too, so a content file an entry names is never removed by a writer that did not see it.
 * - A read re-reads the index when another save replaced it (one stat: ../../util/pinned-file.ts, as
 *   ../volatile-props.ts does). The index is parsed strictly: a file that is not exactly what this
 *   module writes is taken as empty (and reported once), never trusted, never a crash.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { isWithin, parentOf, type ByteRange, type Entry, type PropertyMap } from '../../backend.js';
import { BackendError } from '../../errors.js';
import { syncDirectory, writeFileDurably } from '../../util/durable-file.js';
import { LockFile } from '../../util/lock-file.js';
import { PinnedFile } from '../../util/pinned-file.js';

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

type Records = Map<string, JunkRecord>;

const FORMAT = 1;
const ID = /^[0-9a-f]{64}$/;

/** Tells apart JunkStore objects in one process, so their generations never mix (version()). */
let serial = 0;

export class JunkStore {
  private data: Records = new Map();
  private generation = 0;
  private readonly id = ++serial;
  private readonly lock: LockFile;
  private readonly pinned: PinnedFile;
  private readonly indexFile: string;
  private readonly contentDir: string;

  constructor(
    readonly dir: string,
    /** This process's temp folder on the same file system (made if missing). */
    private readonly tempDir: () => string,
    private readonly warn: (message: string) => void = (m) => process.emitWarning(m, 'GitdavJunk'),
  ) {
    this.indexFile = join(dir, 'index.json');
    this.contentDir = join(dir, 'content');
    this.lock = new LockFile(`${this.indexFile}.lock`);
    this.pinned = new PinnedFile(this.indexFile);
  }

  /** The record at `path`, as last saved by any process. */
  get(path: string): JunkRecord | undefined {
    this.refresh();
    return this.data.get(path);
  }

  /** The files directly in folder `dir`, sorted by path. */
  membersOf(dir: string): [string, JunkRecord][] {
    this.refresh();
    return [...this.data].filter(([p]) => parentOf(p) === dir).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Whether any junk file lies at or below `path`. */
  hasWithin(path: string): boolean {
    this.refresh();
    for (const p of this.data.keys()) if (isWithin(p, path)) return true;
    return false;
  }

  /** Changes whenever what this process sees changes; unique in this process. */
  version(): string {
    this.refresh();
    return `${this.id}.${this.generation}`;
  }

  entryOf(path: string, r: JunkRecord): Entry {
    return { path, kind: 'file', size: r.size, etag: `"junk-${r.id}"`, modified: new Date(r.modified), created: new Date(r.created) };
  }

  propsOf(r: JunkRecord): PropertyMap {
    return new Map(Object.entries(r.props));
  }

  /**
   * Stores `body` as the file at `path` (its properties kept if it existed). The bytes are streamed to
   * a temp file and fsynced first; `check` runs under the lock, against the latest state, and may
   * throw to abort (the temp file is then removed).
   */
  async put(path: string, body: Readable, check: () => Promise<void>): Promise<{ record: JunkRecord; created: boolean }> {
    const tempDir = this.tempDir();
    await fsp.mkdir(tempDir, { recursive: true });
    const temp = join(tempDir, `junk-${randomBytes(8).toString('hex')}.tmp`);
    try {
      const { id, size } = await writeHashed(body, temp);
      return await this.lock.run(async () => {
        this.refresh();
        await check();
        await fsp.mkdir(this.contentDir, { recursive: true });
        await fsp.rename(temp, join(this.contentDir, id)); // same bytes if it was there: same name, same content
        await syncDirectory(this.contentDir);
        const old = this.data.get(path);
        const now = Date.now();
        const record: JunkRecord = { id, size, modified: now, created: old?.created ?? now, props: old?.props ?? {} };
        const next = new Map(this.data).set(path, record);
        await this.save(next, old ? [old.id] : []);
        return { record, created: !old };
      }, { makeDir: true });
    } finally {
      await fsp.rm(temp, { force: true }).catch(() => undefined);
    }
  }

  /**
   * A change of the index under the lock: `mutate` gets a copy of the latest records and returns
   * false when it changed nothing. Content no longer named by any record is removed.
   */
  async change(mutate: (records: Records) => boolean | Promise<boolean>): Promise<void> {
    await this.lock.run(async () => {
      this.refresh();
      const next = new Map(this.data);
      if (!(await mutate(next))) return;
      await this.save(next, [...this.data.values()].map((r) => r.id));
    }, { makeDir: true });
  }

  /** Removes every junk file at or below `path`. */
  removeWithin(path: string): Promise<void> {
    return this.change((records) => {
      let changed = false;
      for (const p of [...records.keys()]) if (isWithin(p, path)) changed = records.delete(p) || changed;
      return changed;
    });
  }

  /** Copies (or moves) every junk file at or below `from` to the same place below `to`. */
  copyWithin(from: string, to: string, move: boolean): Promise<void> {
    return this.change((records) => {
      const found = [...records].filter(([p]) => isWithin(p, from));
      if (!found.length) return false;
      if (move) for (const [p] of found) records.delete(p);
      const now = Date.now();
      for (const [p, r] of found) records.set(to + p.slice(from.length), move ? r : { ...r, created: now, modified: now, props: { ...r.props } });
      return true;
    });
  }

  /** The bytes of a record (or one range of them) from a handle opened now; NotFound if they are gone. */
  async open(path: string, record: JunkRecord): Promise<FileHandle> {
    try {
      return await fsp.open(join(this.contentDir, record.id), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BackendError('NotFound', path);
      throw err;
    }
  }

  close(): void {
    this.pinned.close();
  }

  /** Saves `next` (the lock held) and removes content files among `candidates` that no record names now. */
  private async save(next: Records, candidates: string[]): Promise<void> {
    const text = JSON.stringify({ format: FORMAT, files: Object.fromEntries(next) });
    await writeFileDurably(this.indexFile, text, { durability: 'fsync' });
    this.data = next;
    this.generation++;
    this.refresh(); // pins what was just written (nobody else writes while the lock is held)
    const named = new Set([...next.values()].map((r) => r.id));
    let removed = false;
    for (const id of new Set(candidates)) {
      if (named.has(id)) continue;
      await fsp.rm(join(this.contentDir, id), { force: true });
      removed = true;
    }
    if (removed) await syncDirectory(this.contentDir);
  }

  private refresh(): void {
    const text = this.pinned.changedText();
    if (text === undefined) return;
    this.generation++;
    const parsed = parseIndex(text);
    if (!parsed) this.warn(`gitdav: ${this.indexFile} is not a junk index this version wrote; junk files are taken as none`);
    this.data = parsed ?? new Map();
  }
}

/** The index file's records, or null if it is not exactly what `save` writes. */
export function parseIndex(text: string): Records | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(raw) || raw.format !== FORMAT || !isObject(raw.files) || Object.keys(raw).length !== 2) return null;
  const records: Records = new Map();
  for (const [path, r] of Object.entries(raw.files)) {
    if (!path.startsWith('/') || path === '/' || path.endsWith('/') || path.includes('\0') || !isRecord(r)) return null;
    records.set(path, { id: r.id, size: r.size, modified: r.modified, created: r.created, props: { ...r.props } });
  }
  return records;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isRecord(v: unknown): v is JunkRecord {
  if (!isObject(v)) return false;
  const { id, size, modified, created, props } = v;
  return (
    typeof id === 'string' && ID.test(id) &&
    Number.isSafeInteger(size) && (size as number) >= 0 &&
    Number.isFinite(modified) && Number.isFinite(created) &&
    isObject(props) && Object.values(props).every((p) => typeof p === 'string')
  );
}

/** Streams `body` to a new file `temp`, hashing it; fsynced before it returns. */
async function writeHashed(body: Readable, temp: string): Promise<{ id: string; size: number }> {
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

/** A range of a record's bytes as fs read-stream options (inclusive end). */
export function rangeOptions(range?: ByteRange): { start?: number; end?: number } {
  return range ? { start: range.start, end: range.end } : {};
}

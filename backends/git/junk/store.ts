/**
 * Junk files' bytes and properties, kept beside the repository and never committed: `<stateDir>/junk/`
 * (stateDir is `<gitdir>/gitdav`, outside `objects/`, so neither `git gc` nor `git clone` sees it).
 *
 * - One index file per folder, `index/<sha256 of the folder path>.json` (path → content id, size, dates,
 *   dead properties), and `content/<same hash>/<sha256 of the bytes>`: a change rewrites, and a reader
 *   re-parses, one folder's entries, not the whole store's. `folders.json` lists the folders that have
 *   an index file, so a folder's DELETE/MOVE/COPY finds the folders below it (./format.ts: the files).
 * - Processes (workers, a second server) share the folder. Every change happens under one lock
 *   (`index.lock`), from the latest saves, written temp + fsync + rename (the only copy). Content is
 *   placed (renamed from a temp file fsynced before the lock, or linked from another folder's) and
 *   removed (when no entry of its folder names it) only under that lock; orphans (a crash in between,
 *   an index found corrupt) are swept under it when a store opens.
 * - A read re-reads a folder's file when another save replaced it (one stat: ../../util/pinned-file.ts).
 *   A file that is not exactly what this module writes is taken as empty (and reported), never
 *   trusted, never a crash; a file removed is empty, never written back from memory.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { isWithin, parentOf, type Entry, type PropertyMap } from '../../backend.js';
import { BackendError } from '../../errors.js';
import { removeFileDurably, syncDirectory, writeFileDurably } from '../../util/durable-file.js';
import { LockFile } from '../../util/lock-file.js';
import { PinnedFile } from '../../util/pinned-file.js';
import { folderHash, folderOfFile, FORMAT, ID, parseFolder, parseFolders, sameRecords, sameSet, writeHashed, type JunkRecord, type Records } from './format.js';

export { folderHash, parseFolder, parseFolders, type JunkRecord } from './format.js';

/** Parsed folder files kept per process, by their text's length (the newest always stays). */
const CACHE_BYTES = 64 * 1024 * 1024;

/** Tells apart JunkStore objects in one process, so their versions never mix (version()). */
let serial = 0;

interface FolderState {
  pinned: PinnedFile;
  records: Records;
  /** Changes whenever `records` is replaced: a number from the store's one counter. */
  gen: number;
  bytes: number;
}

const EMPTY: Records = new Map();

export class JunkStore {
  private readonly id = ++serial;
  private counter = 0;
  private readonly lock: LockFile;
  private readonly foldersFile: PinnedFile;
  private folderSet = new Set<string>();
  private readonly cache = new Map<string, FolderState>();
  private cachedBytes = 0;
  private readonly swept: Promise<void>;
  /** Set in the async flow of during(), which holds the lock. */
  private readonly holding = new AsyncLocalStorage<boolean>();

  constructor(
    readonly dir: string,
    /** This process's temp folder on the same file system (made if missing). */
    private readonly tempDir: () => string,
    private readonly warn: (message: string) => void = (m) => process.emitWarning(m, 'GitdavJunk'),
  ) {
    this.lock = new LockFile(join(dir, 'index.lock'));
    this.foldersFile = new PinnedFile(join(dir, 'folders.json'));
    this.swept = this.sweep().catch((err) => this.warn(`gitdav: sweeping ${dir} failed: ${(err as Error).message}`));
  }

  /** The record at `path`, as last saved by any process. */
  get(path: string): JunkRecord | undefined {
    return this.folder(parentOf(path)).records.get(path);
  }

  /** The files directly in folder `dir`, sorted by path. */
  membersOf(dir: string): [string, JunkRecord][] {
    return [...this.folder(dir).records].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * Whether junk files may lie at or below folder `path`: from folders.json alone, so a live DELETE or
   * MOVE parses no folder's index (a folder listed whose file turned out empty costs a no-op change).
   */
  hasWithin(path: string): boolean {
    return this.foldersWithin(path).length > 0;
  }

  /** Changes whenever what this process sees of folder `dir`'s junk changes; unique in this process. */
  version(dir: string): string {
    return `${this.id}.${this.folder(dir).gen}`;
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
      const dir = parentOf(path);
      let result: { record: JunkRecord; created: boolean } | undefined;
      await this.lock.run(async () => {
        await check();
        const content = this.contentDir(dir);
        await fsp.mkdir(content, { recursive: true });
        await fsp.rename(temp, join(content, id)); // same bytes if it was there: same name, same content
        await syncDirectory(content);
        await this.apply([dir], (records) => {
          const old = records.get(path);
          const now = Date.now();
          const record: JunkRecord = { id, size, modified: now, created: old?.created ?? now, props: old?.props ?? {} };
          records.set(path, record);
          result = { record, created: !old };
          return true;
        });
      }, { makeDir: true });
      return result!;
    } finally {
      await fsp.rm(temp, { force: true }).catch(() => undefined);
    }
  }

  /**
   * A change of the folders `dirs` under the lock: `mutate` gets a copy of their latest records (keys
   * only in those folders) and returns false when it changed nothing. Content no entry names is removed.
   */
  change(dirs: string[], mutate: (records: Records) => boolean | Promise<boolean>): Promise<void> {
    if (this.holding.getStore()) return this.apply(dirs, mutate); // within during(): the lock is ours
    return this.lock.run(() => this.apply(dirs, mutate), { makeDir: true });
  }

  /**
   * Runs `fn` holding the lock; the store's changes within it (in its async flow only) use that hold.
   * For a live change whose junk must follow before anyone judges it gone (a folder's MOVE).
   */
  during<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(() => this.holding.run(true, fn), { makeDir: true });
  }

  /** Starts `fn` outside any during(): a background change that must take the lock itself. */
  detached<T>(fn: () => Promise<T>): Promise<T> {
    return this.holding.exit(fn);
  }

  /** Removes every junk file in folder `path` and below (if `still`, asked under the lock, says so). */
  async removeWithin(path: string, still: () => Promise<boolean> = async () => true): Promise<void> {
    const dirs = this.foldersWithin(path);
    await this.change(dirs, async (records) => {
      if (!(await still())) return false;
      let changed = false;
      for (const p of [...records.keys()]) if (isWithin(p, path)) changed = records.delete(p) || changed;
      return changed;
    });
  }

  /** Copies (or moves) every junk file in folder `from` and below to the same place below `to`. */
  async copyWithin(from: string, to: string, move: boolean): Promise<void> {
    const below = this.foldersWithin(from);
    const dirs = [...below, ...below.map((d) => to + d.slice(from.length))];
    await this.change(dirs, (records) => {
      const found = [...records].filter(([p]) => isWithin(p, from));
      if (!found.length) return false;
      if (move) for (const [p] of found) records.delete(p);
      const now = Date.now();
      for (const [p, r] of found) records.set(to + p.slice(from.length), move ? r : { ...r, created: now, modified: now, props: { ...r.props } });
      return true;
    });
  }

  /**
   * The bytes of a record from a handle opened now. Content is kept while an entry names it, so a
   * record just replaced may be gone: then the path's current record is read (once); NotFound if none.
   */
  async open(path: string, record: JunkRecord): Promise<{ handle: FileHandle; record: JunkRecord }> {
    for (let r: JunkRecord | undefined = record, tries = 0; r && tries < 2; tries++) {
      try {
        return { handle: await fsp.open(join(this.contentDir(parentOf(path)), r.id), 'r'), record: r };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      const now = this.get(path);
      r = now && now.id !== r.id ? now : undefined;
    }
    throw new BackendError('NotFound', path);
  }

  /** The content named `id` in `path`'s folder, if it is still there (a read by an earlier entry). */
  async openContent(path: string, id: string): Promise<FileHandle | null> {
    if (!ID.test(id)) return null;
    try {
      return await fsp.open(join(this.contentDir(parentOf(path)), id), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.swept;
    this.foldersFile.close();
    for (const s of this.cache.values()) s.pinned.close();
    this.cache.clear();
    this.cachedBytes = 0;
  }

  // ---- folders ------------------------------------------------------------------------------------

  private indexFile(dir: string): string {
    return join(this.dir, 'index', `${folderHash(dir)}.json`);
  }

  private contentDir(dir: string): string {
    return join(this.dir, 'content', folderHash(dir));
  }

  /** Folder `dir`'s records as last saved by any process (one stat when unchanged). */
  private folder(dir: string): FolderState {
    let s = this.cache.get(dir);
    if (s) {
      this.cache.delete(dir); // most recently used last
      this.cache.set(dir, s);
    } else {
      s = { pinned: new PinnedFile(this.indexFile(dir)), records: EMPTY, gen: ++this.counter, bytes: 0 };
      this.cache.set(dir, s);
    }
    const look = s.pinned.look(); // a read error is thrown: an I/O error is not "no junk"
    if (look.kind === 'missing' && s.records.size) this.replace(s, EMPTY, 0);
    else if (look.kind === 'changed') {
      const parsed = parseFolder(look.text, dir);
      if (!parsed) this.warn(`gitdav: ${s.pinned.path} is not a junk index this version wrote; junk files of ${dir} are taken as none`);
      this.replace(s, parsed ?? EMPTY, look.text.length);
    }
    this.evict();
    return s;
  }

  private replace(s: FolderState, records: Records, bytes: number): void {
    s.records = records;
    s.gen = ++this.counter;
    this.cachedBytes += bytes - s.bytes;
    s.bytes = bytes;
  }

  private evict(): void {
    for (const [dir, s] of this.cache) {
      if (this.cachedBytes <= CACHE_BYTES || this.cache.size <= 1) break;
      s.pinned.close();
      this.cache.delete(dir);
      this.cachedBytes -= s.bytes;
    }
  }

  /** The folders with junk files at or below `path`. */
  private foldersWithin(path: string): string[] {
    const look = this.foldersFile.look();
    if (look.kind === 'missing') this.folderSet = new Set();
    else if (look.kind === 'changed') {
      const parsed = parseFolders(look.text);
      if (!parsed) this.warn(`gitdav: ${this.foldersFile.path} is not a junk folder list this version wrote; it is rebuilt at the next start`);
      this.folderSet = parsed ?? new Set();
    }
    return [...this.folderSet].filter((f) => isWithin(f, path));
  }


  private async saveFolders(folders: Set<string>): Promise<void> {
    await writeFileDurably(this.foldersFile.path, JSON.stringify({ format: FORMAT, folders: [...folders].sort() }), { durability: 'fsync' });
    this.foldersFile.look(); // pins what was just written (nobody else writes while the lock is held)
    this.folderSet = folders;
  }

  /** The change itself, the lock held. */
  private async apply(dirs: string[], mutate: (records: Records) => boolean | Promise<boolean>): Promise<void> {
    const unique = [...new Set(dirs)];
    const before = new Map(unique.map((d) => [d, this.folder(d).records] as const));
    const merged: Records = new Map();
    for (const records of before.values()) for (const [p, r] of records) merged.set(p, r);
    if (!unique.length || !(await mutate(merged))) return;
    const after = new Map<string, Records>(unique.map((d) => [d, new Map()]));
    for (const [p, r] of merged) {
      const into = after.get(parentOf(p));
      if (!into) throw new Error(`junk store: ${p} lies outside the folders of this change`);
      into.set(p, r);
    }
    const changed = unique.filter((d) => !sameRecords(before.get(d)!, after.get(d)!));
    // Folders that gain entries first, so a crash halfway through a move leaves a copy, never nothing.
    changed.sort((a, b) => after.get(b)!.size - before.get(b)!.size - (after.get(a)!.size - before.get(a)!.size));
    this.foldersWithin('/'); // the latest list
    const added = changed.filter((d) => after.get(d)!.size > 0 && !this.folderSet.has(d));
    if (added.length) await this.saveFolders(new Set([...this.folderSet, ...added]));
    for (const d of changed) await this.placeContent(d, before.get(d)!, after.get(d)!, before);
    for (const d of changed) await this.saveFolder(d, before.get(d)!, after.get(d)!);
    const emptied = changed.filter((d) => after.get(d)!.size === 0 && this.folderSet.has(d));
    if (emptied.length) await this.saveFolders(new Set([...this.folderSet].filter((f) => !emptied.includes(f))));
  }

  /** Links into `dir`'s content folder what its new entries name and another folder of the change holds. */
  private async placeContent(dir: string, old: Records, next: Records, all: Map<string, Records>): Promise<void> {
    const had = new Set([...old.values()].map((r) => r.id));
    const into = this.contentDir(dir);
    let made = false;
    for (const id of new Set([...next.values()].map((r) => r.id))) {
      if (had.has(id)) continue;
      const from = [...all].find(([d, records]) => d !== dir && [...records.values()].some((r) => r.id === id));
      if (!from) continue; // put() placed it already
      await fsp.mkdir(into, { recursive: true });
      try {
        await fsp.link(join(this.contentDir(from[0]), id), join(into, id));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') continue;
        if (code !== 'EPERM' && code !== 'EXDEV' && code !== 'ENOTSUP') throw err;
        await fsp.copyFile(join(this.contentDir(from[0]), id), join(into, id));
      }
      made = true;
    }
    if (made) await syncDirectory(into);
  }

  /** Saves folder `dir`'s records (the lock held) and removes content no entry of it names now. */
  private async saveFolder(dir: string, old: Records, next: Records): Promise<void> {
    const s = this.folder(dir);
    const file = this.indexFile(dir);
    if (next.size === 0) {
      await removeFileDurably(file);
      await fsp.rm(this.contentDir(dir), { recursive: true, force: true });
      s.pinned.look(); // releases the pin
      this.replace(s, EMPTY, 0);
      return;
    }
    const text = JSON.stringify({ format: FORMAT, folder: dir, files: Object.fromEntries(next) });
    await writeFileDurably(file, text, { durability: 'fsync' });
    s.pinned.look(); // pins what was just written (nobody else writes while the lock is held); not parsed again
    this.replace(s, next, text.length);
    const named = new Set([...next.values()].map((r) => r.id));
    let removed = false;
    for (const id of new Set([...old.values()].map((r) => r.id))) {
      if (named.has(id)) continue;
      await fsp.rm(join(this.contentDir(dir), id), { force: true });
      removed = true;
    }
    if (removed) await syncDirectory(this.contentDir(dir));
  }

  /** At open, under the lock: unnamed content goes, folders.json lists exactly the folders with an index (off the request path). */
  private async sweep(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    const indexNames = await fsp.readdir(join(this.dir, 'index')).catch(() => null);
    if (indexNames === null) return; // no junk yet
    await this.lock.run(async () => {
      const folders = new Set<string>();
      const named = new Map<string, Set<string>>();
      for (const name of await fsp.readdir(join(this.dir, 'index'))) {
        const file = join(this.dir, 'index', name);
        if (name.endsWith('.tmp')) {
          await fsp.rm(file, { force: true });
          continue;
        }
        const hash = name.replace(/\.json$/, '');
        const text = await fsp.readFile(file, 'utf8');
        const dir = folderOfFile(text);
        const records = dir !== null && folderHash(dir) === hash ? parseFolder(text, dir) : null;
        if (!records) continue; // corrupt: its content goes below; the file stays as it is (taken as empty)
        folders.add(dir!);
        named.set(hash, new Set([...records.values()].map((r) => r.id)));
        await new Promise((r) => setImmediate(r));
      }
      for (const hash of await fsp.readdir(join(this.dir, 'content')).catch(() => [] as string[])) {
        const keep = named.get(hash);
        if (!keep) {
          await fsp.rm(join(this.dir, 'content', hash), { recursive: true, force: true });
          continue;
        }
        for (const id of await fsp.readdir(join(this.dir, 'content', hash))) {
          if (!keep.has(id)) await fsp.rm(join(this.dir, 'content', hash, id), { force: true });
        }
      }
      this.foldersWithin('/');
      if (!sameSet(folders, this.folderSet)) await this.saveFolders(folders);
    });
  }
}


/**
 * The folder backend: a plain directory served as it is.
 *
 * - Writes stream into a temp file under the state dir, then rename over the target: a reader sees the
 *   old or the new bytes, never a mix, and a cut-off body changes nothing.
 * - One write lock serialises the short "check guard, then rename" steps, of this process (the folder's
 *   mutex) and of every other process on the folder (`<stateDir>/write.lock`); the slow parts (body
 *   upload, tree copies) run outside it.
 * - ETags are strong: inode, size and nanosecond mtime (each write is a new inode via rename).
 * - Every path is checked against the symbolic-link policy (./containment.ts): no link leads out of
 *   the folder holding it, so none leads out of a shared folder or the root, and none is written through.
 * - One server per folder (./folder-lock.ts): one process, or one supervisor's workers (`supervised`),
 *   which share the write lock and keep their temp files apart (../util/process-temp.ts).
 *
 * The class holds the contract and the reads; the write path is in ./writes.ts, COPY/MOVE in
 * ./copy-move.ts, the rules for a client's path (reserved names, link policy, temp names) in
 * ./served-folder.ts.
 */
import { closeSync, constants as fsc, fstatSync, promises as fsp } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import {
  baseName,
  joinPath,
  parentOf,
  type Backend,
  type ByteRange,
  type ChangeSet,
  type CopyOptions,
  type Entry,
  type GuardView,
  type MoveOptions,
  type MutationOptions,
  type PropertyMap,
  type PropPatch,
  type Quota,
  type WriteOptions,
  type WriteResult,
} from '../backend.js';
import { BackendError } from '../errors.js';
import { readByName, type ListingVersioned, type OpenedRead, type QuotaAware, type ReadOpener, type SyncCapable } from '../capabilities.js';
import { LockFile, type CriticalSection } from '../util/lock-file.js';
import { closeTempArea, openTempArea, ownTempDir } from '../util/process-temp.js';
import { Containment, DEFAULT_SYMLINK_POLICY, O_PATH, type SymlinkPolicy } from './containment.js';
import { holdFolder, type FolderHold } from './folder-lock.js';
import { PropsStore, SELF } from './props-store.js';
import { applyPatches, propsOf, type Sidecar } from '../sidecar.js';
import { diffMembers } from '../sync-diff.js';
import { SyncSnapshots } from './sync-snapshots.js';
import { SyncTokenKey } from '../sync-token-key.js';
import { mapFsError, toEntry } from './fs-io.js';
import { listingVersionOf, listVerified, listVersionedOf } from './listing.js';
import { eachInTurns, fingerprints, versionedMemberPrints, type MemberPrints, type VersionedPass } from './sync-members.js';
import { fileBody, openedRead } from './read-open.js';
import { createLogger, type Logger } from '../util/log.js';
import { ServedFolder, STATE_NAME } from './served-folder.js';
import { requireParent, writeFile, type WriteContext } from './writes.js';
import { copyResource, moveResource } from './copy-move.js';

/** Folders with more members get no listing version unless asked for more (the PROPFIND cache would not keep them). */
const DEFAULT_VERSION_MEMBERS = 10_000;

/** Held (created exclusively) by whichever process is in its guard-and-rename step: ../util/lock-file.ts. */
export const WRITE_LOCK = 'write.lock';

export interface FsBackendOptions {
  root: string;
  /** Defaults to `<root>/.gitdav`, which is then hidden from clients. */
  stateDir?: string;
  /** Which symbolic links are followed (./containment.ts); default `follow-inside`. */
  symlinks?: SymlinkPolicy;
  /** Where the backend reports what it could not finish (default: warnings to stderr). */
  logger?: Logger;
  /**
   * A worker of a supervisor that holds the folder's server.pid: it does not take the file itself,
   * but requires it to name that supervisor (./folder-lock.ts).
   */
  supervised?: boolean;
}

export class FsBackend implements Backend, SyncCapable, QuotaAware, ReadOpener, ListingVersioned {
  readonly name = 'fs';
  /** A change set lists the folder and saves a snapshot: not to be asked on every request. */
  readonly cheapChanges = false;
  readonly stateDir: string;
  private readonly writeLock: CriticalSection;
  private readonly paths: Containment;
  private readonly folder: ServedFolder;
  private readonly propsStore: PropsStore;
  private readonly snapshots: SyncSnapshots;
  private readonly view: GuardView = { stat: (p) => this.stat(p) };
  /** What the write paths (./writes.ts, ./copy-move.ts) share with the class. */
  private readonly ctx: WriteContext;
  /** Files handed out by list(), with their folder's sidecar as read through the verified listing. */
  private readonly listedSidecar = new WeakMap<Entry, Sidecar>();

  private constructor(
    private readonly root: string,
    stateDir: string,
    symlinks: SymlinkPolicy,
    private readonly hold: FolderHold,
    private readonly logger: Logger,
    stateReal: string,
  ) {
    this.stateDir = stateDir;
    // The in-process mutex first, so only one section per process polls for the file.
    const file = new LockFile(join(stateDir, WRITE_LOCK), {
      onTakeOver: (holder) => logger.warn('took over the write lock of a process that died holding it', { holder }),
    });
    this.writeLock = { run: (fn) => hold.mutex.run(() => file.run(fn)) };
    const inside = stateReal.startsWith(root + sep);
    const statePath = inside ? '/' + relative(root, stateReal).split(sep).join('/') : null;
    this.paths = new Containment(root, symlinks, inside ? stateReal : null);
    this.folder = new ServedFolder(this.paths, ownTempDir(join(stateDir, 'tmp')), statePath);
    this.propsStore = new PropsStore(() => this.folder.tmpName());
    this.snapshots = new SyncSnapshots(join(stateDir, 'sync'), SyncTokenKey.in(stateDir));
    this.ctx = { folder: this.folder, writeLock: this.writeLock, propsStore: this.propsStore, view: this.view, stat: (p) => this.stat(p) };
  }

  static async open(options: FsBackendOptions): Promise<FsBackend> {
    await fsp.mkdir(options.root, { recursive: true });
    const root = await fsp.realpath(options.root);
    const stateDir = options.stateDir ?? join(root, STATE_NAME);
    const hold = await holdFolder(stateDir, root, { supervised: options.supervised });
    let stateReal: string;
    try {
      stateReal = await fsp.realpath(stateDir);
      if (stateReal === root) throw new Error(`the state folder cannot be the served folder itself (${root})`);
    } catch (err) {
      await hold.release();
      throw err;
    }
    const backend = new FsBackend(root, stateDir, options.symlinks ?? DEFAULT_SYMLINK_POLICY, hold, options.logger ?? createLogger('warn'), stateReal);
    try {
      // Leftovers of writes cut off by a crash are never content: clear those of processes that no
      // longer run (each process writes under its own folder there: ../util/process-temp.ts), and our
      // own folder only as the first holder (another backend of this process may be writing there).
      // The folders stay, so a full disk (where a new folder cannot be made) does not stop a start.
      await openTempArea(join(stateDir, 'tmp'), { clearOwn: hold.first });
    } catch (err) {
      await hold.release();
      throw err;
    }
    return backend;
  }

  /** Lets the folder go (another process may then serve it). */
  async close(): Promise<void> {
    await closeTempArea(join(this.stateDir, 'tmp'));
    await this.hold.release();
  }

  // ---- reads --------------------------------------------------------------------------------------

  async stat(path: string): Promise<Entry | null> {
    if (this.folder.isHidden(path)) return null;
    // A path through a link the policy does not follow is refused (403, saying why), not hidden: the
    // owner sees why a linked folder does not show; listings leave such links out. Stat'ed through a
    // verified handle (Containment.open): a rename between check and stat cannot redirect it.
    const fast = this.paths.openFast(path);
    if (fast) {
      try {
        return toEntry(path, fstatSync(fast.fd, { bigint: true }));
      } finally {
        closeSync(fast.fd);
      }
    }
    const opened = await this.paths.open(path, O_PATH).catch((err: unknown) => {
      throw mapFsError(err, path);
    });
    if (!opened) return null;
    try {
      // fstat of an open handle (attributes the kernel holds): synchronous, without the promise round trip.
      return toEntry(path, fstatSync(opened.fh.fd, { bigint: true }));
    } finally {
      await opened.fh.close();
    }
  }

  list(path: string): AsyncIterable<Entry> {
    const remember = (e: Entry, sidecar: Sidecar) => this.listedSidecar.set(e, sidecar);
    // The listing's own generator, not one delegating to it: a promise per member fewer (100,000).
    return listVerified(this.paths, this.propsStore, path, this.folder.hiddenIn(path), remember);
  }

  /**
   * A hash of everything a listing of `path` reports, from one pass of its stats (./listing.ts says
   * why that is all): lib/dav/listing-cache.ts replays a PROPFIND's member responses by it, and the
   * CalDAV layer keeps a calendar's members by it. Exact for changes made by anyone, any process.
   */
  async listingVersion(path: string, options: { maxMembers?: number } = {}): Promise<string | null> {
    if (this.folder.isHidden(path)) return null;
    return listingVersionOf(this.paths, path, this.folder.hiddenIn(path), options.maxMembers ?? DEFAULT_VERSION_MEMBERS);
  }

  /**
   * The members with the listing version they were read at, from one pass (see listingVersion); each
   * file remembers its folder's sidecar as list() does, so its properties need no second read.
   */
  async listVersioned(path: string, options: { maxMembers?: number } = {}): Promise<{ entries: Entry[]; version: string } | null> {
    if (this.folder.isHidden(path)) return null;
    const remember = (e: Entry, sidecar: Sidecar) => this.listedSidecar.set(e, sidecar);
    return listVersionedOf(this.paths, this.propsStore, path, this.folder.hiddenIn(path), options.maxMembers ?? DEFAULT_VERSION_MEMBERS, remember);
  }

  async read(path: string, range?: ByteRange, _known?: Entry): Promise<Readable> {
    if (this.folder.isHidden(path)) throw new BackendError('NotFound', path);
    // Opened and verified, then streamed from that handle: never opened by name a second time. A GET
    // or HEAD goes through openRead instead (one open by name for the entry and the body).
    const opened = await this.paths.open(path, fsc.O_RDONLY);
    if (!opened) throw new BackendError('NotFound', path);
    return fileBody(path, opened.fh.fd, () => void opened.fh.close().catch(() => undefined), range);
  }

  /**
   * A GET's target opened once (./read-open.ts): the verified O_PATH handle of the stat gives the
   * entry and, reopened, the body. Where the fast open cannot decide (a link on the way, a test's race
   * hooks), a stat then a read by name, as before.
   */
  async openRead(path: string): Promise<OpenedRead | null> {
    if (this.folder.isHidden(path)) return null;
    const fast = this.paths.openFast(path);
    if (fast) return openedRead(path, fast.fd);
    const entry = await this.stat(path);
    return entry && readByName(this, entry);
  }

  async props(path: string, known?: Entry): Promise<PropertyMap> {
    // A file this backend listed: its folder's sidecar was read through the listing's verified handle.
    const listed = known?.path === path ? this.listedSidecar.get(known) : undefined;
    if (listed) return propsOf(listed, baseName(path));
    const entry = known?.path === path ? known : await this.stat(path);
    if (!entry) throw new BackendError('NotFound', path);
    const [dirPath, key] = entry.kind === 'collection' ? [path, SELF] : [parentOf(path), baseName(path)];
    const folder = await this.paths.open(dirPath, O_PATH | fsc.O_DIRECTORY);
    if (!folder) throw new BackendError('NotFound', path);
    try {
      return propsOf(await this.propsStore.read(folder.via, folder.real), key);
    } finally {
      await folder.fh.close();
    }
  }

  async quota(): Promise<Quota> {
    const s = await fsp.statfs(this.root);
    return { availableBytes: s.bavail * s.bsize, usedBytes: (s.blocks - s.bfree) * s.bsize };
  }

  // ---- sync (RFC 6578) ----------------------------------------------------------------------------

  async syncToken(path: string): Promise<string> {
    return this.snapshots.save(path, (await this.memberPrints(path)).prints);
  }

  async changes(path: string, since: string | undefined, limit = Infinity): Promise<ChangeSet> {
    const previous: ReadonlyMap<string, string> | null = since === undefined ? new Map<string, string>() : await this.snapshots.load(path, since);
    if (!previous) throw new BackendError('InvalidSyncToken', path, `unknown or expired sync token ${since}`);
    const { prints, entries, sidecar } = await this.memberPrints(path);
    const diff = diffMembers(previous, prints, limit);
    const changed = diff.changed.map((n) => entries.get(n)!);
    // Their properties come from the sidecar of the pass that listed them, as for a listing's files
    // (the event loop turning: a first sync remembers every file).
    await eachInTurns(changed, (e) => void (e.kind === 'file' && this.listedSidecar.set(e, sidecar)));
    return {
      token: await this.snapshots.save(path, diff.reached),
      changed,
      removed: diff.removed.map((n) => joinPath(path, n)),
      truncated: diff.truncated,
    };
  }

  /** Members of a folder with fingerprints: ETag, plus a file's dead properties (./sync-members.ts). */
  private async memberPrints(path: string): Promise<MemberPrints> {
    const dir = await this.stat(path);
    if (!dir || dir.kind !== 'collection') throw new BackendError('NotFound', path);
    const hidden = this.folder.hiddenIn(path);
    const pass: VersionedPass = (remember) => listVersionedOf(this.paths, this.propsStore, path, hidden, Infinity, remember);
    const versioned = await versionedMemberPrints(this.root, path, pass);
    if (versioned) return versioned;
    // No version (a member is a symbolic link): listed as any listing is.
    const listed: Entry[] = [];
    let sidecar: Sidecar | undefined;
    for await (const e of this.list(path)) {
      listed.push(e);
      if (e.kind === 'file') sidecar ??= this.listedSidecar.get(e);
    }
    return fingerprints(listed, sidecar ?? {});
  }

  // ---- writes -------------------------------------------------------------------------------------

  async write(path: string, body: Readable, options: WriteOptions = {}): Promise<WriteResult> {
    return writeFile(this.ctx, path, body, options);
  }

  async remove(path: string, options: MutationOptions = {}): Promise<void> {
    if (path === '/') throw new BackendError('Forbidden', path, 'the root cannot be deleted');
    this.folder.keepState(path);
    const trash = this.folder.tmpName();
    await this.changeExisting(path, options, async (entry) => {
      // Rename first (atomic), delete the tree afterwards outside the lock. A file goes at once: on a
      // full disk its space is what lets the sidecar be rewritten.
      await fsp.rename(this.folder.abs(path), trash);
      if (entry.kind === 'file') {
        await fsp.rm(trash, { force: true });
        // The bytes are gone, so the DELETE has happened: a failed sidecar rewrite (a full disk that
        // the freed file did not relieve) must not answer 507 for it. Its leftover properties are
        // cleared when a file of that name is created again (write()).
        await this.propsStore.put(this.folder.abs(parentOf(path)), baseName(path), new Map()).catch((err: unknown) => {
          this.logger.warn('a deleted file\'s dead properties could not be removed from its folder\'s sidecar', { path, err });
        });
      }
    })
    .finally(() => fsp.rm(trash, { recursive: true, force: true }));
  }

  async mkcol(path: string, options: MutationOptions & { props?: PropPatch[] } = {}): Promise<Entry> {
    await this.folder.writable(path);
    return this.writeLock.run(async () => {
      await this.folder.writable(path);
      await requireParent(this.ctx, path);
      if (await this.stat(path)) throw new BackendError('AlreadyExists', path);
      await options.guard?.(this.view);
      // Built aside with its properties, then renamed into place: it appears whole or not at all.
      const tmp = this.folder.tmpName();
      try {
        await fsp.mkdir(tmp);
        if (options.props?.length) await this.propsStore.put(tmp, SELF, applyPatches(new Map(), options.props));
        await fsp.rename(tmp, this.folder.abs(path));
      } catch (err) {
        await fsp.rm(tmp, { recursive: true, force: true });
        throw mapFsError(err, path);
      }
      return (await this.stat(path))!;
    });
  }

  async copy(from: string, to: string, options: CopyOptions): Promise<WriteResult> {
    return copyResource(this.ctx, from, to, options);
  }

  async move(from: string, to: string, options: MoveOptions): Promise<WriteResult> {
    return moveResource(this.ctx, from, to, options);
  }

  async patchProps(path: string, patches: PropPatch[], options: MutationOptions = {}): Promise<void> {
    await this.changeExisting(path, options, async (entry) => {
      const [dir, key] = this.propsKey(path, entry.kind);
      await this.propsStore.put(dir, key, applyPatches(await this.propsStore.get(dir, key), patches));
    });
  }

  // ---- helpers ------------------------------------------------------------------------------------

  /**
   * A change of a resource that must exist: the link policy is checked before waiting for the write lock
   * (a quick refusal) and again inside it (see writes.ts), where the resource is looked up and the
   * request's guard runs; file system errors come out as backend errors.
   */
  private async changeExisting(path: string, options: MutationOptions, change: (entry: Entry) => Promise<void>): Promise<void> {
    await this.folder.writable(path);
    await this.writeLock
      .run(async () => {
        await this.folder.writable(path);
        const entry = await this.stat(path);
        if (!entry) throw new BackendError('NotFound', path);
        await options.guard?.(this.view);
        await change(entry);
      })
      .catch((err: unknown) => {
        throw mapFsError(err, path);
      });
  }

  /** Where a resource's dead properties live: [folder holding the sidecar, key]. */
  private propsKey(path: string, kind: Entry['kind']): [string, string] {
    return kind === 'collection' ? [this.folder.abs(path), SELF] : [this.folder.abs(parentOf(path)), baseName(path)];
  }
}

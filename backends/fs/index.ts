/**
 * The folder backend: a plain directory served as it is.
 *
 * - Writes stream into a temp file under the state dir, then rename over the target: a reader sees the
 *   old or the new bytes, never a mix, and a cut-off body changes nothing.
 * - One mutex per backend serialises the short "check guard, then rename" steps; the slow parts (body
 *   upload, tree copies) run outside it.
 * - ETags are strong: inode, size and nanosecond mtime (each write is a new inode via rename).
 * - Every path is checked against the symbolic-link policy (./containment.ts): no link leads out of
 *   the folder holding it, so none leads out of a shared folder or the root, and none is written through.
 * - One process per folder (./folder-lock.ts): the mutex is per process.
 */
import { constants as fsc, promises as fsp } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
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
  type Guard,
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
import type { QuotaAware, SyncCapable } from '../capabilities.js';
import type { Mutex } from '../util/mutex.js';
import { Containment, DEFAULT_SYMLINK_POLICY, O_PATH, type Opened, type SymlinkPolicy } from './containment.js';
import { holdFolder, type FolderHold } from './folder-lock.js';
import { PropsStore, SELF, SIDECAR } from './props-store.js';
import { applyPatches, propsOf, type Sidecar } from '../sidecar.js';
import { diffMembers } from '../sync-diff.js';
import { SyncSnapshots } from './sync-snapshots.js';
import { SyncTokenKey } from '../sync-token-key.js';
import { mapFsError, streamInto, toEntry } from './fs-io.js';
import { listVerified } from './listing.js';
import { createLogger, type Logger } from '../util/log.js';

export interface FsBackendOptions {
  root: string;
  /** Defaults to `<root>/.gitdav`, which is then hidden from clients. */
  stateDir?: string;
  /** Which symbolic links are followed (./containment.ts); default `follow-inside`. */
  symlinks?: SymlinkPolicy;
  /** Where the backend reports what it could not finish (default: warnings to stderr). */
  logger?: Logger;
}

const STATE_NAME = '.gitdav';
/** lib/auth/users-file.ts keeps the server's users here, in the root. */
const USERS_FILE = '.htpasswd';

export class FsBackend implements Backend, SyncCapable, QuotaAware {
  readonly name = 'fs';
  /** A change set lists the folder and saves a snapshot: not to be asked on every request. */
  readonly cheapChanges = false;
  readonly stateDir: string;
  private readonly mutex: Mutex;
  private readonly tmpDir: string;
  private readonly paths: Containment;
  private readonly propsStore: PropsStore;
  private readonly snapshots: SyncSnapshots;
  private readonly view: GuardView = { stat: (p) => this.stat(p) };
  /** The state folder's client path when it lies inside the root (`/.gitdav` by default): hidden. */
  private readonly statePath: string | null;
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
    this.mutex = hold.mutex;
    const inside = stateReal.startsWith(root + sep);
    this.statePath = inside ? '/' + relative(root, stateReal).split(sep).join('/') : null;
    this.paths = new Containment(root, symlinks, inside ? stateReal : null);
    this.tmpDir = join(stateDir, 'tmp');
    this.propsStore = new PropsStore(() => this.tmpName());
    this.snapshots = new SyncSnapshots(join(stateDir, 'sync'), SyncTokenKey.in(stateDir));
  }

  static async open(options: FsBackendOptions): Promise<FsBackend> {
    await fsp.mkdir(options.root, { recursive: true });
    const root = await fsp.realpath(options.root);
    const stateDir = options.stateDir ?? join(root, STATE_NAME);
    const hold = await holdFolder(stateDir, root);
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
      // Leftovers of writes cut off by a crash are never content: clear them (the first holder only:
      // another backend of this process may be writing there). The folder itself stays, so a full disk
      // (where a new folder cannot be made) does not stop a start.
      await fsp.mkdir(backend.tmpDir, { recursive: true });
      if (hold.first) for (const name of await fsp.readdir(backend.tmpDir)) await fsp.rm(join(backend.tmpDir, name), { recursive: true, force: true });
    } catch (err) {
      await hold.release();
      throw err;
    }
    return backend;
  }

  /** Lets the folder go (another process may then serve it). */
  async close(): Promise<void> {
    await this.hold.release();
  }

  // ---- reads --------------------------------------------------------------------------------------

  async stat(path: string): Promise<Entry | null> {
    if (this.isHidden(path)) return null;
    // A path through a link the policy does not follow is refused (403, saying why), not hidden: the
    // owner sees why a linked folder does not show; listings leave such links out. Stat'ed through a
    // verified handle (Containment.open): a rename between check and stat cannot redirect it.
    const opened = await this.paths.open(path, O_PATH).catch((err: unknown) => {
      throw mapFsError(err, path);
    });
    if (!opened) return null;
    try {
      return toEntry(path, await opened.fh.stat({ bigint: true }));
    } finally {
      await opened.fh.close();
    }
  }

  async *list(path: string): AsyncIterable<Entry> {
    const remember = (e: Entry, sidecar: Sidecar) => this.listedSidecar.set(e, sidecar);
    yield* listVerified(this.paths, this.propsStore, path, (p) => this.isHidden(p), remember);
  }

  async read(path: string, range?: ByteRange, _known?: Entry): Promise<Readable> {
    if (this.isHidden(path)) throw new BackendError('NotFound', path);
    // Opened and verified, then streamed from that handle: never opened by name a second time.
    const opened = await this.paths.open(path, fsc.O_RDONLY);
    if (!opened) throw new BackendError('NotFound', path);
    try {
      if ((await opened.fh.stat()).isDirectory()) throw new BackendError('IsACollection', path);
    } catch (err) {
      await opened.fh.close();
      throw err;
    }
    // 256 KiB chunks: a quarter of the per-chunk overhead of the default, still little memory per client.
    return opened.fh.createReadStream({ highWaterMark: 256 * 1024, ...(range ? { start: range.start, end: range.end } : {}) });
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
    const previous = since === undefined ? new Map<string, string>() : await this.snapshots.load(path, since);
    if (!previous) throw new BackendError('InvalidSyncToken', path, `unknown or expired sync token ${since}`);
    const { prints, entries } = await this.memberPrints(path);
    const diff = diffMembers(previous, prints, limit);
    return {
      token: await this.snapshots.save(path, diff.reached),
      changed: diff.changed.map((n) => entries.get(n)!),
      removed: diff.removed.map((n) => joinPath(path, n)),
      truncated: diff.truncated,
    };
  }

  /** Members of a folder with fingerprints: ETag, plus a file's dead properties. */
  private async memberPrints(path: string): Promise<{ prints: Map<string, string>; entries: Map<string, Entry> }> {
    const dir = await this.stat(path);
    if (!dir || dir.kind !== 'collection') throw new BackendError('NotFound', path);
    const prints = new Map<string, string>();
    const entries = new Map<string, Entry>();
    for await (const e of this.list(path)) {
      const name = baseName(e.path);
      entries.set(name, e);
      prints.set(name, e.kind === 'collection' ? e.etag : `${e.etag} ${JSON.stringify(this.listedSidecar.get(e)?.[name] ?? {})}`);
    }
    return { prints, entries };
  }

  // ---- writes -------------------------------------------------------------------------------------

  async write(path: string, body: Readable, options: WriteOptions = {}): Promise<WriteResult> {
    await this.writable(path);
    await this.requireParent(path);
    const tmp = this.tmpName();
    try {
      let basis: Entry | null = null;
      if (options.offset !== undefined) {
        // The bytes kept come from a verified handle, and the basis is that handle's own stat: a
        // rename between a check and an open by name could otherwise copy in another file's bytes.
        basis = (await this.stat(path))?.kind === 'file'
          ? await this.fromVerified(path, fsc.O_RDONLY, async (src) => {
              const entry = toEntry(path, await src.fh.stat({ bigint: true }));
              await fsp.copyFile(src.via, tmp, fsc.COPYFILE_FICLONE);
              return entry;
            })
          : null;
        const size = basis?.kind === 'file' ? basis.size : 0;
        if (options.offset > size) throw new BackendError('InvalidRange', path, `offset ${options.offset} is past the end (${size})`);
        if (!basis) await fsp.writeFile(tmp, '');
      }
      await streamInto(body, tmp, options.offset);
      return await this.mutex.run(async () => {
        // Checked again where no client's MOVE can run: the check before the upload may be stale.
        await this.writable(path);
        await this.requireParent(path);
        const before = await this.stat(path);
        if (before?.kind === 'collection') throw new BackendError('IsACollection', path);
        if (options.offset !== undefined && before?.etag !== basis?.etag) {
          throw new BackendError('Conflict', path, 'the file changed while the partial write was uploading');
        }
        await options.guard?.(this.view);
        // A new file starts with no dead properties, even if a DELETE could not clear its name's.
        if (!before) await this.propsStore.put(this.abs(parentOf(path)), baseName(path), new Map());
        await fsp.rename(tmp, this.abs(path));
        return { entry: (await this.stat(path))!, created: !before };
      });
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw mapFsError(err, path);
    }
  }

  async remove(path: string, options: MutationOptions = {}): Promise<void> {
    if (path === '/') throw new BackendError('Forbidden', path, 'the root cannot be deleted');
    this.keepState(path);
    const trash = this.tmpName();
    await this.changeExisting(path, options, async (entry) => {
      // Rename first (atomic), delete the tree afterwards outside the lock. A file goes at once: on a
      // full disk its space is what lets the sidecar be rewritten.
      await fsp.rename(this.abs(path), trash);
      if (entry.kind === 'file') {
        await fsp.rm(trash, { force: true });
        // The bytes are gone, so the DELETE has happened: a failed sidecar rewrite (a full disk that
        // the freed file did not relieve) must not answer 507 for it. Its leftover properties are
        // cleared when a file of that name is created again (write()).
        await this.propsStore.put(this.abs(parentOf(path)), baseName(path), new Map()).catch((err: unknown) => {
          this.logger.warn('a deleted file\'s dead properties could not be removed from its folder\'s sidecar', { path, err });
        });
      }
    })
    .finally(() => fsp.rm(trash, { recursive: true, force: true }));
  }

  async mkcol(path: string, options: MutationOptions & { props?: PropPatch[] } = {}): Promise<Entry> {
    await this.writable(path);
    return this.mutex.run(async () => {
      await this.writable(path);
      await this.requireParent(path);
      if (await this.stat(path)) throw new BackendError('AlreadyExists', path);
      await options.guard?.(this.view);
      // Built aside with its properties, then renamed into place: it appears whole or not at all.
      const tmp = this.tmpName();
      try {
        await fsp.mkdir(tmp);
        if (options.props?.length) await this.propsStore.put(tmp, SELF, applyPatches(new Map(), options.props));
        await fsp.rename(tmp, this.abs(path));
      } catch (err) {
        await fsp.rm(tmp, { recursive: true, force: true });
        throw mapFsError(err, path);
      }
      return (await this.stat(path))!;
    });
  }

  async copy(from: string, to: string, options: CopyOptions): Promise<WriteResult> {
    if (options.depth !== 0) this.keepState(from);
    await this.writable(to);
    const source = await this.stat(from);
    if (!source) throw new BackendError('NotFound', from);
    await this.requireParent(to);
    const tmp = this.tmpName();
    try {
      // Build the copy aside, then swap it in atomically. A source reached through a link is copied
      // from its target (fs.cp would copy the link itself, and a relative one would lead elsewhere).
      // The source is read through a verified handle (Containment.open); a folder tree is copied by
      // name, so inside the write mutex, where no client's MOVE can rename its ancestors meanwhile.
      if (source.kind === 'file') {
        await this.fromVerified(from, fsc.O_RDONLY, (src) => fsp.copyFile(src.via, tmp, fsc.COPYFILE_FICLONE));
      } else if (options.depth === 0) {
        await fsp.mkdir(tmp);
        const own = await this.fromVerified(from, O_PATH | fsc.O_DIRECTORY, async (src) => propsOf(await this.propsStore.read(src.via, src.real), SELF));
        if (own.size) await this.propsStore.put(tmp, SELF, own);
      } else {
        await this.mutex.run(() =>
          this.fromVerified(from, O_PATH | fsc.O_DIRECTORY, (src) => fsp.cp(src.real, tmp, { recursive: true, errorOnExist: true, force: false, verbatimSymlinks: true })),
        );
      }
      return await this.mutex.run(() =>
        this.swapIn(to, tmp, options, async () => {
          if (source.kind === 'file') {
            await this.propsStore.transfer(this.abs(parentOf(from)), baseName(from), this.abs(parentOf(to)), baseName(to), true);
          }
        }),
      );
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw mapFsError(err, to);
    }
  }

  async move(from: string, to: string, options: MoveOptions): Promise<WriteResult> {
    this.keepState(from);
    await this.writable(from);
    await this.writable(to);
    return this.mutex.run(async () => {
      await this.writable(from);
      const source = await this.stat(from);
      if (!source) throw new BackendError('NotFound', from);
      await this.requireParent(to);
      return this.swapIn(to, this.abs(from), options, async () => {
        if (source.kind === 'file') {
          await this.propsStore.transfer(this.abs(parentOf(from)), baseName(from), this.abs(parentOf(to)), baseName(to), false);
        }
      });
    }).catch((err: unknown) => {
      throw mapFsError(err, to);
    });
  }

  async patchProps(path: string, patches: PropPatch[], options: MutationOptions = {}): Promise<void> {
    await this.changeExisting(path, options, async (entry) => {
      const [dir, key] = this.propsKey(path, entry.kind);
      await this.propsStore.put(dir, key, applyPatches(await this.propsStore.get(dir, key), patches));
    });
  }

  // ---- helpers ------------------------------------------------------------------------------------

  /**
   * A change of a resource that must exist: the link policy is checked before waiting for the mutex
   * (a quick refusal) and again inside it (see write()), where the resource is looked up and the
   * request's guard runs; file system errors come out as backend errors.
   */
  private async changeExisting(path: string, options: MutationOptions, change: (entry: Entry) => Promise<void>): Promise<void> {
    await this.writable(path);
    await this.mutex
      .run(async () => {
        await this.writable(path);
        const entry = await this.stat(path);
        if (!entry) throw new BackendError('NotFound', path);
        await options.guard?.(this.view);
        await change(entry);
      })
      .catch((err: unknown) => {
        throw mapFsError(err, path);
      });
  }

  /** Inside the mutex: replace `to` by the prepared `prepared` path, honouring overwrite and the guard. */
  private async swapIn(
    to: string,
    prepared: string,
    options: { guard?: Guard; overwrite: boolean },
    afterRename: () => Promise<void>,
  ): Promise<WriteResult> {
    // The policy checked again inside the mutex, right before the rename: see write().
    await this.writable(to);
    await this.requireParent(to);
    const before = await this.stat(to);
    if (before && !options.overwrite) throw new BackendError('AlreadyExists', to);
    await options.guard?.(this.view);
    const trash = before ? this.tmpName() : null;
    if (trash) {
      await fsp.rename(this.abs(to), trash);
      if (before!.kind === 'file') await this.propsStore.put(this.abs(parentOf(to)), baseName(to), new Map());
    }
    await fsp.rename(prepared, this.abs(to));
    await afterRename();
    if (trash) void fsp.rm(trash, { recursive: true, force: true });
    return { entry: (await this.stat(to))!, created: !before };
  }

  private abs(path: string): string {
    return this.paths.abs(path);
  }

  /** Runs `fn` on `path` opened and verified (Containment.open); NotFound if it is not there (any more). */
  private async fromVerified<T>(path: string, flags: number, fn: (opened: Opened) => Promise<T>): Promise<T> {
    const opened = await this.paths.open(path, flags);
    if (!opened) throw new BackendError('NotFound', path);
    try {
      return await fn(opened);
    } finally {
      await opened.fh.close();
    }
  }

  private tmpName(): string {
    return join(this.tmpDir, `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`);
  }

  /** Where a resource's dead properties live: [folder holding the sidecar, key]. */
  private propsKey(path: string, kind: Entry['kind']): [string, string] {
    return kind === 'collection' ? [this.abs(path), SELF] : [this.abs(parentOf(path)), baseName(path)];
  }

  private isHidden(path: string): boolean {
    const segs = path.split('/');
    if (segs.includes(SIDECAR)) return true;
    // The server root's users file: never served, and never written by a client (it would turn on
    // logins with passwords of the client's choosing).
    if (path === `/${USERS_FILE}`) return true;
    // The state folder (sync-token.key, server.pid, locks) wherever it is inside the root, not only
    // under its default name.
    return this.statePath !== null && (path === this.statePath || path.startsWith(this.statePath + '/'));
  }

  /** Refuses reserved names and paths through symbolic links (the policy's `write`). */
  private async writable(path: string): Promise<void> {
    if (this.isHidden(path)) throw new BackendError('Forbidden', path, `${SIDECAR}, ${USERS_FILE} and the server's state folder (${this.statePath ?? STATE_NAME}) are reserved names`);
    await this.paths.check(path, 'write');
  }

  /**
   * Refuses to delete, move or copy a folder that holds the state folder (a custom stateDir inside
   * the root): moved, its key and locks would leave the hidden path; copied, they would be visible.
   */
  private keepState(path: string): void {
    if (this.statePath !== null && path !== '/' && this.statePath.startsWith(path + '/')) {
      throw new BackendError('Forbidden', path, `this folder holds the server's state folder (${this.statePath}): it cannot be deleted, moved or copied`);
    }
  }

  private async requireParent(path: string): Promise<void> {
    const parent = await this.stat(parentOf(path));
    if (!parent) throw new BackendError('ParentMissing', path);
    if (parent.kind !== 'collection') throw new BackendError('NotACollection', parentOf(path));
  }

}

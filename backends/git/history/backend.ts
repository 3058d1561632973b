/**
 * History as a backend of its own: read-only, its root is what the repository shows at `/.history`
 * (../repository.ts mounts it there, beside the live tree). Its resources are trees and blobs of the
 * live tree's object store, so the live tree restores from it by id (../tree-source.ts).
 */
import type { Readable } from 'node:stream';
import { baseName, parentOf, type Backend, type ByteRange, type ChangeSet, type Entry, type PropertyMap, type VersionInfo, type WriteResult } from '../../backend.js';
import { BackendError } from '../../errors.js';
import type { SyncCapable } from '../../capabilities.js';
import { propsOf } from '../../sidecar.js';
import type { ObjectStore } from '../objects.js';
import { blobIdOf } from '../read-open.js';
import { propsKey, readSidecar, shallowDir } from '../sidecars.js';
import type { TreeSource } from '../tree-source.js';
import type { Slot } from '../tree.js';
import { History, type HistoryDeps } from './history.js';

export interface HistoryBackendDeps extends HistoryDeps {
  /** The live tree's state dir (history keeps no state of its own). */
  stateDir: string;
  /** A sync token for a history collection (signed as the live tree signs its own). */
  token(path: string, tree: string): Promise<string>;
}

/** What every write into history fails with (403, DAV:cannot-modify-version). */
export function readOnly(path: string): BackendError {
  return new BackendError('ReadOnly', path, HISTORY_READ_ONLY);
}
export const HISTORY_READ_ONLY = 'history is read-only; COPY from it to restore';

export class HistoryBackend implements Backend, SyncCapable, TreeSource {
  /** Nothing in history changes under a token: changes() answers at once, storing nothing. */
  readonly cheapChanges = true;
  readonly name = 'git-history';
  readonly stateDir: string;
  readonly store: ObjectStore;
  private readonly history: History;

  constructor(private readonly d: HistoryBackendDeps) {
    this.stateDir = d.stateDir;
    this.store = d.store;
    this.history = new History(d);
  }

  stat(path: string): Promise<Entry | null> {
    return this.history.stat(path);
  }

  list(path: string): AsyncIterable<Entry> {
    return this.history.list(path);
  }

  async read(path: string, range?: ByteRange, known?: Entry): Promise<Readable> {
    // An entry the caller just got names its blob: its ETag is the blob id.
    const oid = blobIdOf(known, path);
    if (oid) return this.store.readBlob(oid, range);
    const found = await this.history.slotOf(path);
    if (!found) throw new BackendError('NotFound', path);
    if (found.slot.kind !== 'file') throw new BackendError('IsACollection', path);
    return this.store.readBlob(found.slot.oid, range);
  }

  async props(path: string): Promise<PropertyMap> {
    // A snapshot shows the properties as they were; virtual folders, file versions and the roots of
    // commits (commits/<sha>, by-date/…/<leaf>: listed by the thousand) have none.
    if (path.startsWith('/versions/') || isCommitRoot(path)) return new Map();
    const found = await this.history.slotOf(path);
    if (!found?.editor || !found.inner) return new Map();
    const [dir, key] = propsKey(found.inner, found.slot);
    return propsOf(await readSidecar(this.store, found.editor, dir), key);
  }

  async syncToken(path: string): Promise<string> {
    const entry = await this.stat(path);
    if (!entry || entry.kind !== 'collection') throw new BackendError('NotFound', path);
    return this.d.token(path, entry.etag.slice(1, -1));
  }

  /** History does not change under a token: there is nothing to sync. */
  async changes(path: string): Promise<ChangeSet> {
    throw new BackendError('NotFound', path);
  }

  /** Where a live file's current version is, in history's paths (DAV:checked-in and friends). */
  versionOfLive(livePath: string): VersionInfo | null {
    const last = this.d.index.lastChange(livePath);
    if (!last) return null;
    return { name: last.oid.slice(0, 7), creator: last.author, path: `/versions${livePath}/${History.versionName(livePath, last)}` };
  }

  async treeOf(path: string, depth: 0 | 'infinity'): Promise<{ slot: Slot; fileProps: PropertyMap | null; label: string; commit: string } | null> {
    const found = await this.history.slotOf(path);
    if (!found) {
      // A virtual folder of versions/ or deleted/: restored as the folder it stands for.
      const folder = await this.history.restoredFolder(path, depth);
      return folder && { slot: folder.slot, fileProps: null, label: folder.commit.oid.slice(0, 7), commit: folder.commit.oid };
    }
    let fileProps: PropertyMap | null = null;
    if (found.slot.kind === 'file' && found.editor && found.inner) {
      fileProps = propsOf(await readSidecar(this.store, found.editor, parentOf(found.inner)), baseName(found.inner));
    }
    const slot = found.slot.kind === 'dir' && depth === 0 ? await shallowDir(this.store, found.editor!, found.inner!) : found.slot;
    return { slot, fileProps, label: found.commit.oid.slice(0, 7), commit: found.commit.oid };
  }

  write(path: string): Promise<WriteResult> {
    return Promise.reject(readOnly(path));
  }

  remove(path: string): Promise<void> {
    return Promise.reject(readOnly(path));
  }

  mkcol(path: string): Promise<Entry> {
    return Promise.reject(readOnly(path));
  }

  copy(_from: string, to: string): Promise<WriteResult> {
    return Promise.reject(readOnly(to));
  }

  move(from: string): Promise<WriteResult> {
    return Promise.reject(readOnly(from));
  }

  patchProps(path: string): Promise<void> {
    return Promise.reject(readOnly(path));
  }
}

/** Paths whose members are commits' roots, or virtual folders above them. */
function isCommitRoot(path: string): boolean {
  const parts = path.split('/');
  if (parts.length <= 3) return true;
  return parts[1] === 'by-date' && (parts.length <= 6 || (parts.length === 7 && /^\d{2}$/.test(parts[5]!)));
}

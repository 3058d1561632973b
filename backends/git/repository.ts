/**
 * A git repository as served: the live tree (./index.ts) with its history (./history/) mounted
 * read-only at `/.history`, through the same mount view that brings shares to their grantees. Every
 * caller that serves a repository opens it here, so each gets the same composition.
 *
 * The view routes `/.history/…` to the history backend (writes there fail ReadOnly, 403 with
 * DAV:cannot-modify-version), lists `.history` in the root, and hands a COPY out of history to the
 * live tree's `copyFrom` (a restore by object id, in one commit). The live tree keeps `.history` as a
 * reserved root name, so nothing it holds can hide or shadow the mount.
 *
 * Between the view and the live tree stands the junk layer (./junk/view.ts): files with junk names
 * (`.DS_Store`, `~$x.docx`; ./junk/rules.ts, the config's `ignore`) are kept beside the repository and
 * never committed. `live` stays the GitBackend itself (history and `gitdav restore` use it).
 */
import { baseName, isWithin, type VersionInfo } from '../backend.js';
import type { HistoryReader } from '../capabilities.js';
import { MountView } from '../mount/view.js';
import { MountTable } from '../mount/table.js';
import { GitBackend, type GitBackendOptions } from './index.js';
import { HistoryBackend, HISTORY_READ_ONLY } from './history/backend.js';
import { HISTORY } from './history/history.js';
import { BlobCache, type BlobCacheOptions } from './blob-cache.js';
import { join } from 'node:path';
import { ownTempDir } from '../util/process-temp.js';
import { DEFAULT_JUNK, JunkRules } from './junk/rules.js';
import { JunkStore } from './junk/store.js';
import { JunkView } from './junk/view.js';
import { GitLog } from './log.js';

/** Where history is mounted. */
export const HISTORY_AT = `/${HISTORY}`;

export class GitRepository extends MountView {
  constructor(
    readonly live: GitBackend,
    readonly history: HistoryBackend,
    /** The junk layer over `live`; null when no pattern is configured (`ignore: []`). */
    readonly junk: JunkView | null = null,
  ) {
    super(junk ?? live, new MountTable([{ at: HISTORY_AT, path: '/', target: history, access: 'read', readOnlyPart: HISTORY_READ_ONLY }]));
  }

  /** A live file's current version (RFC 3253); none for what is in history already. */
  override async versionOf(path: string): Promise<VersionInfo | null> {
    if (isWithin(path, HISTORY_AT)) return null;
    if (await this.junk?.serves(path)) return null; // a junk file shadows a committed one of its name
    const v = this.history.versionOfLive(path);
    return v && { ...v, path: HISTORY_AT + v.path };
  }

  private reader?: GitLog;

  /** The history pages' reader (HistoryLog): the whole repository is this user's, history included. */
  override historyOf(): HistoryReader {
    const live = this.live;
    return (this.reader ??= new GitLog({ store: live.store, refs: live.refs, index: live.index, ref: live.ref, tip: () => live.tip(), liveKind: async (p) => (await this.stat(p))?.kind ?? null, historyAt: HISTORY_AT }));
  }

  /** This view owns both its backends. */
  override async close(): Promise<void> {
    await this.junk?.close();
    await this.live.close();
  }
}

/**
 * Opens (or creates) a repository and serves it with its history. Blobs read are kept inflated in
 * `<gitdir>/gitdav/blob-cache` (./blob-cache.ts) unless `blobCache.maxBytes` is 0.
 */
export async function openGitRepository(options: GitBackendOptions & { blobCache?: BlobCacheOptions; historyListCap?: number }): Promise<GitRepository> {
  const live = await GitBackend.open({ ...options, reserved: [HISTORY, ...(options.reserved ?? [])] });
  const cache = new BlobCache(join(live.stateDir, 'blob-cache'), () => ownTempDir(join(live.stateDir, 'tmp')), options.blobCache);
  if (cache.maxBytes > 0) {
    live.store.blobCache = cache;
    // Counted now, in the background: until the folder is counted no read may fill, so counting at
    // the first read left that read and the next ones (one per worker) inflating without filling.
    void cache.ready();
  }
  const history = new HistoryBackend({
    stateDir: live.stateDir,
    store: live.store,
    refs: live.refs,
    index: live.index,
    placeholder: live.placeholder,
    listCap: options.historyListCap,
    current: async () => (await live.tip()).time,
    liveKind: async (p) => (await live.stat(p))?.kind ?? null,
    liveNames: async (p) => {
      const names: string[] = [];
      for await (const e of live.list(p)) names.push(baseName(e.path));
      return names;
    },
    // Signed for the path the client sees, as the live tree's tokens are.
    token: (p, tree) => live.tokenFor(HISTORY_AT + (p === '/' ? '' : p), tree),
  });
  const rules = new JunkRules(options.ignore ?? DEFAULT_JUNK);
  const junk = rules.empty ? null : new JunkView(live, rules, new JunkStore(join(live.stateDir, 'junk'), () => ownTempDir(join(live.stateDir, 'tmp'))));
  return new GitRepository(live, history, junk);
}

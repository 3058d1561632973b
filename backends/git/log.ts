/**
 * A repository's history as the history pages read it (HistoryLog, backends/capabilities.ts): a
 * path's commits from the path index (./path-index.ts: never a `log -- path`), one commit's changes by
 * a bounded tree diff (./log-diff.ts), blobs by id with a size cap, a folder's gone members, the
 * branches and tags. Paths are the repository's as served (history under `/.history`), so the links
 * a page makes are the ones a WebDAV client uses (a COPY from them restores).
 */
import { joinPath } from '../backend.js';
import type { CommitDetail, DeletedMember, HistoryReader, LogCommit, LogEntry } from '../capabilities.js';
import { SIDECAR } from '../sidecar.js';
import { versionName } from './history/versions.js';
import { diffBelow, entryAt } from './log-diff.js';
import { EMPTY_TREE, type CommitInfo, type ObjectStore } from './objects.js';
import type { CommitMeta, PathIndex } from './path-index.js';
import type { Refs } from './refs.js';

/** Commits one log call returns at most (a page of the history view is 50). */
export const LOG_LIMIT = 100;
/** Files of one commit listed at most (the commit view; "and N more" past it). */
export const COMMIT_FILES = 1_000;
/** Names of a folder looked at for gone members at most (a folder of 50,000 names ever: a bounded pass). */
export const DELETED_SCAN = 10_000;
/** Changed files a log entry counts past its list (a page of 50 commits of 100,000 files each walks 50 × this). */
export const LOG_COUNT_CAP = 1_000;
/** Branches and tags listed at most. */
export const REFS_LIMIT = 100;
/** 4–40 hex digits: a commit id or a unique prefix of one (as `/.history/commits/` takes them). */
export const COMMIT_ID = /^[0-9a-f]{4,40}$/i;

export interface GitLogDeps {
  store: ObjectStore;
  refs: Refs;
  index: PathIndex;
  /** The branch served (`refs/heads/main`). */
  ref: string;
  /** Brings the path index up to the branch tip. */
  tip(): Promise<unknown>;
  /** Whether a live path exists (a gone member the journal brought back is not gone). */
  liveKind(path: string): Promise<'file' | 'collection' | null>;
  /** Where history is mounted (`/.history`). */
  historyAt: string;
}

export class GitLog implements HistoryReader {
  readonly root: string;

  constructor(private readonly d: GitLogDeps) {
    this.root = d.historyAt;
  }

  async log(path: string, offset: number, limit: number, changedLimit = 20): Promise<{ total: number; commits: LogEntry[] }> {
    await this.d.tip();
    const changes = this.d.index.changesOf(path); // oldest first
    const total = changes.length;
    const commits: LogEntry[] = [];
    const last = Math.min(total, Math.max(0, offset) + Math.min(Math.max(0, limit), LOG_LIMIT));
    for (let k = Math.max(0, offset); k < last; k++) {
      const change = changes[total - 1 - k]!;
      const c = await this.d.store.readCommit(change.commit.oid);
      const before = await this.parentTree(c);
      const diff = await diffBelow(this.d.store, before, c.tree, path, changedLimit, LOG_COUNT_CAP);
      commits.push({ ...logCommit(c), changed: diff.files, more: diff.more, moreCapped: diff.capped, version: change.oid === null ? null : this.versionOf(path, change.commit, change.isTree) });
    }
    return { total, commits };
  }

  async last(path: string): Promise<LogCommit | null> {
    await this.d.tip();
    const meta = this.d.index.lastChange(path);
    return meta ? logCommit(await this.d.store.readCommit(meta.oid)) : null;
  }

  async commit(id: string, limit = COMMIT_FILES): Promise<CommitDetail | null> {
    const c = await this.resolve(id);
    if (!c) return null;
    const diff = await diffBelow(this.d.store, await this.parentTree(c), c.tree, '/', Math.min(limit, COMMIT_FILES));
    return { ...logCommit(c), message: c.message, files: diff.files, more: diff.more, moreCapped: diff.capped };
  }

  async fileAt(path: string, id: string): Promise<{ commit: LogCommit; blob: string; size: number } | null> {
    const c = await this.resolve(id);
    if (!c) return null;
    const e = await entryAt(this.d.store, c.tree, path);
    if (!e || e.mode === '40000' || e.mode === '160000') return null;
    return { commit: logCommit(c), blob: e.oid, size: await this.d.store.blobSize(e.oid) };
  }

  async blob(id: string, maxBytes: number): Promise<{ size: number; bytes: Buffer | null } | null> {
    if (!/^[0-9a-f]{40}$/.test(id) || (await this.d.store.typeOf(id)) !== 'blob') return null;
    const size = await this.d.store.blobSize(id);
    if (size > maxBytes) return { size, bytes: null };
    const chunks: Buffer[] = [];
    for await (const chunk of await this.d.store.readBlob(id)) chunks.push(chunk as Buffer);
    return { size, bytes: Buffer.concat(chunks) };
  }

  async deletedIn(dir: string, limit: number): Promise<DeletedMember[]> {
    await this.d.tip();
    const index = this.d.index;
    const found: Array<{ member: Omit<DeletedMember, 'removed'>; removedBy: CommitMeta }> = [];
    const names = (await index.childrenOf(dir)).slice(0, DELETED_SCAN);
    for (const name of names) {
      const path = joinPath(dir, name);
      if (name === SIDECAR || path === this.d.historyAt) continue;
      const changes = index.changesOf(path);
      const removal = changes[changes.length - 1];
      if (!removal || removal.oid !== null) continue;
      let k = changes.length - 2;
      while (k >= 0 && changes[k]!.oid === null) k--;
      const stood = changes[k];
      if (!stood) continue;
      const kind = stood.isTree ? 'collection' : 'file';
      const restoreFrom = kind === 'file' ? `${this.d.historyAt}/versions${path}/${versionName(path, stood.commit)}` : `${this.d.historyAt}/versions${path}`;
      found.push({ member: { path, kind, restoreFrom }, removedBy: removal.commit });
    }
    found.sort((a, b) => b.removedBy.time - a.removedBy.time || (a.member.path < b.member.path ? -1 : 1));
    const out: DeletedMember[] = [];
    for (const f of found) {
      if (out.length >= limit) break;
      if ((await this.d.liveKind(f.member.path)) !== null) continue; // brought back by a write not yet committed
      out.push({ ...f.member, removed: logCommit(await this.d.store.readCommit(f.removedBy.oid)) });
    }
    return out;
  }

  async refs(): Promise<{ current: string; branches: string[]; tags: string[] }> {
    const names = async (prefix: string) => [...(await this.d.refs.list(prefix)).keys()].map((r) => r.slice(prefix.length)).sort().slice(0, REFS_LIMIT);
    return { current: this.d.ref.replace(/^refs\/heads\//, ''), branches: await names('refs/heads/'), tags: await names('refs/tags/') };
  }

  /** A commit by full id or unique prefix; null when malformed, unknown, ambiguous or not a commit. */
  private async resolve(id: string): Promise<CommitInfo | null> {
    if (!COMMIT_ID.test(id)) return null;
    const oid = await this.d.store.expand(id.toLowerCase());
    if (!oid || (await this.d.store.typeOf(oid)) !== 'commit') return null;
    return this.d.store.readCommit(oid);
  }

  private async parentTree(c: CommitInfo): Promise<string> {
    return c.parents[0] ? (await this.d.store.readCommit(c.parents[0])).tree : EMPTY_TREE;
  }

  /** A version's history path: a file's in versions/, a folder's snapshot in by-date (its commit's own folder). */
  private versionOf(path: string, commit: CommitMeta, isTree: boolean): { path: string; kind: 'file' | 'collection' } {
    if (!isTree) return { path: `${this.d.historyAt}/versions${path}/${versionName(path, commit)}`, kind: 'file' };
    return { path: `${this.d.historyAt}/commits/${commit.oid}${path === '/' ? '' : path}`, kind: 'collection' };
  }
}

/** What the pages show of a commit. */
export function logCommit(c: CommitInfo): LogCommit {
  const nl = c.message.indexOf('\n');
  return {
    id: c.oid,
    short: c.oid.slice(0, 7),
    time: commitDate(c.author.timestamp),
    author: c.author.name,
    email: c.author.email,
    subject: (nl < 0 ? c.message : c.message.slice(0, nl)).trim(),
    // The journal's trailer is gitdav's bookkeeping (which records a commit holds), not for people.
    body: nl < 0 ? '' : c.message.slice(nl + 1).replace(/^Gitdav-Journal:.*$/gm, '').trim(),
    parents: c.parents,
  };
}

/** A commit's time; a timestamp a Date cannot hold (a hand-made commit) is shown as 1970, never a 500. */
function commitDate(seconds: number): Date {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? new Date(0) : d;
}

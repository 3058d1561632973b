/**
 * Shares an admin made (`gitdav share`), kept beside the repositories in ROOT/shares.json:
 * `[{ "owner": "alice", "path": "/calendars/alice/calendar", "grantee": "bob", "access": "read" }]`
 * (a folder, a calendar or an address book; `access` is `read` or `write`).
 * Where the grantee sees each one is a pure function of the share, so clients keep their URLs.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readTextIfExists, writeFileDurably } from '../../backends/util/durable-file.js';
import { isValidUserName } from './htpasswd.js';

export interface Share {
  owner: string;
  /** A collection in the owner's tree, normalised: `/docs`, `/calendars/alice/work`, `/addressbooks/alice/contacts`. */
  path: string;
  grantee: string;
  /** `read`: the grantee may only read; `write`: also change what is inside the shared collection. */
  access: ShareAccess;
}

export type ShareAccess = 'read' | 'write';

export const SHARES_FILE = 'shares.json';

/**
 * Where the grantee finds a share: a calendar or an address book in the grantee's own home of that
 * kind (`/calendars/bob/alice~work`, `/addressbooks/bob/alice~contacts`), so clients that list the
 * home find it among the grantee's own; everything else under /shared.
 */
export function mountPointOf(share: Share): string {
  const owner = share.owner.replace(/\./g, '\\.');
  const inHome = new RegExp(`^/(calendars|addressbooks)/${owner}/([^/]+)$`).exec(share.path);
  if (inHome) return `/${inHome[1]}/${share.grantee}/${share.owner}~${inHome[2]}`;
  return `/shared/${share.owner}/${share.path.slice(1).replace(/\//g, '~')}`;
}

/**
 * Whether `path` is a name with `~` directly in a calendar or address book home: where shares are
 * mounted (`/calendars/bob/alice~work`), so no user may make one of their own there (a share mounted
 * later would hide it).
 */
export function isShareMountName(path: string): boolean {
  return /^\/(calendars|addressbooks)\/[^/]+\/[^/]*~[^/]*$/.test(path);
}

export function normaliseSharePath(path: string): string | null {
  const p = ('/' + path).replace(/\/+/g, '/').replace(/\/$/, '');
  if (!p || p === '' || p.split('/').some((s) => s === '..' || s === '.' || s.startsWith('.git') || s === '.history' || s.includes('~'))) return null;
  return p;
}

export function parseShares(text: string): Share[] {
  const raw: unknown = JSON.parse(text);
  if (!Array.isArray(raw)) throw new Error('shares.json must be a list');
  return raw.map((s: Record<string, unknown>, i) => {
    const path = typeof s.path === 'string' ? normaliseSharePath(s.path) : null;
    const access = s.access;
    if (!isValidUserName(String(s.owner)) || !isValidUserName(String(s.grantee)) || !path || (access !== 'read' && access !== 'write') || s.owner === s.grantee) {
      throw new Error(`shares.json entry ${i} is not {owner, path, grantee, access: "read" | "write"}`);
    }
    return { owner: String(s.owner), path, grantee: String(s.grantee), access };
  });
}

export async function readShares(root: string): Promise<Share[]> {
  const text = await readTextIfExists(join(root, SHARES_FILE));
  return text === null ? [] : parseShares(text);
}

/** fsync: the file is the only copy of the shares (temp file, fsync, rename; no temp file left when it fails). */
export async function writeShares(root: string, shares: Share[]): Promise<void> {
  await writeFileDurably(join(root, SHARES_FILE), JSON.stringify(shares, null, 1) + '\n', { durability: 'fsync', mode: 0o600 });
}

/** The shares file as the server reads it: again when it changed (checked at most once a second). */
export class SharesWatch {
  private stamp = '';
  private checkedAt = 0;
  private shares: Share[] = [];
  private version = 0;

  constructor(private readonly root: string) {}

  /** The current shares, and a number that changes whenever they do. */
  current(now = Date.now()): { shares: readonly Share[]; version: number } {
    if (now - this.checkedAt < 1000) return { shares: this.shares, version: this.version };
    this.checkedAt = now;
    let stamp = 'missing';
    try {
      const st = statSync(join(this.root, SHARES_FILE));
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      // no file: no shares
    }
    if (stamp === this.stamp) return { shares: this.shares, version: this.version };
    this.stamp = stamp;
    this.version++;
    try {
      this.shares = stamp === 'missing' ? [] : parseShares(readFileSync(join(this.root, SHARES_FILE), 'utf8'));
    } catch {
      this.shares = []; // a broken file shares nothing (the CLI never writes one)
    }
    return { shares: this.shares, version: this.version };
  }
}

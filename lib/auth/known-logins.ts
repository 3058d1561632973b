/**
 * The (user, address prefix) pairs that logged in successfully: the login ceilings never hold them
 * (login-guard.ts). Kept in a small file in the root's state (`ROOT/.gitdav/known-logins.json`, mode
 * 0600: user name, address prefix, day of the last login), so a restart does not make every user's
 * own devices "new" while a botnet is at work. Written after a change (at most once a second, and
 * at close) to a temp file, fsync'ed, renamed, merged with what another process on the same root
 * wrote meanwhile; re-read when another process changed it. A write that fails (full disk) is
 * tried again with the next change; the pairs stay known in memory.
 * Bounded: `maxPairs` in all, `maxPerUser` per user (the least recent dropped), a pair unused for
 * `forgetDays` is forgotten. Only a correct password adds a pair, so guessers cannot fill it.
 */
import { readFileSync, statSync } from 'node:fs';
import { writeFileDurably } from '../../backends/util/durable-file.js';

export interface KnownLoginsOptions {
  /** Where the pairs are kept; null: in memory only. */
  file: string | null;
  maxPairs: number;
  maxPerUser: number;
  forgetDays: number;
  now?: () => number;
  /** A write that failed (the pairs stay in memory and are written with the next change). */
  onError?: (err: Error) => void;
}

/** Its name in the root's state folder. */
export const KNOWN_LOGINS_FILE = 'known-logins.json';

export const DEFAULT_KNOWN_LOGINS: KnownLoginsOptions = { file: null, maxPairs: 100_000, maxPerUser: 32, forgetDays: 180 };

const DAY_MS = 24 * 3600_000;

interface FileFormat {
  v: 1;
  pairs: [user: string, prefix: string, day: number][];
}

export class KnownLogins {
  /** `user\nprefix` → day of the last login; least recent first. */
  private pairs = new Map<string, number>();
  private readonly now: () => number;
  private stamp = '';
  private checkedAt = 0;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: KnownLoginsOptions = DEFAULT_KNOWN_LOGINS) {
    this.now = options.now ?? Date.now;
    this.refresh(true);
  }

  has(user: string, prefix: string): boolean {
    const key = `${user}\n${prefix}`;
    if (!this.pairs.has(key)) this.refresh(false);
    const day = this.pairs.get(key);
    if (day === undefined) return false;
    if (day >= this.today() - this.options.forgetDays) return true;
    this.pairs.delete(key);
    return false;
  }

  /** Remembers a login; written soon when it is new or first of the day. */
  add(user: string, prefix: string): void {
    const key = `${user}\n${prefix}`;
    const day = this.today();
    const before = this.pairs.get(key);
    this.pairs.delete(key);
    if (before === undefined) this.dropOldestOf(user, this.options.maxPerUser - 1);
    this.pairs.set(key, day);
    this.trim();
    if (before === day || !this.options.file) return;
    this.dirty = true;
    this.timer ??= setTimeout(() => void this.flush(), 1000).unref();
  }

  /** Writes what changed (now); resolves when the file is written or the write failed. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.dirty && this.options.file) {
      this.dirty = false;
      this.writing = this.writing.then(() => this.write(this.options.file!)).catch((err: Error) => {
        this.dirty = true;
        this.options.onError?.(err);
      });
    }
    return this.writing;
  }

  get size(): number {
    return this.pairs.size;
  }

  private today(): number {
    return Math.floor(this.now() / DAY_MS);
  }

  /** Drops the user's least recent pairs down to `keep`. */
  private dropOldestOf(user: string, keep: number): void {
    const mine = [...this.pairs.keys()].filter((k) => k.startsWith(`${user}\n`));
    for (const k of mine.slice(0, Math.max(0, mine.length - keep))) this.pairs.delete(k);
  }

  private trim(): void {
    while (this.pairs.size > this.options.maxPairs) this.pairs.delete(this.pairs.keys().next().value!);
  }

  /** Reads the file again if another process changed it (looked at once a second at most). */
  private refresh(force: boolean): void {
    const file = this.options.file;
    if (!file) return;
    const now = this.now();
    if (!force && now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    let stamp: string;
    try {
      const st = statSync(file);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return;
    }
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    this.merge(readPairs(file));
  }

  /** Adds the pairs another process wrote that this one does not know (or knows as older). */
  private merge(theirs: FileFormat['pairs']): void {
    const oldest = this.today() - this.options.forgetDays;
    const older = new Map<string, number>();
    for (const [user, prefix, day] of theirs) {
      const key = `${user}\n${prefix}`;
      if (day < oldest || (this.pairs.get(key) ?? -1) >= day) continue;
      this.pairs.delete(key);
      older.set(key, day);
    }
    if (older.size === 0) return;
    // Theirs count as less recent than this process's own: they go first in the order.
    this.pairs = new Map([...[...older].sort((a, b) => a[1] - b[1]), ...this.pairs]);
    const users = new Set([...older.keys()].map((k) => k.slice(0, k.indexOf('\n'))));
    for (const user of users) this.dropOldestOf(user, this.options.maxPerUser);
    this.trim();
  }

  private async write(file: string): Promise<void> {
    this.refresh(true);
    const data: FileFormat = { v: 1, pairs: [] };
    for (const [key, day] of this.pairs) {
      const nl = key.indexOf('\n');
      data.pairs.push([key.slice(0, nl), key.slice(nl + 1), day]);
    }
    // fsync: the only copy; a lost pair would throttle its user again from an address they use.
    await writeFileDurably(file, JSON.stringify(data), { durability: 'fsync', mode: 0o600 });
    const st = statSync(file);
    this.stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
  }
}

/** The pairs in the file; a missing or unreadable file is none (the pairs are only an aid). */
function readPairs(file: string): FileFormat['pairs'] {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<FileFormat>;
    if (!Array.isArray(data.pairs)) return [];
    return data.pairs.filter((p): p is [string, string, number] => Array.isArray(p) && typeof p[0] === 'string' && typeof p[1] === 'string' && Number.isInteger(p[2]));
  } catch {
    return [];
  }
}

/**
 * Sync tokens for the folder backend. A folder keeps no history, so each token names a saved snapshot
 * of the members' fingerprints (ETag + dead properties) in `<state dir>/sync/<sha-1>.json`. A diff
 * against a snapshot is exact; the oldest snapshots are pruned past a bound, and a pruned token is
 * answered with `valid-sync-token`, on which clients resync from scratch: never a wrong answer.
 * Snapshots are shared by content, so a token is signed for the collection it was issued for
 * (../sync-token-key.ts): another collection's token, or another user's, is refused.
 * Written 'atomic' (temp and rename, no fsync): a snapshot lost or emptied by a power cut does not
 * parse, so its token is answered `valid-sync-token` and the client resyncs, as for a pruned one.
 *
 * The snapshots this process saved or read last are also kept in memory (bounded by bytes), so the
 * usual round (a token handed out, then a sync-collection with it) does not read and parse back the
 * snapshot it just wrote. Safe because a snapshot is named by the hash of its
 * content: the file of one id never holds anything else, whichever worker wrote it. The file is
 * still stat'ed (one stat, not a read): a pruned one is refused as before, and one whose size is not
 * what was written (emptied by a power cut) is read, found broken and removed as before.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { SyncTokenKey } from '../sync-token-key.js';
import { writeFileDurably } from '../util/durable-file.js';
import { Lru } from '../util/lru.js';

const PREFIX = 'urn:x-gitdav:sync:fs-';

/** Snapshots kept in memory, by the bytes of their JSON (a 10,000-member folder's is ~0.6 MB). */
export const SNAPSHOT_MEMORY_BYTES = 16 * 1024 * 1024;

/**
 * One memory for the whole process, not one per folder tree: there is a SyncSnapshots per user's
 * tree, and trees are never closed, so a bound per instance grew with the number of users. Keyed by
 * state folder and snapshot id: an id names one content within a folder of snapshots (a hash of it),
 * and the folder keeps two trees' equal ids apart (each tree has its own token key and pruning).
 */
const memory = new Lru<{ state: ReadonlyMap<string, string>; bytes: number }>(SNAPSHOT_MEMORY_BYTES, (m) => 200 + 2 * sizeOf(m.state));

/** Bytes the snapshots in memory are counted at, for every tree of this process together. */
export function snapshotMemoryHeld(): number {
  return memory.weightHeld;
}

export class SyncSnapshots {
  private saves = 0;

  constructor(
    private readonly dir: string,
    private readonly key: SyncTokenKey,
    private readonly keep = 5000,
  ) {}

  /**
   * Stores a state (if new) and returns its token for `collection`. The map is kept as it is (no
   * copy of 10,000 members per request): the caller hands it over and never changes it again.
   */
  async save(collection: string, prints: ReadonlyMap<string, string>): Promise<string> {
    // A map saved before (the same members handed out again: ./sync-members.ts keeps them by the
    // folder's listing version) has its id already: never changed, so its text is the same.
    let known = ids.get(prints);
    let text: string | undefined;
    if (!known) {
      text = textOf(prints);
      known = { id: createHash('sha1').update(text).digest('hex'), bytes: Buffer.byteLength(text) };
      ids.set(prints, known);
    }
    const { id, bytes } = known;
    const file = join(this.dir, `${id}.json`);
    memory.set(`${this.dir}\n${id}`, { state: prints, bytes });
    try {
      const now = new Date();
      await fsp.utimes(file, now, now); // still in use: keep it among the newest
    } catch {
      await writeFileDurably(file, text ?? textOf(prints), { durability: 'atomic' }); // makes the folder if missing
      if (++this.saves % 100 === 0) await this.prune();
    }
    return PREFIX + (await this.key.sign(collection, id));
  }

  /**
   * The state a token names, or null when it is not ours, was issued for another collection, or was
   * pruned. Shared with the memory: read it, never change it.
   */
  async load(collection: string, token: string): Promise<ReadonlyMap<string, string> | null> {
    const id = token.startsWith(PREFIX) ? await this.key.verify(collection, token.slice(PREFIX.length)) : null;
    if (!id || !/^[0-9a-f]{40}$/.test(id)) return null;
    const file = join(this.dir, `${id}.json`);
    const kept = memory.get(`${this.dir}\n${id}`);
    if (kept) {
      const size = (await fsp.stat(file).catch(() => null))?.size;
      if (size === undefined) return null; // pruned
      if (size === kept.bytes) return kept.state;
    }
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch {
      return null;
    }
    try {
      const state = new Map(JSON.parse(text) as Array<[string, string]>);
      memory.set(`${this.dir}\n${id}`, { state, bytes: Buffer.byteLength(text) });
      return state;
    } catch {
      // Emptied by a power cut (written without fsync): removed, so that the next save of this
      // state writes it again rather than keep a file that fails every token naming it.
      await fsp.rm(file, { force: true });
      return null;
    }
  }

  private async prune(): Promise<void> {
    const names = (await fsp.readdir(this.dir)).filter((n) => n.endsWith('.json'));
    if (names.length <= this.keep) return;
    const dated = await Promise.all(names.map(async (n) => ({ n, t: (await fsp.stat(join(this.dir, n)).catch(() => null))?.mtimeMs ?? 0 })));
    dated.sort((a, b) => a.t - b.t);
    for (const { n } of dated.slice(0, names.length - this.keep)) await fsp.rm(join(this.dir, n), { force: true });
  }
}

/** Each saved map's snapshot id and JSON size, by identity (maps are handed over, never changed). */
const ids = new WeakMap<ReadonlyMap<string, string>, { id: string; bytes: number }>();

function textOf(prints: ReadonlyMap<string, string>): string {
  return JSON.stringify([...prints].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function sizeOf(m: ReadonlyMap<string, string>): number {
  let n = 0;
  for (const [k, v] of m) n += k.length + v.length + 8;
  return n;
}

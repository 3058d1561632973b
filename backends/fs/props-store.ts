/**
 * Dead properties of the folder backend, kept in one hidden JSON sidecar per folder (`.davprops`):
 * `{ "<member name>": { "<clark name>": "<xml>" }, ".": { ...the folder's own... } }`.
 * A folder's own properties live inside it, so they travel with it on COPY/MOVE/DELETE for free; a
 * file's live in its parent's sidecar and are moved by the backend with the file.
 * All calls run inside the backend's write mutex. A sidecar is the only copy of its properties, so
 * it is rewritten with fsync (util/durable-file.ts: temp file in the state dir's tmp folder, where
 * clients never see it, fsync, rename, folder fsync): a PROPPATCH, and a COPY, MOVE or DELETE of a
 * resource with dead properties, costs a file and a folder fsync per sidecar it changes.
 */
import { promises as fsp, statSync } from 'node:fs';
import { join } from 'node:path';
import { removeFileDurably, writeFileDurably } from '../util/durable-file.js';
import { Lru } from '../util/lru.js';
import { cacheCounts } from '../util/stats.js';
import { parseSidecar, propsOf, serializeSidecar, SIDECAR, withProps, type Sidecar } from '../sidecar.js';

export { SELF, SIDECAR } from '../sidecar.js';

/**
 * Bound of the parsed-sidecar cache, weighed by file size: the parsed form holds the same strings
 * (two bytes a character), plus a few hundred bytes of keys and objects per folder. About 10,000
 * folders of a few properties each, or fewer big ones (was 1,024 folders of any size).
 */
const CACHE_BYTES = 8 * 1024 * 1024;

export class PropsStore {
  /**
   * Parsed sidecars, trusted while the file's inode, size, mtime and ctime are unchanged: ctime too,
   * because an edit in place of the same size can put the mtime back (`touch -d`), but not the
   * ctime; the folder's listing version hashes ctime, so what is read under a version is that
   * version's.
   */
  private readonly cache = new Lru<{ key: string; sidecar: Sidecar; bytes: number }>(CACHE_BYTES, (e) => 2 * e.bytes + 256, cacheCounts('fs_props'));

  constructor(private readonly tmpFile: () => string) {}

  /**
   * The folder's sidecar. Returned objects are shared: callers copy before changing them. `cacheAs`:
   * the folder's real path when `dirAbs` is a verified handle's /proc name (fd numbers are reused).
   */
  async read(dirAbs: string, cacheAs = dirAbs): Promise<Sidecar> {
    const file = join(dirAbs, SIDECAR);
    // Most folders have no sidecar: a throwing async stat per member cost ~100 µs (the exception),
    // this local stat a few µs.
    const st = statSync(file, { bigint: true, throwIfNoEntry: false });
    if (!st) return {};
    const key = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    const hit = this.cache.get(cacheAs);
    if (hit?.key === key) return hit.sidecar;
    let sidecar: Sidecar;
    try {
      sidecar = parseSidecar(await fsp.readFile(file, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    this.cache.set(cacheAs, { key, sidecar, bytes: Number(st.size) });
    return sidecar;
  }

  async get(dirAbs: string, key: string): Promise<Map<string, string>> {
    return propsOf(await this.read(dirAbs), key);
  }

  /** Replaces the properties stored under `key` (an empty map removes the key). */
  async put(dirAbs: string, key: string, props: Map<string, string>): Promise<void> {
    const sidecar = await this.read(dirAbs);
    if (props.size === 0 && !(key in sidecar)) return;
    await this.save(dirAbs, withProps(sidecar, key, props));
  }

  /** Moves the entry `fromKey` of one sidecar to `toKey` of another (or the same). */
  async transfer(fromDir: string, fromKey: string, toDir: string, toKey: string, keepSource: boolean): Promise<void> {
    const props = await this.get(fromDir, fromKey);
    if (!keepSource && props.size > 0) await this.put(fromDir, fromKey, new Map());
    await this.put(toDir, toKey, props);
  }

  /**
   * fsync: the sidecar is the only copy of these properties. A failed write (a full disk) leaves the
   * old sidecar and no temp file; the folder is never made (makeDir: false), it must exist.
   */
  private async save(dirAbs: string, sidecar: Sidecar): Promise<void> {
    const target = join(dirAbs, SIDECAR);
    if (Object.keys(sidecar).length === 0) await removeFileDurably(target);
    else await writeFileDurably(target, serializeSidecar(sidecar), { durability: 'fsync', makeDir: false, tempFile: this.tmpFile() });
  }
}

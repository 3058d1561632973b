/**
 * Properties that clients rewrite after every upload and that mean nothing in history: Windows'
 * Win32CreationTime/LastAccessTime/LastModifiedTime/FileAttributes. Kept in one JSON file in the state
 * dir (path → properties), so a Windows upload is one commit, not two.
 *
 * Several processes on one repository share the file: a change is a read-modify-write under
 * `volatile-props.json.lock` (created exclusively; a dead holder's is taken over:
 * ../util/lock-file.ts), re-reading the file first if another process saved it, so no process loses
 * another's update; a read re-reads it when it changed. Whether it changed costs one stat: the file
 * is replaced whole on every save (temp file, rename: a new inode), and this process keeps the file it
 * last read open, so that inode's number cannot be given to another file meanwhile; another inode
 * under the name means another save. (An mtime could not tell two saves within its granularity apart.)
 */
import { isWithin, type PropertyMap, type PropPatch } from '../backend.js';
import { applyPatches } from '../sidecar.js';
import { writeFileDurably } from '../util/durable-file.js';
import { LockFile } from '../util/lock-file.js';
import { PinnedFile } from '../util/pinned-file.js';

const VOLATILE = /^\{urn:schemas-microsoft-com:\}Win32/;

export function isVolatile(clarkName: string): boolean {
  return VOLATILE.test(clarkName);
}

/** Tells apart VolatileProps objects in one process, so their generations never mix (version()). */
let serial = 0;

export class VolatileProps {
  private data = new Map<string, PropertyMap>();
  /** Bumped whenever `data` is replaced or changed (version()). */
  private generation = 0;
  private readonly id = ++serial;
  private readonly lock: LockFile;

  private readonly pinned: PinnedFile;

  constructor(private readonly file: string) {
    this.lock = new LockFile(`${file}.lock`);
    this.pinned = new PinnedFile(file);
  }

  async load(): Promise<void> {
    this.refresh();
  }

  /** This path's properties, as last saved by any process. */
  async get(path: string): Promise<PropertyMap> {
    this.refresh();
    return new Map(this.data.get(path) ?? []);
  }

  /** The properties as last saved, read once for many paths (a listing): one stat, not one per path. */
  snapshot(): (path: string) => PropertyMap {
    this.refresh();
    const data = this.data;
    return (path) => new Map(data.get(path) ?? []);
  }

  /**
   * Changes whenever the properties as this process sees them change: `data` is replaced only by
   * refresh() (another inode under the name: another save, never mistaken for the one pinned) and
   * changed only in change(), and both bump the generation. Unique in this process (the object's serial).
   */
  version(): string {
    this.refresh();
    return `${this.id}.${this.generation}`;
  }

  async patch(path: string, patches: PropPatch[]): Promise<void> {
    await this.change(() => {
      const next = applyPatches(new Map(this.data.get(path) ?? []), patches);
      if (next.size) this.data.set(path, next);
      else this.data.delete(path);
      return true;
    });
  }

  async removeWithin(path: string): Promise<void> {
    await this.change(() => {
      let changed = false;
      for (const p of [...this.data.keys()]) if (isWithin(p, path)) changed = this.data.delete(p) || changed;
      return changed;
    });
  }

  async move(from: string, to: string): Promise<void> {
    await this.change(() => {
      const moved = [...this.data].filter(([p]) => isWithin(p, from));
      if (!moved.length) return false;
      for (const [p] of moved) this.data.delete(p);
      for (const [p, props] of moved) this.data.set(to + p.slice(from.length), props);
      return true;
    });
  }

  close(): void {
    this.pinned.close();
  }

  /** Read-modify-write under the lock file, from the latest save; `mutate` says whether it changed anything. */
  private change(mutate: () => boolean): Promise<void> {
    return this.lock.run(async () => {
      this.refresh();
      if (!mutate()) return;
      this.generation++;
      // fsync: the only copy of these properties (they are never committed).
      await writeFileDurably(this.file, JSON.stringify(Object.fromEntries([...this.data].map(([p, m]) => [p, Object.fromEntries(m)]))), { durability: 'fsync' });
      this.refresh(); // pins what was just written (nobody else writes while the lock is held)
    }, { makeDir: true });
  }

  /** Re-reads the file if another save replaced the one last seen. */
  private refresh(): void {
    const text = this.pinned.changedText();
    if (text === undefined) return;
    this.generation++;
    try {
      const raw = JSON.parse(text) as Record<string, Record<string, string>>;
      this.data = new Map(Object.entries(raw).map(([p, props]) => [p, new Map(Object.entries(props))]));
    } catch {
      this.data = new Map(); // unreadable: start afresh
    }
  }
}

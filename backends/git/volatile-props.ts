/**
 * Properties that clients rewrite after every upload and that mean nothing in history: Windows'
 * Win32CreationTime/LastAccessTime/LastModifiedTime/FileAttributes. Kept in one JSON file in the state
 * dir (path → properties), so a Windows upload is one commit, not two.
 */
import { promises as fsp } from 'node:fs';
import { isWithin, type PropertyMap, type PropPatch } from '../backend.js';
import { applyPatches } from '../sidecar.js';
import { SnapshotFile } from '../util/snapshot-file.js';

const VOLATILE = /^\{urn:schemas-microsoft-com:\}Win32/;

export function isVolatile(clarkName: string): boolean {
  return VOLATILE.test(clarkName);
}

export class VolatileProps {
  private data = new Map<string, PropertyMap>();
  private readonly snapshots: SnapshotFile;

  constructor(private readonly file: string) {
    // fsync: the only copy of these properties (they are never committed).
    this.snapshots = new SnapshotFile(file, 'fsync');
  }

  async load(): Promise<void> {
    try {
      const raw = JSON.parse(await fsp.readFile(this.file, 'utf8')) as Record<string, Record<string, string>>;
      this.data = new Map(Object.entries(raw).map(([p, props]) => [p, new Map(Object.entries(props))]));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.data = new Map(); // unreadable: start afresh
    }
  }

  get(path: string): PropertyMap {
    return new Map(this.data.get(path) ?? []);
  }

  async patch(path: string, patches: PropPatch[]): Promise<void> {
    const next = applyPatches(this.get(path), patches);
    if (next.size) this.data.set(path, next);
    else this.data.delete(path);
    await this.save();
  }

  async removeWithin(path: string): Promise<void> {
    let changed = false;
    for (const p of [...this.data.keys()]) if (isWithin(p, path)) changed = this.data.delete(p) || changed;
    if (changed) await this.save();
  }

  async move(from: string, to: string): Promise<void> {
    const moved = [...this.data].filter(([p]) => isWithin(p, from));
    if (!moved.length) return;
    for (const [p] of moved) this.data.delete(p);
    for (const [p, props] of moved) this.data.set(to + p.slice(from.length), props);
    await this.save();
  }

  private save(): Promise<void> {
    return this.snapshots.save(JSON.stringify(Object.fromEntries([...this.data].map(([p, m]) => [p, Object.fromEntries(m)]))));
  }
}

/**
 * A grantee's own properties of a collection shared with them (its name, colour and order in their
 * calendar client), laid over the owner's: what CalendarServer calls per-user properties. Setting
 * one changes only the grantee's view, never the owner's collection or history. Kept in one JSON
 * file in the grantee's state dir (../util/snapshot-file.ts): `{ "<mount point>": { "<clark>": "<xml>" |
 * null } }`, null hiding an owner's property.
 */
import { promises as fsp } from 'node:fs';
import { SnapshotFile } from '../util/snapshot-file.js';
import type { PropertyMap, PropPatch } from '../backend.js';

type Overrides = Record<string, Record<string, string | null>>;

export class ShareProps {
  private loaded: Promise<Overrides> | null = null;
  private readonly snapshots: SnapshotFile;

  constructor(private readonly file: string) {
    this.snapshots = new SnapshotFile(file, 'fsync'); // the only copy of the grantee's own properties
  }

  /** The owner's properties with the grantee's laid over them. */
  async overlay(at: string, owners: PropertyMap): Promise<PropertyMap> {
    const mine = (await this.load())[at];
    if (!mine) return owners;
    const out = new Map(owners);
    for (const [name, value] of Object.entries(mine)) {
      if (value === null) out.delete(name);
      else out.set(name, value);
    }
    return out;
  }

  /** Applies all patches to the grantee's layer (a removal hides the owner's value too). */
  async patch(at: string, patches: PropPatch[]): Promise<void> {
    const all = await this.load();
    const mine = { ...all[at] };
    for (const p of patches) mine[p.name] = p.op === 'set' ? p.value : null;
    all[at] = mine;
    await this.snapshots.save(JSON.stringify(all, null, 1) + '\n');
  }

  private load(): Promise<Overrides> {
    this.loaded ??= fsp.readFile(this.file, 'utf8').then(
      (text) => {
        try {
          const parsed: unknown = JSON.parse(text);
          return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Overrides) : {};
        } catch {
          return {}; // a damaged file loses only colours and names of shares, never content
        }
      },
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return {};
        throw err;
      },
    );
    return this.loaded;
  }
}

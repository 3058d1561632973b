/**
 * A grantee's own properties of a collection shared with them (its name, colour and order in their
 * calendar client), laid over the owner's: what CalendarServer calls per-user properties. Setting
 * one changes only the grantee's view, never the owner's collection or history. Kept in one JSON
 * file in the grantee's state dir: `{ "<mount point>": { "<clark>": "<xml>" | null } }`, null hiding
 * an owner's property.
 *
 * Several processes (a supervisor's workers) serve one grantee: as ../git/volatile-props.ts does, a
 * change is a read-modify-write under `<file>.lock` (../util/lock-file.ts) from the latest save, and
 * a read re-reads the file when another inode stands under its name (the one last read is kept open,
 * so its number cannot be reused meanwhile): one stat per read, and no process loses another's change.
 */
import { writeFileDurably } from '../util/durable-file.js';
import { LockFile } from '../util/lock-file.js';
import { PinnedFile } from '../util/pinned-file.js';
import type { PropertyMap, PropPatch } from '../backend.js';

type Overrides = Record<string, Record<string, string | null>>;

export class ShareProps {
  private data: Overrides = {};
  private readonly lock: LockFile;

  private readonly pinned: PinnedFile;

  constructor(private readonly file: string) {
    this.lock = new LockFile(`${file}.lock`);
    this.pinned = new PinnedFile(file);
  }

  /** The owner's properties with the grantee's laid over them. */
  async overlay(at: string, owners: PropertyMap): Promise<PropertyMap> {
    this.refresh();
    const mine = this.data[at];
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
    await this.lock.run(async () => {
      this.refresh();
      const mine = { ...this.data[at] };
      for (const p of patches) mine[p.name] = p.op === 'set' ? p.value : null;
      this.data = { ...this.data, [at]: mine };
      // fsync: the only copy of the grantee's own properties.
      await writeFileDurably(this.file, JSON.stringify(this.data, null, 1) + '\n', { durability: 'fsync' });
      this.refresh(); // pins what was just written (nobody else writes while the lock is held)
    }, { makeDir: true });
  }

  close(): void {
    this.pinned.close();
  }

  /** Re-reads the file if another save replaced the one last seen. */
  private refresh(): void {
    const text = this.pinned.changedText();
    if (text === undefined) return;
    try {
      const parsed: unknown = JSON.parse(text);
      this.data = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Overrides) : {};
    } catch {
      this.data = {}; // a damaged file loses only colours and names of shares, never content
    }
  }
}
